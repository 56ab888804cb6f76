"""trigger: first message, wait, second message; extend, reset, per topic, resend, outputs."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow, wait_until


def trigger_flow(outputs: int = 1, **props: Any) -> list[dict[str, Any]]:
    return [
        {"id": "t", "type": "trigger", "duration": "20", "units": "ms", "outputs": outputs, "wires": [["out"], ["second"]][:outputs], **props},
        {"id": "out", "type": "test-sink"},
        {"id": "second", "type": "test-sink"},
    ]


def payloads(msgs: list[dict[str, Any]]) -> list[Any]:
    return [m.get("payload") for m in msgs]


async def test_defaults_send_1_then_0() -> None:
    async with run_flow(trigger_flow()) as flow:
        await flow.inject("t", {"payload": "go", "topic": "x"})
        first, second = await flow.received("out", 2)
        assert (first["payload"], second["payload"]) == ("1", "0")
        assert second["topic"] == "x"  # the second message is a copy of the first


async def test_messages_while_triggered_are_ignored_without_extend() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", op2type="payl", duration="100")) as flow:
        for n in range(4):
            await flow.inject("t", {"payload": n, "topic": f"t{n}"})
        await flow.idle()
        msgs = flow.node("out").messages
        assert payloads(msgs) == ["a", 3]  # second payload: the latest payload (payl)
        assert msgs[1]["topic"] == "t3"  # ...as the whole latest message, as Node-RED 4 sends it


async def test_extend_restarts_the_wait_and_builds_the_second_from_the_latest() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", extend="true", duration="100")) as flow:
        node = flow.node("t")
        await flow.inject("t", {"payload": 0, "topic": "first"})
        first_timer = node._topics["_none"].handle
        await flow.inject("t", {"payload": 1, "topic": "latest"})
        assert node._topics["_none"].handle is not first_timer and first_timer.cancelled()
        await flow.idle()
        msgs = flow.node("out").messages
        assert payloads(msgs) == ["a", "b"]
        assert msgs[1]["topic"] == "latest"


async def test_reset_by_msg_reset_cancels_the_second_message() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="s")) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.inject("t", {"reset": True})
        await flow.idle(timeout=1)
        assert payloads(flow.node("out").messages) == ["a"]
        await flow.inject("t", {"payload": 2})  # armed again after the reset
        assert payloads(await flow.received("out", 2, timeout=1)) == ["a", "a"]
        await flow.inject("t", {"reset": True})


async def test_reset_by_payload_value() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="s", reset="stop")) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.inject("t", {"payload": "stop"})
        await flow.idle(timeout=1)
        assert payloads(flow.node("out").messages) == ["a"]


async def test_by_topic_keeps_a_trigger_per_topic() -> None:
    async with run_flow(trigger_flow(op1="", op1type="pay", op2="", op2type="payl", bytopic="topic", duration="100")) as flow:
        await flow.inject("t", {"topic": "a", "payload": "a1"})
        await flow.inject("t", {"topic": "b", "payload": "b1"})
        await flow.inject("t", {"topic": "a", "payload": "a2"})
        await flow.idle()
        msgs = flow.node("out").messages
        assert [(m["topic"], m["payload"]) for m in msgs[:2]] == [("a", "a1"), ("b", "b1")]
        assert sorted((m["topic"], m["payload"]) for m in msgs[2:]) == [("a", "a2"), ("b", "b1")]


async def test_duration_zero_waits_until_reset() -> None:
    async with run_flow(trigger_flow(op1="on", duration="0")) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.inject("t", {"payload": 2})
        await flow.idle()
        assert payloads(flow.node("out").messages) == ["on"]
        await flow.inject("t", {"reset": True})
        await flow.inject("t", {"payload": 3})
        assert payloads(await flow.received("out", 2)) == ["on", "on"]


async def test_negative_duration_resends_until_reset() -> None:
    async with run_flow(trigger_flow(op1="tick", op2="", op2type="nul", duration="-10")) as flow:
        await flow.inject("t", {"payload": 1})
        assert payloads(await flow.received("out", 3)) == ["tick"] * 3
        await flow.inject("t", {"reset": True})
        await wait_until(lambda: not flow.node("t")._topics, what="reset")
        count = len(flow.node("out").messages)
        await flow.idle()
        assert len(flow.node("out").messages) == count


async def test_nothing_first_then_second() -> None:
    async with run_flow(trigger_flow(op1="", op1type="nul", op2="later", op2type="str")) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.idle()
        assert payloads(flow.node("out").messages) == ["later"]


async def test_original_payload_as_second() -> None:
    async with run_flow(trigger_flow(op1="x", op2="", op2type="pay")) as flow:
        await flow.inject("t", {"payload": "orig"})
        await flow.inject("t", {"payload": "ignored"})
        await flow.idle()
        assert payloads(flow.node("out").messages) == ["x", "orig"]


async def test_second_message_on_its_own_output() -> None:
    async with run_flow(trigger_flow(outputs=2, op1="1", op2="0")) as flow:
        await flow.inject("t", {"payload": 1})
        await flow.idle()
        assert payloads(flow.node("out").messages) == ["1"]
        assert payloads(flow.node("second").messages) == ["0"]


async def test_override_delay_from_msg_delay() -> None:
    async with run_flow(trigger_flow(op1="a", op2="b", duration="1", units="hr", overrideDelay=True)) as flow:
        await flow.inject("t", {"payload": 1, "delay": 15})
        assert payloads(await flow.received("out", 2)) == ["a", "b"]


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
