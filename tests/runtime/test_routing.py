"""How messages move between nodes: fan-out copies, outputs per port, ordering,
concurrency, bounded queues (backpressure) and completion tracking.

See docs/messages.md; each section there has its test here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, ClassVar

import pytest

from runtime import Msg, Node, NodeError, NodeProps, Output, register
from runtime.testing import run_flow, wait_until


class GateProps(NodeProps):
    concurrency: int = 1


@register("test-gate")
class Gate(Node):
    """An async node that keeps each message until the test lets it through."""

    Props = GateProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.concurrency = self.props.concurrency
        self.inside = 0
        self.max_inside = 0
        self.started: list[Msg] = []
        self._permits = asyncio.Semaphore(0)
        self._open = False

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            self._permits.release()

    def open(self) -> None:
        self._open = True
        self.release(self.inside)

    async def on_input(self, msg: Msg) -> Msg:
        self.inside += 1
        self.max_inside = max(self.max_inside, self.inside)
        self.started.append(msg)
        try:
            if not self._open:
                await self._permits.acquire()
        finally:
            self.inside -= 1
        return msg


@register("test-ports")
class Ports(Node):
    """Returns whatever output the test put in `msg.out` (a msg, a list per port, None)."""

    def on_input(self, msg: Msg) -> Output:
        return msg["out"]  # type: ignore[no-any-return]


@register("test-source")
class Source(Node):
    """A source the test drives through `emit`; its window is small to show backpressure."""

    window: ClassVar[int] = 4


@register("test-holder")
class Holder(Node):
    """Keeps each message past `on_input` (like a delay node) until the test finishes it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[Any] = []

    def on_input(self, msg: Msg) -> None:
        self.held.append((self.hold(msg), msg))


@register("test-fail")
class Fail(Node):
    """Raises on every message."""

    def on_input(self, msg: Msg) -> None:
        raise NodeError("refused")


def sink(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "test-sink"}


# -- fan-out ----------------------------------------------------------------------


async def test_fan_out_first_wire_gets_the_object_others_deep_copies_with_the_same_msgid() -> None:
    flow_nodes = [{"id": "j", "type": "junction", "wires": [["a", "b", "c"]]}, sink("a"), sink("b"), sink("c")]
    async with run_flow(flow_nodes) as flow:
        original = {"payload": {"items": [1, 2]}}
        await flow.inject("j", original)
        [a] = await flow.received("a")
        [b] = await flow.received("b")
        [c] = await flow.received("c")
    assert a is original
    assert b == c == original
    assert b is not original and c is not original and b is not c
    assert b["payload"] is not original["payload"] and b["payload"]["items"] is not original["payload"]["items"]
    assert a["_msgid"] == b["_msgid"] == c["_msgid"]


async def test_a_copy_is_independent_of_the_original() -> None:
    flow_nodes = [{"id": "j", "type": "junction", "wires": [["a", "b"]]}, sink("a"), sink("b")]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("j", {"payload": {"n": 1}})
        [a] = await flow.received("a")
        [b] = await flow.received("b")
    a["payload"]["n"] = 2
    assert b["payload"]["n"] == 1


# -- outputs ------------------------------------------------------------------------


async def test_output_list_has_one_entry_per_port_and_a_list_entry_sends_messages_in_order() -> None:
    flow_nodes = [{"id": "p", "type": "test-ports", "wires": [["s0"], ["s1"], ["s2"]]}, sink("s0"), sink("s1"), sink("s2")]
    async with run_flow(flow_nodes) as flow:
        out = [{"payload": "zero"}, [{"payload": 1}, {"payload": 2}, {"payload": 3}], None]
        await flow.inject("p", {"out": out})
        await flow.idle()
        s0, s1, s2 = (flow.node(i).messages for i in ("s0", "s1", "s2"))
    assert [m["payload"] for m in s0] == ["zero"]
    assert [m["payload"] for m in s1] == [1, 2, 3]
    assert s2 == []
    assert all("_msgid" in m for m in s0 + s1)


async def test_a_msg_output_goes_to_port_0_and_none_sends_nothing() -> None:
    flow_nodes = [{"id": "p", "type": "test-ports", "wires": [["s0"], ["s1"]]}, sink("s0"), sink("s1")]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("p", {"out": {"payload": "single"}})
        await flow.inject("p", {"out": None})
        await flow.idle()
    assert [m["payload"] for m in flow.node("s0").messages] == ["single"]
    assert flow.node("s1").messages == []


async def test_the_same_msg_on_two_ports_is_copied_for_the_second() -> None:
    flow_nodes = [{"id": "p", "type": "test-ports", "wires": [["s0"], ["s1"]]}, sink("s0"), sink("s1")]
    async with run_flow(flow_nodes) as flow:
        shared = {"payload": {"x": 1}}
        await flow.inject("p", {"out": [shared, shared]})
        [m0] = await flow.received("s0")
        [m1] = await flow.received("s1")
    assert m0 is shared and m1 is not shared and m1 == shared


async def test_a_bad_output_is_a_node_error_not_a_crash() -> None:
    flow_nodes = [{"id": "p", "type": "test-ports", "wires": [["s0"]]}, sink("s0"), {"id": "c", "type": "catch", "wires": [["caught"]]}, sink("caught")]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("p", {"out": "not a message", "_msgid": "m1"})
        [caught] = await flow.received("caught")
    assert "output" in caught["error"]["message"]
    assert caught["error"]["source"]["id"] == "p"


# -- ordering and concurrency ----------------------------------------------------------


async def test_a_node_receives_messages_in_the_order_they_were_sent() -> None:
    flow_nodes = [
        {"id": "fn", "type": "function", "func": "for i in range(300):\n    node.send({'payload': i})", "wires": [["j"]]},
        {"id": "j", "type": "junction", "wires": [["g", "s-sync"]]},
        {"id": "g", "type": "test-gate", "wires": [["s-async"]]},
        sink("s-sync"),
        sink("s-async"),
    ]
    async with run_flow(flow_nodes) as flow:
        flow.node("g").open()
        await flow.inject("fn", {})
        via_sync = await flow.received("s-sync", count=300)
        via_async = await flow.received("s-async", count=300)
    assert [m["payload"] for m in via_sync] == list(range(300))
    assert [m["payload"] for m in via_async] == list(range(300))


async def test_an_async_node_with_concurrency_1_handles_one_message_at_a_time_in_order() -> None:
    flow_nodes = [{"id": "g", "type": "test-gate", "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        gate = flow.node("g")
        for i in range(5):
            await flow.inject("g", {"payload": i})
        for done in range(5):
            await wait_until(lambda: len(gate.started) == done + 1, what=f"message {done} started")
            assert gate.inside == 1
            gate.release()
        msgs = await flow.received("s", count=5)
    assert gate.max_inside == 1
    assert [m["payload"] for m in msgs] == [0, 1, 2, 3, 4]


async def test_an_async_node_with_concurrency_n_handles_n_messages_at_once() -> None:
    flow_nodes = [{"id": "g", "type": "test-gate", "concurrency": 3, "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        gate = flow.node("g")
        for i in range(5):
            await flow.inject("g", {"payload": i})
        await wait_until(lambda: gate.inside == 3, what="three messages inside the handler")
        assert len(gate._delivery.inbox) == 2, "the other two wait in the node's inbox"
        gate.release()
        await wait_until(lambda: len(gate.started) == 4, what="the fourth message started")
        assert gate.inside == 3
        gate.open()
        msgs = await flow.received("s", count=5)
    assert gate.max_inside == 3
    assert sorted(m["payload"] for m in msgs) == [0, 1, 2, 3, 4]
    assert [m["payload"] for m in gate.started] == [0, 1, 2, 3, 4], "started in arrival order"


# -- bounded queues (backpressure) -------------------------------------------------------


async def test_a_slow_node_holds_a_fast_source_back() -> None:
    flow_nodes = [{"id": "src", "type": "test-source", "wires": [["slow"]]}, {"id": "slow", "type": "test-gate", "wires": [["s"]]}, sink("s")]
    total = 200
    async with run_flow(flow_nodes) as flow:
        source, slow = flow.node("src"), flow.node("slow")
        emitted = 0
        max_outstanding = 0
        max_inbox = 0

        async def produce() -> None:
            nonlocal emitted, max_outstanding, max_inbox
            for i in range(total):
                await source.emit({"payload": i})
                emitted += 1
                max_outstanding = max(max_outstanding, source._delivery.outstanding)
                max_inbox = max(max_inbox, len(slow._delivery.inbox))

        producer = asyncio.create_task(produce())
        await wait_until(lambda: source._delivery.window_waiter is not None and not source._delivery.window_waiter.done(), what="the source waiting for its window")
        assert emitted == Source.window, "the source stopped after `window` messages"
        assert not producer.done()

        slow.open()
        msgs = await flow.received("s", count=total, timeout=10)
        await producer
    assert [m["payload"] for m in msgs] == list(range(total))
    assert max_outstanding <= Source.window
    assert max_inbox <= Source.window


# -- completion tracking ----------------------------------------------------------------


async def test_on_complete_fires_once_everything_derived_has_finished() -> None:
    # src fans out to: a gate (async), a holder (hold/done), a failing node whose error
    # goes through a catch node into a second gate. Completion waits for all three.
    flow_nodes = [
        {"id": "src", "type": "test-source", "wires": [["gate", "holder", "fail", "direct"]]},
        {"id": "gate", "type": "test-gate", "wires": [["s"]]},
        {"id": "holder", "type": "test-holder", "wires": [["s"]]},
        {"id": "fail", "type": "test-fail"},
        {"id": "catch", "type": "catch", "scope": ["fail"], "wires": [["catch-gate"]]},
        {"id": "catch-gate", "type": "test-gate", "wires": [["s"]]},
        sink("direct"),
        sink("s"),
    ]
    async with run_flow(flow_nodes) as flow:
        completed: list[str] = []
        await flow.node("src").emit({"payload": 1}, on_complete=lambda: completed.append("done"))
        gate, holder, catch_gate = flow.node("gate"), flow.node("holder"), flow.node("catch-gate")
        await flow.received("direct")
        await wait_until(lambda: gate.inside == 1 and holder.held and catch_gate.inside == 1, what="all three branches busy")

        gate.release()
        await flow.received("s", count=1)
        assert completed == []

        catch_gate.release()
        await flow.received("s", count=2)
        assert completed == []

        held, msg = holder.held[0]
        held.send(msg)
        await flow.received("s", count=3)
        assert completed == [], "held.send does not finish the held message"
        held.done()
        await wait_until(lambda: completed == ["done"], what="completion")
        held.done()
        await flow.idle()
    assert completed == ["done"], "fires exactly once"


async def test_on_complete_fires_for_dropped_and_failed_messages() -> None:
    flow_nodes = [
        {"id": "drop-src", "type": "test-source", "wires": [["drop"]]},
        {"id": "drop", "type": "test-ports"},
        {"id": "fail-src", "type": "test-source", "wires": [["fail"]]},
        {"id": "fail", "type": "test-fail"},
        {"id": "nowhere", "type": "test-source"},
    ]
    async with run_flow(flow_nodes) as flow:
        completed: list[str] = []
        await flow.node("drop-src").emit({"out": None}, on_complete=lambda: completed.append("dropped"))
        await flow.node("fail-src").emit({"payload": 1}, on_complete=lambda: completed.append("failed"))
        await flow.node("nowhere").emit({"payload": 1}, on_complete=lambda: completed.append("unwired"))
        await wait_until(lambda: len(completed) == 3, what="three completions")
    assert sorted(completed) == ["dropped", "failed", "unwired"]


async def test_on_complete_waits_for_messages_sent_with_node_send() -> None:
    flow_nodes = [
        {"id": "src", "type": "test-source", "wires": [["fn"]]},
        {"id": "fn", "type": "function", "func": "node.send({'payload': 'early'})\nreturn msg", "wires": [["gate"]]},
        {"id": "gate", "type": "test-gate", "wires": [["s"]]},
        sink("s"),
    ]
    async with run_flow(flow_nodes) as flow:
        completed: list[str] = []
        await flow.node("src").emit({"payload": "late"}, on_complete=lambda: completed.append("done"))
        gate = flow.node("gate")
        await wait_until(lambda: len(gate.started) == 1, what="first message in the gate")
        gate.release()
        await flow.received("s", count=1)
        assert completed == []
        gate.release()
        await flow.received("s", count=2)
        await wait_until(lambda: completed == ["done"], what="completion")
    assert [m["payload"] for m in flow.node("s").messages] == ["early", "late"]


async def test_the_runtime_waits_for_in_flight_messages_when_it_stops() -> None:
    flow_nodes = [{"id": "g", "type": "test-gate", "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        gate = flow.node("g")
        for i in range(3):
            await flow.inject("g", {"payload": i})
        await wait_until(lambda: gate.inside == 1, what="first message inside")
        stopping = asyncio.create_task(flow.runtime.stop())
        await asyncio.sleep(0)
        assert not stopping.done()
        gate.open()
        await stopping
    assert [m["payload"] for m in flow.node("s").messages] == [0, 1, 2]


# -- hostile messages: routing never stops ----------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("payload", [_nested(20_000), {"lock": threading.Lock()}], ids=["json-20000-deep", "lock-object"])
async def test_a_message_that_cannot_be_copied_for_fan_out_is_a_node_error_and_delivery_goes_on(payload: Any) -> None:
    flow_nodes = [
        {"id": "src", "type": "test-source", "wires": [["j"]]},
        {"id": "j", "type": "junction", "wires": [["a", "b"]]},
        {"id": "catch", "type": "catch", "wires": [["caught"]]},
        sink("a"),
        sink("b"),
        sink("caught"),
    ]
    async with run_flow(flow_nodes) as flow:
        completed: list[int] = []
        await flow.node("src").emit({"payload": payload, "n": 1}, on_complete=lambda: completed.append(1))
        [caught] = await flow.received("caught")
        assert caught["n"] == 1 and caught["payload"] is payload, "catch gets the message intact"
        assert caught["error"]["source"]["id"] == "j"
        assert flow.node("a").messages == [] and flow.node("b").messages == [], "a msg that cannot be copied goes nowhere"
        await flow.node("src").emit({"payload": "next", "n": 2}, on_complete=lambda: completed.append(2))
        [a] = await flow.received("a")
        [b] = await flow.received("b")
        assert a["n"] == b["n"] == 2
        await flow.idle()
    assert completed == [1, 2], "both source messages completed (an MQTT source would acknowledge both)"


@pytest.mark.parametrize("raised", ["bug", "exit", "interrupt"])
async def test_a_handler_raising_anything_is_a_node_error_and_delivery_goes_on(raised: str) -> None:
    flow_nodes = [
        {"id": "j", "type": "junction", "wires": [["boom", "s"]]},
        {"id": "boom", "type": "test-raise-any"},
        {"id": "catch", "type": "catch", "wires": [["caught"]]},
        sink("s"),
        sink("caught"),
    ]
    async with run_flow(flow_nodes) as flow:
        for i in range(3):
            await flow.inject("j", {"payload": i, "raise": raised})
        msgs = await flow.received("s", count=3)
        caught = await flow.received("caught", count=3)
        await flow.idle()
    assert [m["payload"] for m in msgs] == [0, 1, 2]
    assert [m["payload"] for m in caught] == [0, 1, 2]
    assert all(m["error"]["source"]["id"] == "boom" for m in caught)


async def test_a_message_multiplying_in_a_cycle_meets_the_message_tree_limit() -> None:
    # a -> [a, a]: every delivery doubles. Memory stays bounded by messageTreeLimit, the
    # overflow is reported as node errors, and other flows keep running meanwhile.
    limit = 500
    flow_nodes = {
        "settings": {"messageTreeLimit": limit},
        "nodes": [
            {"id": "a", "type": "junction", "wires": [["a", "a"]]},
            {"id": "catch", "type": "catch", "scope": ["a"], "wires": [["errors"]]},
            {"id": "errors", "type": "test-count"},
            {"id": "other", "type": "junction", "wires": [["s"]]},
            sink("s"),
        ],
    }
    async with run_flow(flow_nodes) as flow:
        router = flow.runtime._router
        deepest = 0

        def watch() -> bool:
            nonlocal deepest
            deepest = max(deepest, len(router._queue))
            return flow.node("errors").count >= 20

        await flow.inject("a", {"payload": "x"})
        await wait_until(watch, what="the cycle hitting the limit")
        await flow.inject("other", {"payload": "still here"})
        [msg] = await flow.received("s")
        assert msg["payload"] == "still here"
        assert deepest <= limit + 2
        flow.runtime.drain_timeout = 0.2
    assert not router._queue, "after the drain times out, what is left is dropped (unacknowledged)"


@register("test-raise-any")
class Raise(Node):
    """Raises what the message names: a plain exception, SystemExit, KeyboardInterrupt."""

    def on_input(self, msg: Msg) -> None:
        raise {"bug": RuntimeError("handler bug"), "exit": SystemExit(3), "interrupt": KeyboardInterrupt()}[msg["raise"]]


@register("test-count")
class Count(Node):
    """Counts messages without keeping them (a sink for floods)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = 0

    def on_input(self, msg: Msg) -> None:
        self.count += 1


# -- message ids ---------------------------------------------------------------------------


@register("test-send-to")
class SendTo(Node):
    """Sends msg.send (a new msg) straight to the node named by msg.target, bypassing wires."""

    def on_input(self, msg: Msg) -> None:
        self.send_to(self.node_by_id(msg["target"]), msg["send"])


async def test_every_delivered_msg_has_a_msgid_and_an_existing_one_is_kept() -> None:
    flow_nodes = [
        {"id": "one", "type": "test-ports", "wires": [["s-one"]]},
        {"id": "two", "type": "test-ports", "wires": [["s-two-0"], ["s-two-1"]]},
        {"id": "direct", "type": "test-send-to"},
        sink("s-one"), sink("s-two-0"), sink("s-two-1"), sink("s-direct"),
    ]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("one", {"out": {"payload": "fresh"}})
        await flow.inject("one", {"out": {"payload": "kept", "_msgid": "m-one"}})
        await flow.inject("two", {"out": [{"payload": "fresh"}, {"payload": "kept", "_msgid": "m-two"}]})
        await flow.inject("direct", {"target": "s-direct", "send": {"payload": "fresh"}})
        await flow.inject("direct", {"target": "s-direct", "send": {"payload": "kept", "_msgid": "m-direct"}})
        await flow.idle()
    got = [m for s in ("s-one", "s-two-0", "s-two-1", "s-direct") for m in flow.node(s).messages]
    assert len(got) == 6
    for m in got:
        if m["payload"] == "kept":
            assert m["_msgid"] in ("m-one", "m-two", "m-direct")
        else:
            assert isinstance(m["_msgid"], str) and m["_msgid"] not in ("m-one", "m-two", "m-direct")
    fresh_ids = [m["_msgid"] for m in got if m["payload"] == "fresh"]
    assert len(set(fresh_ids)) == 3 and all(fresh_ids)


# -- outputs, continued ----------------------------------------------------------------------


async def test_none_entries_skip_a_port_or_a_msg_and_ports_without_wires_drop_theirs() -> None:
    flow_nodes = [{"id": "p", "type": "test-ports", "wires": [["s0"], ["s1"]]}, sink("s0"), sink("s1"),
                  {"id": "c", "type": "catch", "wires": [["caught"]]}, sink("caught")]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("p", {"out": [None, [{"payload": 1}, None, {"payload": 2}], {"payload": "no wire"}]})
        await flow.idle()
    assert flow.node("s0").messages == []
    assert [m["payload"] for m in flow.node("s1").messages] == [1, 2]
    assert flow.node("caught").messages == [], "more outputs than wired ports is not an error"


@pytest.mark.parametrize(("out", "message"), [
    ("not a message", "a node's output must be a msg dict or a list per output port, not str"),
    ([{"payload": 1}, ["text"]], "output port 1 got str; messages must be dicts"),
])
async def test_a_bad_output_error_says_what_was_wrong(out: Any, message: str) -> None:
    flow_nodes = [{"id": "p", "type": "test-ports", "wires": [["s0"], ["s1"]]}, sink("s0"), sink("s1"),
                  {"id": "c", "type": "catch", "wires": [["caught"]]}, sink("caught")]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("p", {"out": out})
        [caught] = await flow.received("caught")
    assert caught["error"]["message"] == message


# -- the run loop ----------------------------------------------------------------------------


@register("test-countdown")
class Countdown(Node):
    """Sends msg back to itself (port 0) with n - 1 until n is 0, then on port 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n = -1

    def on_input(self, msg: Msg) -> Output:
        self.n = msg["n"]
        if msg["n"] == 0:
            return [None, msg]
        msg["n"] -= 1
        return [msg, None]


async def test_a_long_run_of_deliveries_lets_other_tasks_run_in_between() -> None:
    total = 10_000
    flow_nodes = [{"id": "cd", "type": "test-countdown", "wires": [["cd"], ["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        countdown = flow.node("cd")
        seen: list[int] = []

        async def watch() -> None:
            while True:
                seen.append(countdown.n)
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())
        await flow.inject("cd", {"n": total})
        await flow.received("s", timeout=10)
        watcher.cancel()
    assert len({n for n in seen if 0 < n < total}) >= 3, "another task ran several times during the countdown"


@register("test-timer-sender")
class TimerSender(Node):
    """Sends from timers: one set in start(), before any message has moved, and one per message."""

    async def start(self) -> None:
        self.call_later(0, self.send, {"payload": "from start"})

    def on_input(self, msg: Msg) -> None:
        self.call_later(0, self.send, {"payload": "from a timer"})


async def test_a_node_can_send_from_a_timer_before_and_after_messages_moved() -> None:
    flow_nodes = [{"id": "t", "type": "test-timer-sender", "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        [first] = await flow.received("s")
        await flow.inject("t", {"payload": "go"})
        msgs = await flow.received("s", count=2)
    assert first["payload"] == "from start"
    assert msgs[1]["payload"] == "from a timer"


@pytest.mark.parametrize(("limit", "sent"), [(3, False), (4, True)])
async def test_the_message_tree_limit_counts_the_deliveries_a_fan_out_would_add(limit: int, sent: bool) -> None:
    flow_nodes = {
        "settings": {"messageTreeLimit": limit},
        "nodes": [
            {"id": "j", "type": "junction", "wires": [["a", "b", "c"]]},
            {"id": "catch", "type": "catch", "wires": [["caught"]]},
            sink("a"), sink("b"), sink("c"), sink("caught"),
        ],
    }
    async with run_flow(flow_nodes) as flow:
        await flow.inject("j", {"payload": 1})
        await flow.idle()
    received = [len(flow.node(s).messages) for s in ("a", "b", "c")]
    caught = flow.node("caught").messages
    if sent:
        assert received == [1, 1, 1] and caught == []
    else:
        assert received == [0, 0, 0]
        assert [m["error"]["message"] for m in caught] == [
            "message not sent: its message tree already has 1 unfinished deliveries "
            "(limit 3, setting messageTreeLimit); a loop that multiplies messages?"
        ]


# -- async handlers, continued ---------------------------------------------------------------


@register("test-async-raise-any")
class AsyncRaise(Node):
    """The async twin of test-raise-any."""

    async def on_input(self, msg: Msg) -> None:
        raise {"bug": RuntimeError("handler bug"), "exit": SystemExit(3), "interrupt": KeyboardInterrupt()}[msg["raise"]]


@pytest.mark.parametrize("node_type", ["test-raise-any", "test-async-raise-any"])
async def test_the_error_for_a_handler_raising_says_what_it_raised(node_type: str) -> None:
    flow_nodes = [{"id": "boom", "type": node_type}, {"id": "catch", "type": "catch", "wires": [["caught"]]}, sink("caught")]
    async with run_flow(flow_nodes) as flow:
        for raised in ("bug", "exit", "interrupt"):
            await flow.inject("boom", {"raise": raised})
        caught = await flow.received("caught", count=3)
    assert [m["error"]["message"] for m in caught] == ["RuntimeError: handler bug", "SystemExit raised", "KeyboardInterrupt raised"]


async def test_an_async_node_stays_one_at_a_time_after_it_went_idle() -> None:
    flow_nodes = [{"id": "g", "type": "test-gate", "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        gate = flow.node("g")
        for round_ in range(3):
            for i in range(2):
                await flow.inject("g", {"payload": (round_, i)})
            await wait_until(lambda: gate.inside == 1, what="a message inside")
            gate.release(2)
            await flow.received("s", count=2 * (round_ + 1))
    assert gate.max_inside == 1


async def test_a_complete_node_hears_of_messages_an_async_node_finished() -> None:
    flow_nodes = [
        {"id": "g", "type": "test-gate", "wires": [["s"]]},
        {"id": "done", "type": "complete", "scope": ["g"], "wires": [["completed"]]},
        sink("s"), sink("completed"),
    ]
    async with run_flow(flow_nodes) as flow:
        flow.node("g").open()
        await flow.inject("g", {"payload": "through", "_msgid": "m1"})
        [completed] = await flow.received("completed")
    assert (completed["payload"], completed["_msgid"]) == ("through", "m1")


@register("test-maybe-hold")
class MaybeHold(Node):
    """Holds a message whose `hold` is true and finishes it at once; passes the others by."""

    def on_input(self, msg: Msg) -> None:
        if msg.get("hold"):
            self.hold(msg).done()


async def test_a_msg_object_held_once_completes_normally_when_it_comes_back_unheld() -> None:
    flow_nodes = [{"id": "h", "type": "test-maybe-hold"},
                  {"id": "done", "type": "complete", "scope": ["h"], "wires": [["completed"]]}, sink("completed")]
    async with run_flow(flow_nodes) as flow:
        msg = {"payload": 1, "hold": True}
        await flow.inject("h", msg)
        await flow.received("completed", count=1)
        msg["hold"] = False
        await flow.inject("h", msg)
        completed = await flow.received("completed", count=2)
    assert [m["hold"] for m in completed] == [True, False], "complete nodes get a copy of each"


# -- completion, continued -------------------------------------------------------------------


@register("test-async-sender")
class AsyncSender(Node):
    """An async node that sends "early" on port 1 with node.send, then returns msg on port 0."""

    async def on_input(self, msg: Msg) -> Msg:
        self.send([None, {"payload": "early"}])
        return msg


async def test_on_complete_waits_for_messages_an_async_handler_sent_with_node_send() -> None:
    flow_nodes = [
        {"id": "src", "type": "test-source", "wires": [["fn"]]},
        {"id": "fn", "type": "test-async-sender", "wires": [["direct"], ["gate"]]},
        {"id": "gate", "type": "test-gate", "wires": [["s"]]},
        sink("direct"), sink("s"),
    ]
    async with run_flow(flow_nodes) as flow:
        completed: list[str] = []
        await flow.node("src").emit({"payload": "late"}, on_complete=lambda: completed.append("done"))
        await flow.received("direct")
        gate = flow.node("gate")
        await wait_until(lambda: gate.inside == 1, what="the early message in the gate")
        assert completed == [], "the message node.send sent is not finished yet"
        gate.release()
        await wait_until(lambda: completed == ["done"], what="completion")


@register("test-late-sender")
class LateSender(Node):
    """An async node that passes msg on and, from a task it spawned, sends once more when `go` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go = asyncio.Event()

    async def on_input(self, msg: Msg) -> Msg:
        self.spawn(self._later())
        return msg

    async def _later(self) -> None:
        await self.go.wait()
        self.send({"payload": "later"})


async def test_a_send_after_the_message_finished_does_not_reopen_it() -> None:
    flow_nodes = [{"id": "src", "type": "test-source", "wires": [["late"]]}, {"id": "late", "type": "test-late-sender", "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        completed: list[str] = []
        await flow.node("src").emit({"payload": "first"}, on_complete=lambda: completed.append("done"))
        await wait_until(lambda: completed == ["done"], what="completion")
        flow.node("late").go.set()
        msgs = await flow.received("s", count=2)
        await flow.idle()
    assert [m["payload"] for m in msgs] == ["first", "later"]
    assert completed == ["done"], "on_complete fires once"


async def test_a_failing_completion_callback_is_logged_and_routing_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    flow_nodes = [{"id": "src", "type": "test-source", "wires": [["s"]]}, sink("s")]

    def broken() -> None:
        raise RuntimeError("callback bug")

    caplog.set_level(logging.ERROR, logger="flowwire.routing")
    async with run_flow(flow_nodes) as flow:
        source = flow.node("src")
        await source.emit({"payload": 1}, on_complete=broken)
        await source.emit({"payload": 2})
        msgs = await flow.received("s", count=2)
    assert [m["payload"] for m in msgs] == [1, 2]
    [record] = [r for r in caplog.records if r.name == "flowwire.routing"]
    assert record.getMessage() == f"completion callback of {source!r} failed"
    assert "RuntimeError: callback bug" in caplog.text, "the traceback is logged with it"


async def test_idle_waits_for_every_message_in_flight() -> None:
    flow_nodes = [{"id": "g", "type": "test-gate", "wires": [["s"]]}, sink("s")]
    async with run_flow(flow_nodes) as flow:
        gate = flow.node("g")
        await flow.inject("g", {"payload": 1})
        await flow.inject("g", {"payload": 2})
        idle = asyncio.create_task(flow.runtime.wait_idle())
        gate.release()
        await flow.received("s")
        assert not idle.done(), "one message is still in the gate"
        gate.release()
        await flow.received("s", count=2)
        await asyncio.wait_for(idle, 5)


async def test_a_held_back_source_resumes_once_half_its_window_is_free() -> None:
    flow_nodes = [{"id": "src", "type": "test-source", "wires": [["slow"]]}, {"id": "slow", "type": "test-gate", "wires": [["s"]]}, sink("s")]
    total = 12
    async with run_flow(flow_nodes) as flow:
        source, slow = flow.node("src"), flow.node("slow")
        emitted = 0
        completed: list[int] = []

        def blocked() -> bool:
            waiter = source._delivery.window_waiter
            return waiter is not None and not waiter.done()

        async def produce() -> None:
            nonlocal emitted
            for i in range(total):
                await source.emit({"payload": i}, on_complete=lambda i=i: completed.append(i))
                emitted += 1

        producer = asyncio.create_task(produce())
        await wait_until(lambda: emitted == Source.window and blocked(), what="the source held back")
        slow.release()
        await flow.received("s", count=1)
        assert emitted == Source.window and blocked(), "3 of 4 outstanding: still held back"
        slow.release()
        await flow.received("s", count=2)
        await wait_until(lambda: emitted == Source.window + 2 and blocked(), what="two more sent, then held back again")
        slow.open()
        await flow.received("s", count=total)
        await producer
        await wait_until(lambda: len(completed) == total, what="every message completed")
    assert sorted(completed) == list(range(total))
