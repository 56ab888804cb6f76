"""inject: message properties and value types, once with a delay, repeat, cron, input trigger."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow

#: Timers run on looptime's clock: exact times, no wall-clock waits.
pytestmark = pytest.mark.looptime


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


def now() -> float:
    return asyncio.get_running_loop().time()


#: Looptime keeps exact times; the tolerance only absorbs float sums of intervals.
TOLERANCE = 1e-6


async def test_once_injects_after_the_delay_and_only_once() -> None:
    async with run_flow(inject(once=True, onceDelay=0.05, payload="start", payloadType="str")) as flow:
        start = now()
        [msg] = await flow.received("out")
        await asyncio.sleep(60)  # a minute of loop time: nothing else comes
        sink = flow.sink("out")
        assert [t - start for t in sink.times] == pytest.approx([0.05], abs=TOLERANCE)
        assert flow.node("i")._task.done(), "the schedule ended after the one injection"
    assert msg["payload"] == "start"
    assert len(sink.messages) == 1


async def test_repeat_injects_every_interval_until_stopped() -> None:
    async with run_flow(inject(repeat=0.02, payload="tick", payloadType="str")) as flow:
        start = now()
        await asyncio.sleep(0.105)
        sink = flow.sink("out")
        assert [t - start for t in sink.times] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.10], abs=TOLERANCE), "exactly 5 in 5 intervals"
        assert [m["payload"] for m in sink.messages] == ["tick"] * 5
        assert len({m["_msgid"] for m in sink.messages}) == 5, "each injection is a new message"
    await asyncio.sleep(1)  # fifty intervals of loop time after the flow stopped
    assert flow.node("i")._task.done(), "stopping the runtime stops the timer"
    assert len(sink.messages) == 5


async def test_once_then_repeat_counts_the_interval_from_the_first_injection() -> None:
    # Node-RED starts the repeat timer when the once-injection fires.
    async with run_flow(inject(once=True, onceDelay=0.5, repeat=2, payload="tick", payloadType="str")) as flow:
        start = now()
        await flow.received("out", 3, exact=False)
        await asyncio.sleep(1)
        assert [t - start for t in flow.sink("out").times] == pytest.approx([0.5, 2.5, 4.5], abs=TOLERANCE)


async def test_cron_injects_at_the_next_wall_clock_slot() -> None:
    # croniter takes an optional sixth field for seconds: this fires every second. The slot is
    # a wall-clock date; the wait runs on the loop clock, so looptime fast-forwards it.
    started, wall_before = now(), time.time()
    async with run_flow(inject(crontab="* * * * * *", payload="cron", payloadType="str")) as flow:
        [msg] = await flow.received("out", timeout=3, exact=False)
        wall_after = time.time()
        waited = flow.sink("out").times[0] - started
    assert msg["payload"] == "cron"
    assert 0 < waited <= 1
    # The node read the wall clock between wall_before and wall_after and waited until a whole second.
    assert math.floor(wall_after + waited) >= wall_before + waited, f"waited {waited:.3f} s: not up to a whole second of the wall clock"


async def test_cron_after_the_wall_clock_steps_forward_fires_at_the_next_slot_not_every_skipped_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # A device without a battery clock boots at a wrong time, then NTP steps the clock forward.
    real_time, offset = time.time, [0.0]
    monkeypatch.setattr(time, "time", lambda: real_time() + offset[0])
    async with run_flow(inject(crontab="* * * * * *", payload="cron", payloadType="str")) as flow:
        await flow.received("out", exact=False)
        offset[0] = 3600.0
        await asyncio.sleep(5)  # loop time; the wall clock is stepped, not the loop clock
        count = len(flow.sink("out").messages)
    assert 2 <= count <= 6, f"{count} injections in 5 s of a once-a-second cron"


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


async def test_the_repeat_stops_before_the_drain_so_the_drain_ends() -> None:
    # Held messages are drained at shutdown; a source that kept injecting would keep the drain busy.
    nodes = [
        {"id": "i", "type": "inject", "repeat": 0.02, "payload": "tick", "payloadType": "str", "wires": [["d"]]},
        {"id": "d", "type": "delay", "pauseType": "delay", "timeout": 50, "timeoutUnits": "milliseconds", "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        start = now()
        await asyncio.sleep(0.105)
        sink = flow.sink("out")
        assert len(sink.messages) == 2  # injected at 20 and 40 ms; 60, 80 and 100 ms are still delayed
    assert [t - start for t in sink.times] == pytest.approx([0.07, 0.09, 0.11, 0.13, 0.15], abs=TOLERANCE)
