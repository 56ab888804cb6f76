"""inject: message properties and value types, once with a delay, repeat, cron, input trigger."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow, wait_until


def inject(**props: Any) -> list[dict[str, Any]]:
    return [{"id": "t", "type": "tab"}, {"id": "i", "type": "inject", "z": "t", **props, "wires": [["out"]]}, {"id": "out", "type": "test-sink", "z": "t"}]


async def fire(**props: Any) -> dict[str, Any]:
    """Trigger the inject node through its input (the editor's button) and return what it sent."""
    async with run_flow(inject(**props)) as flow:
        flow.node("i").flow_context.set("limit", 3)
        flow.node("i").global_context.set("site", {"name": "north"})
        await flow.inject("i", {})
        [msg] = await flow.received("out")
    return msg


@pytest.mark.parametrize(
    ("payload", "payload_type", "expected"),
    [
        ("text", "str", "text"),
        ("12", "num", 12),
        ("true", "bool", True),
        ('{"a": [1, {"b": null}]}', "json", {"a": [1, {"b": None}]}),
        ("limit", "flow", 3),
        ("site.name", "global", "north"),
        ("[104, 105]", "bin", b"hi"),
        ("$string(1 + 2)", "jsonata", "3"),
    ],
)
async def test_payload_types(payload: str, payload_type: str, expected: Any) -> None:
    msg = await fire(payload=payload, payloadType=payload_type, topic="t1")
    assert msg["payload"] == expected
    assert msg["topic"] == "t1"
    assert isinstance(msg["_msgid"], str) and msg["_msgid"]


async def test_env_and_date_payloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INJECT_TEST_HOST", "box-1")
    assert (await fire(payload="INJECT_TEST_HOST", payloadType="env"))["payload"] == "box-1"
    before = int(time.time() * 1000)
    stamp = (await fire(payload="", payloadType="date"))["payload"]
    assert isinstance(stamp, int) and before <= stamp <= int(time.time() * 1000), "date is epoch milliseconds"


async def test_node_red_props_list_sets_any_properties() -> None:
    msg = await fire(
        props=[{"p": "payload"}, {"p": "topic", "vt": "str"}, {"p": "sensor.id", "v": "7", "vt": "num"}, {"p": "flag", "v": "true", "vt": "bool"}],
        payload="hello",
        payloadType="str",
        topic="readings",
    )
    assert {k: msg[k] for k in ("payload", "topic", "sensor", "flag")} == {"payload": "hello", "topic": "readings", "sensor": {"id": 7}, "flag": True}


async def test_each_injection_is_a_new_message() -> None:
    async with run_flow(inject(payload='{"n": 0}', payloadType="json")) as flow:
        await flow.inject("i", {})
        [first] = await flow.received("out")
        first["payload"]["n"] = 1
        await flow.inject("i", {})
        _, second = await flow.received("out", count=2)
    assert second["payload"] == {"n": 0}
    assert first["_msgid"] != second["_msgid"]


async def test_once_injects_after_the_delay_and_only_once() -> None:
    async with run_flow(inject(once=True, onceDelay=0.05, payload="start", payloadType="str")) as flow:
        started = asyncio.get_running_loop().time()
        [msg] = await flow.received("out")
        elapsed = asyncio.get_running_loop().time() - started
        await wait_until(lambda: flow.node("i")._task.done(), what="the schedule to end")
    assert msg["payload"] == "start"
    assert elapsed >= 0.04
    assert len(flow.node("out").messages) == 1


async def test_repeat_injects_every_interval_until_stopped() -> None:
    async with run_flow(inject(repeat=0.02, payload="tick", payloadType="str")) as flow:
        msgs = await flow.received("out", count=3)
    count = len(flow.node("out").messages)
    assert [m["payload"] for m in msgs] == ["tick"] * 3
    assert flow.node("i")._task.done(), "stopping the runtime stops the timer"
    assert len(flow.node("out").messages) == count


async def test_cron_injects_on_schedule() -> None:
    # croniter takes an optional sixth field for seconds: this fires every second.
    async with run_flow(inject(crontab="* * * * * *", payload="cron", payloadType="str")) as flow:
        [msg] = await flow.received("out", timeout=3)
    assert msg["payload"] == "cron"


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({"crontab": "every minute"}, "crontab"),
        ({"repeat": -1}, "repeat"),
        ({"repeat": "soon"}, "repeat"),
        ({"payload": "x", "payloadType": "num"}, "props"),
        ({"payload": "{", "payloadType": "json"}, "props"),
    ],
)
def test_bad_settings_are_validation_errors(props: dict[str, Any], field: str) -> None:
    with pytest.raises(FlowError) as info:
        build([{"id": "i", "type": "inject", **props}])
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("i", field)


def test_node_red_blank_repeat_means_no_repeat() -> None:
    runtime = build([{"id": "i", "type": "inject", "repeat": "", "onceDelay": ""}])
    props = runtime.graph.nodes["i"].props
    assert (props.repeat, props.onceDelay) == (0, 0.1)  # Node-RED: (n.onceDelay || 0.1)
