"""trigger: first message, wait, second message; extend, reset, per topic, resend, outputs.

The tests run on looptime's fake clock and check when each message leaves
(`TestSink.times`): a wait that is too short, not extended, or a resend timer
that survives a reset shows as a wrong time or an extra message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from _clock import inject_at, now, offsets, payloads
from _observe import observed, statuses

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


def without_msgid(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k != "_msgid"}


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


async def test_extend_with_the_latest_payload_sends_the_latest_message_whole() -> None:
    async with run_flow(trigger_flow(op1="a", op2="", op2type="payl", extend=True, duration="100")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 0, "topic": "first"}), (0.05, {"payload": 1, "topic": "latest"})])
        first, second = await flow.received("out", 2)
        assert without_msgid(second) == {"payload": 1, "topic": "latest"}
        assert offsets(flow, "out", start) == pytest.approx([0, 0.150], abs=TOLERANCE)


async def test_the_latest_message_as_second_is_the_message_as_it_arrived() -> None:
    # Node-RED keeps a copy of the message as it arrived, before op1 set its payload.
    async with run_flow(trigger_flow(op2="", op2type="payl")) as flow:
        await flow.inject("t", {"topic": "no payload"})
        first, second = await flow.received("out", 2)
        assert without_msgid(first) == {"topic": "no payload", "payload": "1"}
        assert without_msgid(second) == {"topic": "no payload"}


async def test_extend_uses_the_latest_msg_delay_and_finishes_each_message_when_replaced_or_sent() -> None:
    props = {"op1": "a", "op2": "b", "extend": True, "duration": "100", "overrideDelay": True}
    async with run_flow(observed(trigger_flow(**props), "t")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 0}), (0.05, {"payload": 1, "delay": 30})])
        assert payloads(await flow.received("out", 2)) == ["a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.080], abs=TOLERANCE)
        assert payloads(await flow.received("completed", 2)) == ["a", 1]
        assert offsets(flow, "completed", start) == pytest.approx([0.05, 0.080], abs=TOLERANCE)
        assert flow.runtime.in_flight == 0


async def test_extend_without_a_second_message_sends_nothing_more() -> None:
    async with run_flow(observed(trigger_flow(op1="a", op2="", op2type="nul", extend=True, duration="100"), "t")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 0}), (0.05, {"payload": 1})])
        await asyncio.sleep(1)
        assert payloads(flow.sink("out").messages) == ["a"]
        assert offsets(flow, "completed", start) == pytest.approx([0, 0.05], abs=TOLERANCE), "nothing waits for a second message"
        assert flow.runtime.in_flight == 0


async def test_a_message_is_complete_when_its_second_message_is_sent() -> None:
    async with run_flow(observed(trigger_flow(), "t")) as flow:
        start = now()
        await flow.inject("t", {"payload": "x"})
        await flow.received("out", 2)
        [done] = await flow.received("completed")
        assert offsets(flow, "completed", start) == pytest.approx([0.020], abs=TOLERANCE)
        assert done["payload"] == "1"


async def test_without_a_second_message_a_message_is_complete_at_once() -> None:
    async with run_flow(observed(trigger_flow(op2="", op2type="nul"), "t")) as flow:
        start = now()
        await flow.inject("t", {"payload": "x"})
        assert payloads(await flow.received("completed")) == ["1"]
        assert offsets(flow, "completed", start) == [0]
        await asyncio.sleep(1)
        assert payloads(flow.sink("out").messages) == ["1"]
        assert flow.runtime.in_flight == 0


async def test_status_shows_a_dot_while_triggered_with_the_count_of_topics_when_more_than_one() -> None:
    async with run_flow(observed(trigger_flow(bytopic="topic", duration="100"), "t")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"topic": "a"}), (0.01, {"topic": "b"}), (0.02, {"topic": "b", "reset": True})])
        await asyncio.sleep(1)
        dot = ("blue", "dot")
        assert statuses(flow) == [(*dot, None), (*dot, "2"), (*dot, None), (None, None, None)]
        assert offsets(flow, "statuses", start) == pytest.approx([0, 0.01, 0.02, 0.1], abs=TOLERANCE)


async def test_a_message_without_a_topic_is_triggered_as_topic_none() -> None:
    # Node-RED files a message without a topic under "_none": a message whose topic is "_none" shares its trigger.
    async with run_flow(trigger_flow(bytopic="topic", op1="", op1type="pay", duration="100")) as flow:
        await flow.inject("t", {"payload": "no topic"})
        await flow.inject("t", {"payload": "topic _none", "topic": "_none"})
        assert payloads(await flow.received("out", 2)) == ["no topic", "0"]


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


@pytest.mark.parametrize("extend", [False, True])
async def test_duration_zero_waits_until_reset(extend: bool) -> None:
    async with run_flow(trigger_flow(op1="on", duration="0", extend=extend)) as flow:
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


async def test_without_a_reset_value_an_empty_payload_is_a_message() -> None:
    async with run_flow(trigger_flow(op1="on", op2="off", duration="100")) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1}), (0.05, {"payload": ""})])
        assert payloads(await flow.received("out", 2)) == ["on", "off"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.1], abs=TOLERANCE)


async def test_resending_nothing_sends_nothing() -> None:
    async with run_flow(trigger_flow(**{**RESEND, "op1": "", "op1type": "nul"})) as flow:
        await flow.inject("t", {"payload": 1})
        await asyncio.sleep(1)
        assert flow.sink("out").messages == []


async def test_stopping_the_flow_stops_the_resend_timer_while_the_drain_waits_for_others() -> None:
    nodes = [*trigger_flow(**RESEND), {"id": "slow", "type": "delay", "timeout": 1, "timeoutUnits": "seconds", "wires": [["slow-out"]]}, {"id": "slow-out", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.inject("slow", {"payload": "slow"})
        await asyncio.sleep(0.035)
        sink = flow.sink("out")
    assert payloads(flow.sink("slow-out").messages) == ["slow"], "the drain waited for the delay"
    assert len(sink.messages) == 4


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


async def test_msg_delay_is_ignored_without_override_delay() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="20")) as flow:
        start = now()
        await flow.inject("t", {"payload": 1, "delay": 5})
        assert payloads(await flow.received("out", 2)) == ["a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.020], abs=TOLERANCE)


async def test_override_delay_from_msg_delay() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="hr", overrideDelay=True)) as flow:
        start = now()
        await flow.inject("t", {"payload": 1, "delay": 15})
        assert payloads(await flow.received("out", 2)) == ["a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.015], abs=TOLERANCE)


async def test_an_overriding_msg_delay_of_0_waits_for_a_reset_as_a_duration_of_0_does() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="20", overrideDelay=True)) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1, "delay": 0}), (0.5, {"payload": 2}), (1.0, {"reset": True}), (1.1, {"payload": 3})])
        assert payloads(await flow.received("out", 3)) == ["a", "a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 1.1, 1.12], abs=TOLERANCE), "nothing more until the reset"


async def test_an_overriding_msg_delay_times_a_trigger_whose_duration_is_0() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="0", overrideDelay=True)) as flow:
        start = now()
        await flow.inject("t", {"payload": 1, "delay": 40})
        assert payloads(await flow.received("out", 2)) == ["a", "b"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.04], abs=TOLERANCE)


async def test_an_overriding_msg_delay_sets_the_resend_interval() -> None:
    async with run_flow(trigger_flow(overrideDelay=True, **RESEND)) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1, "delay": 25}), (0.06, {"reset": True})])
        assert offsets(flow, "out", start) == pytest.approx([0, 0.025, 0.05], abs=TOLERANCE)


async def test_each_resend_of_a_date_is_stamped_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter(range(1000, 100_000, 1000))
    monkeypatch.setattr("runtime.properties.time.time", lambda: next(readings))
    async with run_flow(trigger_flow(**{**RESEND, "op1": "", "op1type": "date"})) as flow:
        start = now()
        await inject_at(flow, "t", start, [(0, {"payload": 1}), (0.035, {"reset": True})])
        assert payloads(flow.sink("out").messages) == [1_000_000, 2_000_000, 3_000_000, 4_000_000], "Node-RED's Date.now() on every resend"


@pytest.mark.parametrize("scope", ["flow", "global"])
async def test_typed_values_and_templates(scope: str) -> None:
    async with run_flow(trigger_flow(op1="Hello {{payload}}", op1type="str", op2="level", op2type=scope)) as flow:
        context = getattr(flow.node("t"), f"{scope}_context")
        context.set("level", 1)
        await flow.inject("t", {"payload": "you"})
        await wait_until(lambda: len(flow.node("out").messages) == 1)
        context.set("level", 2)  # flow/global are read again when the wait ends
        assert payloads(await flow.received("out", 2)) == ["Hello you", 2]


async def test_op1_from_context_and_op2_from_the_message_as_it_arrived() -> None:
    async with run_flow(trigger_flow(op1="greeting", op1type="flow", op2="payload", op2type="msg")) as flow:
        flow.node("t").flow_context.set("greeting", "hi")
        await flow.inject("t", {"payload": "original"})
        assert payloads(await flow.received("out", 2)) == ["hi", "original"]


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("null", None), ("5", "5"), ("{{payload}}", "p")])
async def test_legacy_val_values_are_booleans_null_or_text(value: str, expected: Any) -> None:
    async with run_flow(trigger_flow(op1=value, op1type="val", op2=value, op2type="val")) as flow:
        await flow.inject("t", {"payload": "p"})
        assert payloads(await flow.received("out", 2)) == [expected, expected]


async def test_a_json_value_with_braces_is_not_a_template() -> None:
    async with run_flow(trigger_flow(op1='{"t": "{{payload}}"}', op1type="json")) as flow:
        await flow.inject("t", {"payload": "p"})
        assert payloads(await flow.received("out", 2)) == [{"t": "{{payload}}"}, "0"]


async def test_a_first_value_that_fails_is_an_error_and_the_next_message_triggers_afresh() -> None:
    async with run_flow(observed(trigger_flow(op1='$number(payload)', op1type="jsonata"), "t")) as flow:
        await flow.inject("t", {"payload": "abc"})
        [error] = await flow.received("errors")
        assert error["error"]["message"] == "JSONata expression '$number(payload)' failed: could not convert string to float: 'abc'"
        await flow.inject("t", {"payload": "5"})
        assert payloads(await flow.received("out", 2)) == [5, "0"]


async def test_json_and_num_values() -> None:
    async with run_flow(trigger_flow(op1='{"a": 1}', op1type="json", op2="5", op2type="num")) as flow:
        await flow.inject("t", {"payload": 0})
        assert payloads(await flow.received("out", 2)) == [{"a": 1}, 5]


@pytest.mark.parametrize(
    ("props", "field", "message"),
    [
        ({"op1": "{not json", "op1type": "json"}, "op1", "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ({"op2": "x", "op2type": "num"}, "op2", "'x' is not a number"),
        ({"outputs": 3}, "outputs", "must be 1 or 2"),
        ({"bytopic": "topic", "topic": "a..b"}, "topic", "cannot parse property path 'a..b' at position 2"),
    ],
)
def test_bad_settings_are_validation_errors_at_their_field(props: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(FlowError) as info:
        build(trigger_flow(**props))
    assert [(p.node_id, p.field, p.message) for p in info.value.problems] == [("t", field, message)]


async def test_second_messages_that_outlast_the_drain_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    nodes = trigger_flow(bytopic="topic", duration="1", units="hr")
    async with run_flow({"settings": {"drainTimeout": 0.05}, "nodes": nodes}) as flow:
        await flow.inject("t", {"topic": "a"})
        await flow.inject("t", {"topic": "b"})
        runtime = flow.runtime
    assert runtime.in_flight == 0
    assert "closing with 2 second message(s) not yet sent; they are dropped" in caplog.text
