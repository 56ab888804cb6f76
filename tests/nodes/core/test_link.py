"""link in / link out / link call: virtual wires, calls that return, timeouts, dynamic targets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime import FlowError, Msg, Node, register
from runtime.testing import build, run_flow

#: On looptime's clock a missing message fails at once instead of after a wall-clock timeout.
pytestmark = pytest.mark.looptime


@register("test-double")
class Double(Node):
    """Doubles msg.payload (the called flow in these tests)."""

    def on_input(self, msg: Msg) -> Msg:
        msg["payload"] = msg["payload"] * 2
        return msg


def sink(node_id: str, z: str = "") -> dict[str, Any]:
    return {"id": node_id, "type": "test-sink", **({"z": z} if z else {})}


async def test_link_out_to_link_in_across_tabs() -> None:
    nodes = [
        {"id": "tab1", "type": "tab"},
        {"id": "tab2", "type": "tab"},
        {"id": "out1", "type": "link out", "z": "tab1", "links": ["in1"]},
        {"id": "in1", "type": "link in", "z": "tab2", "links": ["out1"], "wires": [["s"]]},
        sink("s", "tab2"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("out1", {"payload": "hello"})
        assert [m["payload"] for m in await flow.received("s")] == ["hello"]


async def test_link_out_to_several_link_ins_copies_per_target() -> None:
    nodes = [
        {"id": "out1", "type": "link out", "links": ["in1", "in2"]},
        {"id": "in1", "type": "link in", "wires": [["s1"]]},
        {"id": "in2", "type": "link in", "wires": [["s2"]]},
        sink("s1"),
        sink("s2"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("out1", {"payload": {"n": 1}})
        [a] = await flow.received("s1")
        [b] = await flow.received("s2")
        assert a == b == {"payload": {"n": 1}, "_msgid": a["_msgid"], "_event": "node:out1"} and a is not b


async def test_several_link_outs_into_one_link_in() -> None:
    nodes = [
        {"id": "out1", "type": "link out", "links": ["in1"]},
        {"id": "out2", "type": "link out", "links": ["in1"]},
        {"id": "in1", "type": "link in", "wires": [["s"]]},
        sink("s"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("out1", {"payload": 1})
        await flow.inject("out2", {"payload": 2})
        assert [m["payload"] for m in await flow.received("s", 2)] == [1, 2]


def called_flow(link_in: str = "li", name: str = "", z: str = "") -> list[dict[str, Any]]:
    extra = {"z": z} if z else {}
    return [
        {"id": link_in, "type": "link in", "name": name, "wires": [[f"{link_in}-double"]], **extra},
        {"id": f"{link_in}-double", "type": "test-double", "wires": [[f"{link_in}-ret"]], **extra},
        {"id": f"{link_in}-ret", "type": "link out", "mode": "return", **extra},
    ]


async def test_link_call_static_gets_the_response() -> None:
    nodes = [*called_flow(), {"id": "call", "type": "link call", "links": ["li"], "wires": [["s"]]}, sink("s")]
    async with run_flow(nodes) as flow:
        await flow.inject("call", {"payload": 21})
        [msg] = await flow.received("s")
        assert msg["payload"] == 42
        assert "_linkSource" not in msg  # the last frame popped, the stack removed
        await flow.idle()


async def test_link_call_keeps_the_message_open_until_it_returns() -> None:
    nodes = [*called_flow(), {"id": "call", "type": "link call", "links": ["li"], "wires": [["s"]]}, sink("s")]
    async with run_flow(nodes) as flow:
        await flow.inject("call", {"payload": 1})
        await flow.idle()
        assert flow.node("call")._calls == {}
        assert len(flow.node("s").messages) == 1


async def test_nested_link_calls() -> None:
    # Node-RED's own test: x2 then x3 inside a called flow = x6.
    nodes = [
        *called_flow("li1"),
        {"id": "li2", "type": "link in", "wires": [["triple"]]},
        {"id": "triple", "type": "change", "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "payload * 3", "tot": "jsonata"}], "wires": [["lo2"]]},
        {"id": "lo2", "type": "link out", "mode": "return"},
        {"id": "li3", "type": "link in", "wires": [["call1"]]},
        {"id": "call1", "type": "link call", "links": ["li1"], "wires": [["call2"]]},
        {"id": "call2", "type": "link call", "links": ["li2"], "wires": [["lo3"]]},
        {"id": "lo3", "type": "link out", "mode": "return"},
        {"id": "call", "type": "link call", "links": ["li3"], "wires": [["s"]]},
        sink("s"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("call", {"payload": 4})
        assert [m["payload"] for m in await flow.received("s")] == [24]


async def test_dynamic_target_by_name_prefers_the_callers_tab() -> None:
    nodes = [
        {"id": "tab1", "type": "tab"},
        {"id": "tab2", "type": "tab"},
        *called_flow("li1", name="double payload", z="tab1"),
        {"id": "li2", "type": "link in", "z": "tab2", "name": "double payload", "wires": [["s-wrong"]]},
        sink("s-wrong", "tab2"),
        {"id": "call", "type": "link call", "z": "tab1", "linkType": "dynamic", "links": [], "wires": [["s"]]},
        sink("s", "tab1"),
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("call", {"payload": 5, "target": "double payload"})
        assert [m["payload"] for m in await flow.received("s")] == [10]
        await flow.inject("call", {"payload": 6, "target": "li1"})  # by id
        assert [m["payload"] for m in await flow.received("s", 2)] == [10, 12]
        assert flow.node("s-wrong").messages == []


def with_catch(nodes: list[dict[str, Any]], z: str = "") -> list[dict[str, Any]]:
    extra = {"z": z} if z else {}
    return [*nodes, {"id": "catch", "type": "catch", "scope": ["call"], "uncaught": True, "wires": [["errors"]], **extra}, sink("errors", z)]


async def test_dynamic_target_ambiguous_name_is_an_error() -> None:
    nodes = [
        {"id": "tab1", "type": "tab"},
        {"id": "tab2", "type": "tab"},
        {"id": "tab3", "type": "tab"},
        *called_flow("li1", name="double payload", z="tab2"),
        *called_flow("li2", name="double payload", z="tab3"),
        {"id": "call", "type": "link call", "z": "tab1", "linkType": "dynamic", "wires": [["s"]]},
        sink("s", "tab1"),
    ]
    async with run_flow(with_catch(nodes, "tab1")) as flow:
        await flow.inject("call", {"payload": 1, "target": "double payload"})
        [caught] = await flow.received("errors")
        assert "Multiple link-in nodes" in caught["error"]["message"]
        assert caught["target"] == "double payload"


async def test_dynamic_target_not_found_is_an_error() -> None:
    nodes = [{"id": "call", "type": "link call", "linkType": "dynamic", "wires": [["s"]]}, sink("s")]
    async with run_flow(with_catch(nodes)) as flow:
        await flow.inject("call", {"payload": 1, "target": "nowhere"})
        [caught] = await flow.received("errors")
        assert "not found" in caught["error"]["message"]


@pytest.mark.parametrize("timeout", ["0.03", None], ids=["0.03 s", "default 30 s"])
async def test_link_call_timeout_is_an_error_with_the_message_as_called(timeout: str | None) -> None:
    # Node-RED's own test: the called flow ends in a link out that is not in return mode.
    nodes = [
        {"id": "li", "type": "link in", "wires": [["double"]]},
        {"id": "double", "type": "test-double", "wires": [["lo"]]},
        {"id": "lo", "type": "link out", "mode": ""},
        {"id": "call", "type": "link call", "linkType": "static", "links": ["li"], "wires": [["s"]], **({"timeout": timeout} if timeout else {})},
        sink("s"),
    ]
    async with run_flow(with_catch(nodes)) as flow:
        start = asyncio.get_running_loop().time()
        await flow.inject("call", {"payload": 1, "target": "double payload"})
        [caught] = await flow.received("errors", timeout=60)
        assert flow.sink("errors").times[0] - start == pytest.approx(float(timeout or 30), abs=1e-6), "at exactly the timeout"
        assert caught["error"]["message"] == "timeout"
        assert caught["error"]["source"]["id"] == "call"
        assert caught["payload"] == 1 and caught["target"] == "double payload"
        assert caught["_linkSource"] == []  # as called: the stack exists, without this call's frame (as Node-RED)
        await flow.idle()
        assert flow.node("s").messages == []


async def test_return_without_a_caller_warns_and_drops(caplog: pytest.LogCaptureFixture) -> None:
    async with run_flow([{"id": "lo", "type": "link out", "mode": "return"}]) as flow:
        await flow.inject("lo", {"payload": 1})
        await flow.idle()
    assert "no msg._linkSource" in caplog.text


def test_static_link_call_needs_a_target() -> None:
    with pytest.raises(FlowError) as info:
        build([{"id": "call", "type": "link call", "links": []}])
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("call", "links")


def test_links_to_missing_or_wrong_typed_nodes_are_validation_errors() -> None:
    nodes = [
        {"id": "a", "type": "inject"},
        {"id": "lo", "type": "link out", "links": ["nope", "a"]},
        {"id": "lc", "type": "link call", "links": ["gone"]},
    ]
    with pytest.raises(FlowError) as caught:
        build(nodes)
    found = {(p.node_id, p.field, p.message) for p in caught.value.problems}
    assert ("lo", "links", "no node with id 'nope' (expected a link in)") in found
    assert ("lo", "links", "node 'a' is a 'inject', expected a link in") in found
    assert ("lc", "links", "no node with id 'gone' (expected a link in)") in found


def slow_called_flow(reply_after_ms: int) -> list[dict[str, Any]]:
    """A called flow that replies after a delay node."""
    return [
        {"id": "li", "type": "link in", "wires": [["wait"]]},
        {"id": "wait", "type": "delay", "pauseType": "delay", "timeout": reply_after_ms, "timeoutUnits": "milliseconds", "wires": [["ret"]]},
        {"id": "ret", "type": "link out", "mode": "return"},
        {"id": "call", "type": "link call", "links": ["li"], "timeout": "0.05", "wires": [["s"]]},
        sink("s"),
    ]


async def test_a_reply_within_the_timeout_cancels_it() -> None:
    async with run_flow(with_catch(slow_called_flow(20))) as flow:
        start = asyncio.get_running_loop().time()
        await flow.inject("call", {"payload": 1})
        await flow.received("s")
        await asyncio.sleep(1)  # twenty timeouts of loop time
        assert flow.sink("s").times[0] - start == pytest.approx(0.02, abs=1e-6)
        assert flow.sink("errors").messages == []


async def test_a_late_reply_comes_after_the_timeout_error() -> None:
    # Node-RED sends a reply that arrives after the timeout on all the same.
    async with run_flow(with_catch(slow_called_flow(100))) as flow:
        start = asyncio.get_running_loop().time()
        await flow.inject("call", {"payload": 1})
        [caught] = await flow.received("errors")
        [late] = await flow.received("s")
        assert caught["error"]["message"] == "timeout" and late["payload"] == 1
        assert flow.sink("errors").times[0] - start == pytest.approx(0.05, abs=1e-6)
        assert flow.sink("s").times[0] - start == pytest.approx(0.10, abs=1e-6)
