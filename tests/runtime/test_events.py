"""Errors, status and completion events: who hears what (catch/status/complete scopes),
the shape of `msg.error` and `msg.status`, uncaught errors and the error-loop guard.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from runtime import ConfigNode, Msg, Node, NodeError, register
from runtime.testing import run_flow, wait_until

#: On looptime's clock a missing event fails at once instead of after a wall-clock timeout.
pytestmark = pytest.mark.looptime


@register("test-raise")
class Raise(Node):
    """Raises ValueError for every message whose payload is 'bad', passes the others on."""

    def on_input(self, msg: Msg) -> Msg:
        if msg.get("payload") == "bad":
            raise ValueError("bad payload")
        return msg


@register("test-async-raise")
class AsyncRaise(Node):
    """The async twin of test-raise."""

    async def on_input(self, msg: Msg) -> Msg:
        if msg.get("payload") == "bad":
            raise NodeError("async refused", code=42)
        return msg


@register("test-status")
class StatusReporter(Node):
    """Sets its status from msg.status_args (a list of fill, shape, text)."""

    def on_input(self, msg: Msg) -> None:
        self.status(*msg["status_args"])


@register("test-hold")
class Hold(Node):
    """Holds every message; the test finishes it with done() or error()."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[Any] = []

    def on_input(self, msg: Msg) -> None:
        self.held.append(self.hold(msg))


@register("test-reporting-config")
class ReportingConfig(ConfigNode):
    """A config node that reports an error or a status when the test says so (as a broker does on its own)."""

    def fail(self, msg: Msg) -> None:
        self.error(NodeError("config trouble"), msg)

    def fail_carrying(self, msg: Msg) -> None:
        """Report an error whose NodeError carries the msg (and pass none alongside)."""
        self.error(NodeError("carried trouble", msg=msg))

    def show(self, text: str) -> None:
        self.status("red", "ring", text)


def sink(node_id: str, z: str = "", g: str = "") -> dict[str, Any]:
    return {"id": node_id, "type": "test-sink", **({"z": z} if z else {}), **({"g": g} if g else {})}


def listener(kind: str, node_id: str, z: str = "", g: str = "", scope: Any = None) -> list[dict[str, Any]]:
    """A catch/status node wired to its own sink `<id>-out`."""
    node = {"id": node_id, "type": kind, "wires": [[f"{node_id}-out"]], **({"z": z} if z else {}), **({"g": g} if g else {})}
    if scope is not None:
        node["scope"] = scope
    return [node, sink(f"{node_id}-out", z, g)]


def heard(flow: Any, listener_id: str, key: str = "error") -> list[str]:
    return [m[key]["source"]["id"] for m in flow.sink(f"{listener_id}-out").messages]


def error_lines(caplog: pytest.LogCaptureFixture, level: int = logging.ERROR) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "flowwire.errors" and r.levelno == level]


# -- catch scoping ----------------------------------------------------------------------------


TWO_TABS = [
    {"id": "t1", "type": "tab", "label": "one"},
    {"id": "t2", "type": "tab", "label": "two"},
    {"id": "r1", "type": "test-raise", "z": "t1"},
    {"id": "r2", "type": "test-raise", "z": "t1"},
    {"id": "r3", "type": "test-raise", "z": "t2"},
    {"id": "all1", "type": "catch", "z": "t1", "wires": [["all1-out"]]},
    {"id": "only-r2", "type": "catch", "z": "t1", "scope": ["r2"], "wires": [["only-r2-out"]]},
    sink("all1-out", "t1"),
    sink("only-r2-out", "t1"),
]


async def test_a_catch_without_scope_hears_every_node_on_its_tab_only() -> None:
    async with run_flow(TWO_TABS) as flow:
        for node_id in ("r1", "r2", "r3"):
            await flow.inject(node_id, {"payload": "bad", "_msgid": node_id})
        await flow.idle()
    assert [m["error"]["source"]["id"] for m in flow.node("all1-out").messages] == ["r1", "r2"]


async def test_a_catch_with_a_list_scope_hears_only_the_listed_nodes() -> None:
    async with run_flow(TWO_TABS) as flow:
        for node_id in ("r1", "r2", "r3"):
            await flow.inject(node_id, {"payload": "bad", "_msgid": node_id})
        await flow.idle()
    assert [m["error"]["source"]["id"] for m in flow.node("only-r2-out").messages] == ["r2"]


async def test_a_catch_with_group_scope_hears_its_group() -> None:
    nodes = [
        {"id": "grp", "type": "group", "nodes": ["in-group", "group-catch"]},
        {"id": "in-group", "type": "test-raise", "g": "grp"},
        {"id": "outside", "type": "test-raise"},
        {"id": "group-catch", "type": "catch", "g": "grp", "scope": "group", "wires": [["out"]]},
        sink("out"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("in-group", {"payload": "bad"})
        await flow.inject("outside", {"payload": "bad"})
        await flow.idle()
    assert [m["error"]["source"]["id"] for m in flow.node("out").messages] == ["in-group"]


#: Two tabs; on t1 a group `outer` holding a group `inner`, and a group `other`.
GROUPED = [
    {"id": "t1", "type": "tab"},
    {"id": "t2", "type": "tab"},
    {"id": "outer", "type": "group", "z": "t1"},
    {"id": "inner", "type": "group", "z": "t1", "g": "outer"},
    {"id": "other", "type": "group", "z": "t1"},
    {"id": "in-outer", "type": "test-raise", "z": "t1", "g": "outer"},
    {"id": "in-inner", "type": "test-raise", "z": "t1", "g": "inner"},
    {"id": "in-other", "type": "test-raise", "z": "t1", "g": "other"},
    {"id": "ungrouped", "type": "test-raise", "z": "t1"},
    {"id": "on-t2", "type": "test-raise", "z": "t2"},
]
RAISERS = ["in-outer", "in-inner", "in-other", "ungrouped", "on-t2"]


async def raise_everywhere(flow: Any) -> None:
    for node_id in RAISERS:
        await flow.inject(node_id, {"payload": "bad", "_msgid": node_id})
    await flow.settle()


async def test_group_scope_hears_its_group_and_the_groups_nested_in_it() -> None:
    nodes = [*GROUPED, *listener("catch", "outer-catch", "t1", "outer", "group"), *listener("catch", "inner-catch", "t1", "inner", "group")]
    async with run_flow(nodes) as flow:
        await raise_everywhere(flow)
        assert heard(flow, "outer-catch") == ["in-outer", "in-inner"], "Node-RED: a group's catch hears its nested groups"
        assert heard(flow, "inner-catch") == ["in-inner"], "not the enclosing group"


async def test_a_group_scoped_catch_outside_any_group_hears_nothing() -> None:
    nodes = [*GROUPED, *listener("catch", "loose", "t1", scope="group"), *listener("catch", "tab-wide", "t1")]
    async with run_flow(nodes) as flow:
        await raise_everywhere(flow)
        assert heard(flow, "loose") == []
        assert heard(flow, "tab-wide") == ["in-outer", "in-inner", "in-other", "ungrouped"], "an unscoped catch hears its tab, groups or not"


async def test_an_error_from_a_config_node_reaches_catch_nodes_on_every_tab() -> None:
    nodes = [
        *GROUPED,
        {"id": "cfg", "type": "test-reporting-config"},
        *listener("catch", "c1", "t1"),
        *listener("catch", "c2", "t2"),
        *listener("catch", "by-id", "t2", scope=["cfg"]),
        *listener("catch", "by-other-id", "t2", scope=["on-t2"]),
        *listener("catch", "grouped", "t1", "outer", "group"),
    ]
    async with run_flow(nodes) as flow:
        flow.node("cfg").fail({"payload": "p", "_msgid": "cfg-1"})
        [one] = await flow.received("c1-out")
        await flow.received("c2-out")
        await flow.received("by-id-out")
        assert one["error"]["message"] == "config trouble" and one["payload"] == "p"
        assert heard(flow, "c1") == heard(flow, "c2") == heard(flow, "by-id") == ["cfg"]
        assert heard(flow, "by-other-id") == [] and heard(flow, "grouped") == [], "a config node is in no group and not in another list"


async def test_an_uncaught_catch_stays_silent_when_a_catch_took_a_config_node_error() -> None:
    leftovers, leftovers_sink = listener("catch", "leftovers", "t1")
    nodes = [{"id": "cfg", "type": "test-reporting-config"}, {"id": "t1", "type": "tab"}, *listener("catch", "c1", "t1"), {**leftovers, "uncaught": True}, leftovers_sink]
    async with run_flow(nodes) as flow:
        flow.node("cfg").fail({"payload": 1})
        await flow.received("c1-out")
        assert heard(flow, "leftovers") == [], "taken by a regular catch: the uncaught one stays silent"


async def test_groups_that_contain_each_other_do_not_hang_a_group_scoped_catch() -> None:
    # A hand-edited file can make two groups each other's parent; the walk up the groups stops.
    nodes = [
        {"id": "g1", "type": "group", "g": "g2"},
        {"id": "g2", "type": "group", "g": "g1"},
        {"id": "g3", "type": "group"},
        {"id": "r", "type": "test-raise", "g": "g2"},
        *listener("catch", "elsewhere", g="g3", scope="group"),
        *listener("catch", "around", g="g1", scope="group"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad"})
        await flow.received("around-out")
        assert heard(flow, "elsewhere") == []


async def test_an_uncaught_catch_on_another_tab_hears_nothing() -> None:
    nodes = [
        {"id": "t1", "type": "tab"},
        {"id": "t2", "type": "tab"},
        {"id": "r", "type": "test-raise", "z": "t1"},
        {**listener("catch", "leftovers", "t2")[0], "uncaught": True},
        listener("catch", "leftovers", "t2")[1],
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad"})
        await flow.settle()
        assert heard(flow, "leftovers") == []


async def test_an_uncaught_group_scoped_catch_hears_the_groups_nested_in_its_own() -> None:
    outer_catch, outer_sink = listener("catch", "leftovers", "t1", "outer", "group")
    nodes = [*GROUPED, {**outer_catch, "uncaught": True}, outer_sink]
    async with run_flow(nodes) as flow:
        await raise_everywhere(flow)
        assert heard(flow, "leftovers") == ["in-outer", "in-inner"]


async def test_an_uncaught_catch_hears_only_errors_no_other_catch_took() -> None:
    nodes = [
        {"id": "r1", "type": "test-raise"},
        {"id": "r2", "type": "test-raise"},
        {"id": "c-r1", "type": "catch", "scope": ["r1"], "wires": [["caught"]]},
        {"id": "leftovers", "type": "catch", "uncaught": True, "wires": [["uncaught"]]},
        sink("caught"),
        sink("uncaught"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("r1", {"payload": "bad"})
        await flow.inject("r2", {"payload": "bad"})
        await flow.idle()
    assert [m["error"]["source"]["id"] for m in flow.node("caught").messages] == ["r1"]
    assert [m["error"]["source"]["id"] for m in flow.node("uncaught").messages] == ["r2"]


# -- the caught message -----------------------------------------------------------------------


async def test_the_caught_msg_is_intact_with_msg_error() -> None:
    nodes = [{"id": "r", "type": "test-raise", "name": "checker"}, {"id": "c", "type": "catch", "wires": [["out"]]}, sink("out")]
    async with run_flow(nodes) as flow:
        sent = {"payload": "bad", "topic": "t", "nested": {"a": [1]}, "_msgid": "m-1"}
        await flow.inject("r", sent)
        [caught] = await flow.received("out")
    assert {k: caught[k] for k in ("payload", "topic", "nested", "_msgid")} == {"payload": "bad", "topic": "t", "nested": {"a": [1]}, "_msgid": "m-1"}
    error = caught["error"]
    assert error["message"] == "ValueError: bad payload"
    assert error["source"] == {"id": "r", "type": "test-raise", "name": "checker", "count": 1}
    assert error["stack"].startswith("Traceback (most recent call last):\n  File ") and error["stack"].endswith("ValueError: bad payload\n")
    assert "error" not in sent, "the catch path gets a copy; the sender's msg is untouched"


async def test_node_error_details_are_merged_and_an_earlier_error_moves_to_underscore_error() -> None:
    nodes = [{"id": "r", "type": "test-async-raise"}, {"id": "c", "type": "catch", "wires": [["out"]]}, sink("out")]
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad", "error": "from before"})
        [caught] = await flow.received("out")
    assert caught["error"]["message"] == "async refused"
    assert caught["error"]["code"] == 42
    assert "stack" not in caught["error"], "NodeError is an expected failure: no traceback"
    assert caught["_error"] == "from before"


async def test_a_caught_error_is_only_a_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="flowwire.errors")
    nodes = [{"id": "r", "type": "test-raise"}, {"id": "c", "type": "catch", "wires": [["out"]]}, sink("out")]
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad", "_msgid": "m-2"})
        await flow.received("out")
    assert error_lines(caplog, logging.DEBUG) == ["[test-raise:r] caught: ValueError: bad payload (msgid=m-2)"]
    assert error_lines(caplog) == []


async def test_an_error_carrying_its_msg_reaches_catch_with_that_msg() -> None:
    nodes = [{"id": "cfg", "type": "test-reporting-config"}, *listener("catch", "c")]
    async with run_flow(nodes) as flow:
        flow.node("cfg").fail_carrying({"payload": "carried"})
        [caught] = await flow.received("c-out")
    assert caught["payload"] == "carried" and caught["error"]["message"] == "carried trouble"


async def test_an_earlier_error_of_the_same_node_without_a_count_counts_as_none() -> None:
    nodes = [{"id": "r", "type": "test-raise"}, *listener("catch", "c")]
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad", "error": {"message": "hand-made", "source": {"id": "r"}}})
        [caught] = await flow.received("c-out")
    assert caught["error"]["source"]["count"] == 1


async def test_a_msg_that_cannot_be_copied_reaches_the_first_catch_node_only(caplog: pytest.LogCaptureFixture) -> None:
    nodes = [{"id": "r", "type": "test-raise"}, *listener("catch", "c1"), *listener("catch", "c2"), *listener("catch", "c3")]
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad", "lock": threading.Lock()})
        [caught] = await flow.received("c1-out")
        await flow.settle()
        assert caught["error"]["message"] == "ValueError: bad payload"
        assert heard(flow, "c2") == heard(flow, "c3") == []
    assert error_lines(caplog) == [
        f"[test-raise:r] message could not be copied for catch node {c} (TypeError); it reached the first catch node only" for c in ("c2", "c3")
    ]


async def test_a_msg_that_cannot_be_copied_for_complete_nodes_is_logged_for_each(caplog: pytest.LogCaptureFixture) -> None:
    nodes = [{"id": "j", "type": "junction"}, *listener("complete", "d1", scope=["j"]), *listener("complete", "d2", scope=["j"])]
    async with run_flow(nodes) as flow:
        await flow.inject("j", {"payload": 1, "lock": threading.Lock()})
        await flow.settle()
        assert flow.sink("d1-out").messages == flow.sink("d2-out").messages == []
    assert error_lines(caplog) == [f"[junction:j] message could not be copied for complete node {d}: TypeError" for d in ("d1", "d2")]


async def test_held_error_reaches_catch_with_the_held_msg() -> None:
    nodes = [{"id": "h", "type": "test-hold"}, {"id": "c", "type": "catch", "wires": [["out"]]}, sink("out")]
    async with run_flow(nodes) as flow:
        await flow.inject("h", {"payload": "later"})
        await wait_until(lambda: flow.node("h").held, what="message held")
        flow.node("h").held[0].error("timed out")
        [caught] = await flow.received("out")
    assert caught["payload"] == "later" and caught["error"]["message"] == "timed out"


async def test_an_uncaught_error_is_one_log_line_with_node_id_and_msgid_and_the_flow_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    nodes = [{"id": "r", "type": "test-raise", "wires": [["out"]]}, sink("out")]
    caplog.set_level(logging.DEBUG, logger="flowwire.errors")
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": "bad", "_msgid": "abc123"})
        await flow.inject("r", {"payload": "good"})
        [ok] = await flow.received("out")
    assert ok["payload"] == "good"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["[test-raise:r] ValueError: bad payload (msgid=abc123)"]
    assert errors[0].node_id == "r" and errors[0].msgid == "abc123"  # type: ignore[attr-defined]
    [stack] = error_lines(caplog, logging.DEBUG)
    assert stack.startswith("[test-raise:r] Traceback (most recent call last):\n") and stack.endswith("ValueError: bad payload\n"), "the traceback at debug level"


async def test_an_error_without_a_msg_is_logged_not_caught(caplog: pytest.LogCaptureFixture) -> None:
    nodes = [{"id": "f", "type": "function", "func": "node.error('no msg here')\nnode.error('with msg', msg)"}, {"id": "c", "type": "catch", "wires": [["out"]]}, sink("out")]
    async with run_flow(nodes) as flow:
        await flow.inject("f", {"payload": 1})
        [caught] = await flow.received("out")
        await flow.idle()
    assert caught["error"]["message"] == "with msg"
    assert len(flow.node("out").messages) == 1
    [logged] = [r for r in caplog.records if r.name == "flowwire.errors" and r.levelno == logging.ERROR]
    assert logged.getMessage() == "[function:f] no msg here"
    assert (logged.node_id, logged.msgid) == ("f", None)  # type: ignore[attr-defined]


async def test_the_error_loop_guard_stops_a_catch_path_that_fails_forever(caplog: pytest.LogCaptureFixture) -> None:
    # f raises on everything; the catch sends the failed message straight back into f.
    nodes = [
        {"id": "f", "type": "function", "func": "context.set('calls', (context.get('calls') or 0) + 1)\nraise RuntimeError('again')"},
        {"id": "c", "type": "catch", "scope": ["f"], "wires": [["f", "seen"]]},
        sink("seen"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("f", {"payload": 1, "_msgid": "loop"})
        await flow.idle()
        calls = flow.node("f").context.get("calls")
    counts = [m["error"]["source"]["count"] for m in flow.node("seen").messages]
    assert counts == list(range(1, 10)), "Node-RED's count: catches 1..9, the 10th error is dropped"
    assert calls == 10
    [logged] = [r for r in caplog.records if r.name == "flowwire.errors" and r.levelno == logging.ERROR]
    assert logged.getMessage() == "[function:f] message exceeded the maximum number of catches (10), dropped to stop an error loop: RuntimeError: again (msgid=loop)"
    assert (logged.node_id, logged.msgid) == ("f", "loop")  # type: ignore[attr-defined]


# -- status --------------------------------------------------------------------------------


async def test_status_nodes_receive_fill_shape_text_and_source() -> None:
    nodes = [
        {"id": "s1", "type": "test-status", "name": "reporter"},
        {"id": "s2", "type": "test-status"},
        {"id": "all", "type": "status", "wires": [["all-out"]]},
        {"id": "just-s2", "type": "status", "scope": ["s2"], "wires": [["s2-out"]]},
        sink("all-out"),
        sink("s2-out"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("s1", {"status_args": ["green", "dot", "connected"]})
        await flow.inject("s2", {"status_args": []})
        await flow.idle()
    first, cleared = flow.node("all-out").messages
    assert first["status"] == {"fill": "green", "shape": "dot", "text": "connected", "source": {"id": "s1", "type": "test-status", "name": "reporter"}}
    assert cleared["status"] == {"source": {"id": "s2", "type": "test-status", "name": ""}}, "status() clears"
    assert [m["status"]["source"]["id"] for m in flow.node("s2-out").messages] == ["s2"]


async def test_a_status_node_on_another_tab_hears_nothing() -> None:
    nodes = [
        {"id": "t1", "type": "tab"},
        {"id": "t2", "type": "tab"},
        {"id": "s1", "type": "test-status", "z": "t1"},
        {"id": "st", "type": "status", "z": "t2", "wires": [["out"]]},
        sink("out", "t2"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("s1", {"status_args": ["red", "ring", "down"]})
        await flow.idle()
    assert flow.node("out").messages == []


#: Status reporters placed like GROUPED's raisers.
STATUS_GROUPED = [{**n, "type": "test-status"} if n["type"] == "test-raise" else n for n in GROUPED]


async def show_everywhere(flow: Any) -> None:
    for node_id in RAISERS:
        await flow.inject(node_id, {"status_args": ["green", "dot", node_id]})
    await flow.settle()


async def test_status_scopes_tab_list_group_nested_group_and_loose_group() -> None:
    nodes = [
        *STATUS_GROUPED,
        *listener("status", "tab1", "t1"),
        *listener("status", "tab2", "t2"),
        *listener("status", "listed", "t2", scope=["in-inner", "ungrouped"]),
        *listener("status", "outer-status", "t1", "outer", "group"),
        *listener("status", "inner-status", "t1", "inner", "group"),
        *listener("status", "loose", "t1", scope="group"),
    ]
    async with run_flow(nodes) as flow:
        await show_everywhere(flow)
        assert heard(flow, "tab1", "status") == ["in-outer", "in-inner", "in-other", "ungrouped"]
        assert heard(flow, "tab2", "status") == ["on-t2"]
        assert heard(flow, "listed", "status") == ["in-inner", "ungrouped"]
        assert heard(flow, "outer-status", "status") == ["in-outer", "in-inner"]
        assert heard(flow, "inner-status", "status") == ["in-inner"]
        assert heard(flow, "loose", "status") == []


async def test_status_of_a_config_node_reaches_status_nodes_on_every_tab() -> None:
    nodes = [*STATUS_GROUPED, {"id": "cfg", "type": "test-reporting-config"}, *listener("status", "s1", "t1"), *listener("status", "s2", "t2"), *listener("status", "grouped", "t1", "outer", "group")]
    async with run_flow(nodes) as flow:
        flow.node("cfg").show("broker down")
        [one] = await flow.received("s1-out")
        await flow.received("s2-out")
        assert one["status"] == {"fill": "red", "shape": "ring", "text": "broker down", "source": {"id": "cfg", "type": "test-reporting-config", "name": ""}}
        assert heard(flow, "grouped", "status") == []


# -- complete -----------------------------------------------------------------------------


async def test_a_complete_node_fires_when_a_listed_node_has_finished_a_message() -> None:
    nodes = [
        {"id": "ch", "type": "change", "rules": [{"t": "set", "p": "payload", "to": "changed"}], "wires": [["next"]]},
        {"id": "other", "type": "junction"},
        {"id": "done", "type": "complete", "scope": ["ch"], "wires": [["out"]]},
        sink("next"),
        sink("out"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("ch", {"payload": "original", "_msgid": "m1"})
        await flow.inject("other", {"payload": "ignored"})
        [completed] = await flow.received("out")
        await flow.idle()
    assert completed["payload"] == "changed" and completed["_msgid"] == "m1"
    assert len(flow.node("out").messages) == 1


async def test_complete_waits_for_a_held_message_and_skips_failed_ones() -> None:
    nodes = [{"id": "h", "type": "test-hold"}, {"id": "r", "type": "test-raise"}, {"id": "done", "type": "complete", "scope": ["h", "r"], "wires": [["out"]]}, sink("out")]
    async with run_flow(nodes) as flow:
        await flow.inject("h", {"payload": "a"})
        await flow.inject("h", {"payload": "b"})
        await flow.inject("r", {"payload": "bad"})
        hold = flow.node("h")
        await wait_until(lambda: len(hold.held) == 2, what="two held messages")
        await flow.inject("r", {"payload": "fine"})
        [first] = await flow.received("out")
        assert first["payload"] == "fine", "the failed message did not complete; the held ones not yet"
        hold.held[0].done()
        hold.held[1].error("gave up")
        _, second = await flow.received("out", count=2)
        await flow.idle()
    assert second["payload"] == "a"
    assert len(flow.node("out").messages) == 2


async def test_a_complete_node_hears_exactly_the_listed_nodes_whatever_their_group() -> None:
    nodes = [
        {"id": "t1", "type": "tab"},
        {"id": "grp", "type": "group", "z": "t1"},
        {"id": "listed-grouped", "type": "junction", "z": "t1", "g": "grp"},
        {"id": "listed", "type": "junction", "z": "t1"},
        {"id": "unlisted-grouped", "type": "junction", "z": "t1", "g": "grp"},
        {"id": "done", "type": "complete", "z": "t1", "g": "grp", "scope": ["listed-grouped", "listed"], "wires": [["out"]]},
        sink("out", "t1", "grp"),
    ]
    async with run_flow(nodes) as flow:
        for node_id in ("listed-grouped", "listed", "unlisted-grouped"):
            await flow.inject(node_id, {"payload": node_id})
        msgs = await flow.received("out", 2)
    assert [m["payload"] for m in msgs] == ["listed-grouped", "listed"]
