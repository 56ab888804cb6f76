"""trigger: first message, wait, second message; extend, reset, per topic, resend, outputs.

The tests run on looptime's fake clock and check when each message leaves
(`TestSink.times`): a wait that is too short, not extended, or a resend timer
that survives a reset shows as a wrong time or an extra message.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _clock import inject_at, now, offsets, payloads

from runtime import FlowError
from runtime.testing import build, run_flow, wait_until

pytestmark = pytest.mark.looptime

#: Looptime keeps exact times; the tolerance only absorbs float sums of intervals.
TOLERANCE = 1e-6


def trigger_flow(outputs: int = 1, **props: Any) -> list[dict[str, Any]]:
    return [
        {"id": "t", "type": "trigger", "duration": "20", "units": "ms", "outputs": outputs, "wires": [["out"], ["second"]][:outputs], **props},
        {"id": "out", "type": "test-sink"},
        {"id": "second", "type": "test-sink"},
    ]


async def test_defaults_send_1_at_once_then_0_after_the_duration() -> None:
    async with run_flow(trigger_flow()) as flow:
        start = now()
        await flow.inject("t", {"payload": "go", "topic": "x"})
        first, second = await flow.received("out", 2)
        assert (first["payload"], second["payload"]) == ("1", "0")
        assert second["topic"] == "x"  # the second message is a copy of the first
        assert offsets(flow, "out", start) == pytest.approx([0, 0.020], abs=TOLERANCE)


async def test_messages_while_triggered_are_ignored_without_extend() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", op2type="payl", duration="100")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(n * 0.01, {"payload": n, "topic": f"t{n}"}) for n in range(4)])
        msgs = await flow.received("out", 2)
        assert payloads(msgs) == ["a", 3]  # second payload: the latest payload (payl)
        assert msgs[1]["topic"] == "t3"  # ...as the whole latest message, as Node-RED 4 sends it
        assert offsets(flow, "out", start) == pytest.approx([0, 0.100], abs=TOLERANCE), "the wait is not extended"


async def test_extend_restarts_the_wait_and_builds_the_second_from_the_latest() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", extend="true", duration="100")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 0, "topic": "first"}), (0.05, {"payload": 1, "topic": "middle"}), (0.12, {"payload": 2, "topic": "latest"})])
        msgs = await flow.received("out", 2)
        assert payloads(msgs) == ["a", "b"]
        assert msgs[1]["topic"] == "latest"
        assert offsets(flow, "out", start) == pytest.approx([0, 0.220], abs=TOLERANCE), "100 ms after the last message"


async def test_reset_by_msg_reset_cancels_the_second_message() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="s")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1}), (0.5, {"reset": True})])
        await asyncio.sleep(5)  # five durations of loop time
        assert payloads(flow.sink("out").messages) == ["a"]
        assert flow.runtime.in_flight == 0, "the reset released the held message"
        await inject_at(flow, "t", start, [(6, {"payload": 2})])  # armed again after the reset
        assert payloads(await flow.received("out", 3, timeout=10)) == ["a", "a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 6, 7], abs=TOLERANCE)


async def test_reset_by_payload_value() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="s", reset="stop")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1}), (0.5, {"payload": "stop"})])
        await asyncio.sleep(5)
        assert payloads(flow.sink("out").messages) == ["a"]


async def test_by_topic_keeps_a_trigger_per_topic() -> None:
    async with run_flow(trigger_flow(op1="", op1type="pay", op2="", op2type="payl", bytopic="topic", duration="100")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"topic": "a", "payload": "a1"}), (0.03, {"topic": "b", "payload": "b1"}), (0.06, {"topic": "a", "payload": "a2"})])
        msgs = await flow.received("out", 4)
        assert [(m["topic"], m["payload"]) for m in msgs] == [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b1")]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.03, 0.10, 0.13], abs=TOLERANCE)


async def test_reset_of_one_topic_leaves_the_others() -> None:
    async with run_flow(trigger_flow(op1="on", op2="off", bytopic="topic", duration="100")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"topic": "a"}), (0, {"topic": "b"}), (0.05, {"topic": "a", "reset": True})])
        msgs = await flow.received("out", 3)
        assert [(m["topic"], m["payload"]) for m in msgs] == [("a", "on"), ("b", "on"), ("b", "off")]
        assert offsets(flow, "out", start) == pytest.approx([0, 0, 0.10], abs=TOLERANCE)


async def test_duration_zero_waits_until_reset() -> None:
    async with run_flow(trigger_flow(op1="on", duration="0")) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.inject("t", {"payload": 2})
        await asyncio.sleep(3600)  # an hour of loop time: still waiting for the reset
        assert payloads(flow.sink("out").messages) == ["on"]
        await flow.inject("t", {"reset": True})
        await flow.inject("t", {"payload": 3})
        assert payloads(await flow.received("out", 2)) == ["on", "on"]


RESEND = {"op1": "tick", "op2": "", "op2type": "nul", "duration": "-10"}


@pytest.mark.parametrize("reset", [{"reset": True}, {"payload": "stop"}], ids=["msg.reset", "reset payload"])
async def test_negative_duration_resends_every_interval_until_reset(reset: dict[str, Any]) -> None:
    async with run_flow(trigger_flow(reset="stop", **RESEND)) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1}), (0.055, reset)])
        assert offsets(flow, "out", start) == pytest.approx([0, 0.01, 0.02, 0.03, 0.04, 0.05], abs=TOLERANCE)
        assert payloads(flow.sink("out").messages) == ["tick"] * 6
        await asyncio.sleep(1)  # a hundred intervals of loop time
        assert len(flow.sink("out").messages) == 6, "the reset stopped the resend timer"
        assert not flow.node("t")._topics


async def test_a_message_during_resend_sends_at_once_and_restarts_the_interval() -> None:
    async with run_flow(trigger_flow(**RESEND)) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1}), (0.025, {"payload": 2}), (0.05, {"reset": True})])
        assert offsets(flow, "out", start) == pytest.approx([0, 0.01, 0.02, 0.025, 0.035, 0.045], abs=TOLERANCE)
        await asyncio.sleep(1)
        assert len(flow.sink("out").messages) == 6, "one resend timer, not two"


async def test_stopping_the_flow_stops_the_resend_timer() -> None:
    async with run_flow(trigger_flow(**RESEND)) as flow:
        await flow.inject("t", {"payload": 1})
        await asyncio.sleep(0.035)
        sink = flow.sink("out")
        assert len(sink.messages) == 4
    await asyncio.sleep(1)
    assert len(sink.messages) == 4


async def test_nothing_first_then_second() -> None:
    async with run_flow(trigger_flow(op1="", op1type="nul", op2="later", op2type="str")) as flow:
        start = now()
        await flow.inject("t", {"payload": 1})
        assert payloads(await flow.received("out")) == ["later"]
        assert offsets(flow, "out", start) == pytest.approx([0.020], abs=TOLERANCE)


async def test_original_payload_as_second() -> None:
    async with run_flow(trigger_flow(op1="x", op2="", op2type="pay")) as flow:
        await flow.inject("t", {"payload": "orig"})
        await flow.inject("t", {"payload": "ignored"})
        assert payloads(await flow.received("out", 2)) == ["x", "orig"]


async def test_second_message_on_its_own_output() -> None:
    async with run_flow(trigger_flow(outputs=2, op1="1", op2="0")) as flow:
        start = now()
        await flow.inject("t", {"payload": 1})
        assert payloads(await flow.received("second")) == ["0"]
        assert payloads(await flow.received("out")) == ["1"]
        assert offsets(flow, "second", start) == pytest.approx([0.020], abs=TOLERANCE)


async def test_override_delay_from_msg_delay() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="hr", overrideDelay=True)) as flow:
        start = now()
        await flow.inject("t", {"payload": 1, "delay": 15})
        assert payloads(await flow.received("out", 2)) == ["a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.015], abs=TOLERANCE)


async def test_typed_values_and_templates() -> None:
    async with run_flow(trigger_flow(op1="Hello {{payload}}", op1type="str", op2="level", op2type="flow")) as flow:
        flow.node("t").flow_context.set("level", 1)
        await flow.inject("t", {"payload": "you"})
        await wait_until(lambda: len(flow.node("out").messages) == 1)
        flow.node("t").flow_context.set("level", 2)  # flow/global are read again when the wait ends
        assert payloads(await flow.received("out", 2)) == ["Hello you", 2]


async def test_json_and_num_values() -> None:
    async with run_flow(trigger_flow(op1='{"a": 1}', op1type="json", op2="5", op2type="num")) as flow:
        await flow.inject("t", {"payload": 0})
        assert payloads(await flow.received("out", 2)) == [{"a": 1}, 5]


def test_bad_value_is_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build(trigger_flow(op1="{not json", op1type="json"))
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("t", "op1")
