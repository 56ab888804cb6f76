"""delay: fixed/variable/random delays, rate limits (all messages and per topic), reset, flush.

Every test runs on looptime's fake clock: timers fire at once in wall time but
at their exact loop time, so arrival times (`TestSink.times`) are checked to
the millisecond without waiting, and a pacing bug shows as a wrong time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from _clock import inject_at, now, offsets, payloads

from runtime.testing import run_flow

pytestmark = pytest.mark.looptime

#: Looptime keeps exact times; the tolerance only absorbs float sums of intervals.
TOLERANCE = 1e-6


def delay_flow(outputs: int = 1, settings: dict[str, Any] | None = None, **props: Any) -> Any:
    wires = [["out"], ["dropped"]][:outputs]
    nodes = [
        {"id": "d", "type": "delay", "wires": wires, "outputs": outputs, **props},
        {"id": "out", "type": "test-sink"},
        {"id": "dropped", "type": "test-sink"},
    ]
    return {"settings": settings, "nodes": nodes} if settings else nodes


# -- delays -------------------------------------------------------------------------------


async def test_fixed_delay_sends_each_message_exactly_its_delay_after_it_arrived() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=50, timeoutUnits="milliseconds")) as flow:
        start = now()
        await inject_at(flow, "d", start, [(0, {"payload": 0}), (0.010, {"payload": 1}), (0.025, {"payload": 2})])
        assert flow.sink("out").messages == []  # not yet: delayed
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0.050, 0.060, 0.075], abs=TOLERANCE)


async def test_held_messages_keep_the_flow_busy_until_sent() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=30, timeoutUnits="milliseconds")) as flow:
        await flow.inject("d", {"payload": "x"})
        assert flow.runtime.in_flight == 1
        await flow.idle()
        assert payloads(flow.sink("out").messages) == ["x"]


async def test_delayv_takes_msg_delay_in_milliseconds_else_the_configured_delay() -> None:
    async with run_flow(delay_flow(pauseType="delayv", timeout=5, timeoutUnits="seconds")) as flow:
        start = now()
        await flow.inject("d", {"payload": "slow", "delay": 80})
        await flow.inject("d", {"payload": "fast", "delay": "10"})
        await flow.inject("d", {"payload": "default"})
        await flow.inject("d", {"payload": "not a number", "delay": "soon"})
        await flow.inject("d", {"payload": "negative", "delay": -20})
        msgs = await flow.received("out", 5, timeout=10)
        assert payloads(msgs) == ["negative", "fast", "slow", "default", "not a number"]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.010, 0.080, 5, 5], abs=TOLERANCE)


async def test_random_delay_stays_within_its_range_and_varies() -> None:
    async with run_flow(delay_flow(pauseType="random", randomFirst=40, randomLast=60, randomUnits="milliseconds")) as flow:
        start = now()
        for n in range(50):
            await flow.inject("d", {"payload": n})
        assert flow.sink("out").messages == []
        msgs = await flow.received("out", 50)
        waits = offsets(flow, "out", start)
    assert sorted(payloads(msgs)) == list(range(50))
    assert all(0.040 - TOLERANCE <= w <= 0.060 + TOLERANCE for w in waits), f"outside [40, 60] ms: {waits}"
    assert len(set(waits)) > 1, "random delays that are all equal are not random"
    # Uniform over the range: 50 draws all in the middle half has odds of 2**-50.
    assert min(waits) < 0.045 and max(waits) > 0.055, f"not spread over the range: {min(waits)}..{max(waits)}"


async def test_reset_drops_everything_pending_including_itself() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=10, timeoutUnits="seconds")) as flow:
        start = now()
        await flow.inject("d", {"payload": 1})
        await flow.inject("d", {"payload": 2})
        await flow.inject("d", {"payload": 3, "reset": True})
        await flow.idle(timeout=1)
        assert flow.runtime.in_flight == 0
        await inject_at(flow, "d", start, [(1, {"payload": "after"})])  # a later message gets its own full delay
        assert payloads(await flow.received("out", 1, timeout=20)) == ["after"]
        assert offsets(flow, "out", start) == pytest.approx([11], abs=TOLERANCE)


async def test_flush_sends_pending_now_and_a_bare_flush_is_not_sent() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=10, timeoutUnits="seconds")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n})
        await inject_at(flow, "d", start, [(1, {"flush": 2})])
        assert payloads(await flow.received("out", 2, exact=False)) == [0, 1]
        await flow.settle()
        assert len(flow.sink("out").messages) == 2, "flush 2 sends the first two only"
        assert payloads(await flow.received("out", 3, timeout=20)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([1, 1, 10], abs=TOLERANCE), "the third keeps its own timer"
        await flow.inject("d", {"payload": 3})
        await flow.inject("d", {"flush": True})
        assert payloads(await flow.received("out", 4)) == [0, 1, 2, 3]


# -- rate limit, all messages --------------------------------------------------------------


async def test_rate_limit_sends_the_first_at_once_then_one_per_interval() -> None:
    # Node-RED: the first message goes at once and starts the interval; each tick sends one
    # queued message; a tick that finds the queue empty stops the interval.
    async with run_flow(delay_flow(pauseType="rate", rate=20, nbRateUnits=1, rateUnits="second")) as flow:
        start = now()
        for n in range(5):
            await flow.inject("d", {"payload": n})
        assert payloads(flow.sink("out").messages) == [0]
        assert payloads(await flow.received("out", 5)) == [0, 1, 2, 3, 4]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.05, 0.10, 0.15, 0.20], abs=TOLERANCE)
        # The tick at 250 ms found the queue empty: the next message goes at once, the one after a tick later.
        await inject_at(flow, "d", start, [(0.3, {"payload": 5}), (0.31, {"payload": 6})])
        assert payloads(await flow.received("out", 7)) == [0, 1, 2, 3, 4, 5, 6]
        assert offsets(flow, "out", start)[5:] == pytest.approx([0.30, 0.35], abs=TOLERANCE)


async def test_rate_limit_with_nb_rate_units() -> None:
    # nbRateUnits scales the interval: 1 message per 0.02 seconds.
    async with run_flow(delay_flow(pauseType="rate", rate=1, nbRateUnits=0.02, rateUnits="second")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n})
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.02, 0.04], abs=TOLERANCE)


DROP_SCHEDULE = [(at / 1000, {"payload": at}) for at in (0, 20, 40, 60, 80, 100, 130)]


async def test_rate_limit_drop_sends_only_messages_an_interval_apart() -> None:
    # 20 per second: a message is sent when more than 50 ms passed since the last one sent.
    async with run_flow(delay_flow(pauseType="rate", rate=20, rateUnits="second", drop=True)) as flow:
        start = now()
        await inject_at(flow, "d", start, DROP_SCHEDULE)
        assert payloads(await flow.received("out", 3)) == [0, 60, 130]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.06, 0.13], abs=TOLERANCE), "sent at once, never queued"
        assert flow.sink("dropped").messages == []


async def test_rate_limit_drop_to_second_output() -> None:
    async with run_flow(delay_flow(outputs=2, pauseType="rate", rate=20, rateUnits="second", drop=True)) as flow:
        start = now()
        await inject_at(flow, "d", start, DROP_SCHEDULE)
        assert payloads(await flow.received("out", 3)) == [0, 60, 130]
        assert payloads(await flow.received("dropped", 4)) == [20, 40, 80, 100]
        assert offsets(flow, "dropped", start) == pytest.approx([0.02, 0.04, 0.08, 0.10], abs=TOLERANCE)


async def test_rate_limit_drop_reset_lets_the_next_message_through() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute", drop=True)) as flow:
        await flow.inject("d", {"payload": 1})
        await flow.inject("d", {"payload": 2})
        await flow.inject("d", {"reset": True})
        await flow.inject("d", {"payload": 3})
        assert payloads(await flow.received("out", 2)) == [1, 3]


async def test_rate_limit_reset_empties_the_queue() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n})
        await flow.inject("d", {"reset": True})
        await flow.idle(timeout=1)
        assert payloads(flow.sink("out").messages) == [0]
        await inject_at(flow, "d", start, [(1, {"payload": "after"}), (1, {"payload": "paced"})])  # the limit starts afresh
        assert payloads(await flow.received("out", 3, timeout=120)) == [0, "after", "paced"]
        assert offsets(flow, "out", start) == pytest.approx([0, 1, 61], abs=TOLERANCE)


async def test_rate_limit_flush_releases_queued_messages_and_keeps_the_rest_paced() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute")) as flow:
        start = now()
        for n in range(4):
            await flow.inject("d", {"payload": n})
        await inject_at(flow, "d", start, [(10, {"flush": 2})])
        assert payloads(await flow.received("out", 3, exact=False)) == [0, 1, 2]
        await flow.settle()
        assert len(flow.sink("out").messages) == 3, "flush 2 releases two"
        # The flush restarted the interval: the last one goes a full interval after it.
        assert payloads(await flow.received("out", 4, timeout=120)) == [0, 1, 2, 3]
        assert offsets(flow, "out", start) == pytest.approx([0, 10, 10, 70], abs=TOLERANCE)


async def test_rate_limit_msg_rate_override() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute", allowrate=True)) as flow:
        start = now()
        await flow.inject("d", {"payload": 0})
        await flow.inject("d", {"payload": 1, "rate": 10})  # 10 ms between messages from now on
        await flow.inject("d", {"payload": 2})
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.01, 0.02], abs=TOLERANCE)


async def test_rate_limit_msg_rate_is_ignored_unless_allowed() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=20, rateUnits="second")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n, "rate": 1})
        await flow.received("out", 3)
        assert offsets(flow, "out", start) == pytest.approx([0, 0.05, 0.10], abs=TOLERANCE)


async def test_rate_limit_to_front_jumps_the_queue() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=20, rateUnits="second")) as flow:
        for msg in ({"payload": 0}, {"payload": 1}, {"payload": 2}, {"payload": "urgent", "toFront": True}):
            await flow.inject("d", msg)
        assert payloads(await flow.received("out", 4)) == [0, "urgent", 1, 2]


# -- rate limit per topic -------------------------------------------------------------------


async def test_per_topic_queue_keeps_the_latest_per_topic_and_sends_one_per_interval() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, nbRateUnits=0.05, rateUnits="second")) as flow:
        start = now()  # the interval runs from the node's start, as Node-RED's setInterval
        for topic, n in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3)]:
            await flow.inject("d", {"topic": topic, "payload": f"{topic}{n}"})
        assert flow.sink("out").messages == []
        assert payloads(await flow.received("out", 3)) == ["a3", "b1", "c1"]
        assert offsets(flow, "out", start) == pytest.approx([0.05, 0.10, 0.15], abs=TOLERANCE)
        # The interval keeps ticking while the queue is empty: a message waits for the next tick.
        await inject_at(flow, "d", start, [(0.17, {"topic": "d", "payload": "d1"})])
        assert payloads(await flow.received("out", 4)) == ["a3", "b1", "c1", "d1"]
        assert offsets(flow, "out", start)[3] == pytest.approx(0.20, abs=TOLERANCE)


async def test_per_topic_timed_sends_all_topics_each_interval() -> None:
    async with run_flow(delay_flow(pauseType="timed", rate=1, nbRateUnits=0.03, rateUnits="second")) as flow:
        start = now()
        for topic, n in [("a", 1), ("b", 1), ("a", 2)]:
            await flow.inject("d", {"topic": topic, "payload": f"{topic}{n}"})
        assert payloads(await flow.received("out", 2)) == ["a2", "b1"]
        await inject_at(flow, "d", start, [(0.04, {"topic": "c", "payload": "c1"})])
        assert payloads(await flow.received("out", 3)) == ["a2", "b1", "c1"]
        assert offsets(flow, "out", start) == pytest.approx([0.03, 0.03, 0.06], abs=TOLERANCE)


async def test_per_topic_replaced_messages_go_to_second_output_at_once() -> None:
    async with run_flow(delay_flow(outputs=2, pauseType="queue", rate=1, nbRateUnits=0.03, rateUnits="second")) as flow:
        start = now()
        await flow.inject("d", {"topic": "a", "payload": 1})
        await inject_at(flow, "d", start, [(0.01, {"topic": "a", "payload": 2})])
        assert payloads(flow.sink("dropped").messages) == [1]
        assert payloads(await flow.received("out")) == [2]
        assert offsets(flow, "dropped", start) == pytest.approx([0.01], abs=TOLERANCE)
        assert offsets(flow, "out", start) == pytest.approx([0.03], abs=TOLERANCE)


async def test_per_topic_message_without_topic_gets_none_topic() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, nbRateUnits=0.01, rateUnits="second")) as flow:
        await flow.inject("d", {"payload": 1})
        [msg] = await flow.received("out")
        assert msg["topic"] == "_none_"  # as Node-RED does


async def test_per_topic_flush_and_reset() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, rateUnits="minute")) as flow:
        start = now()
        for topic in "abc":
            await flow.inject("d", {"topic": topic, "payload": topic})
        await inject_at(flow, "d", start, [(1, {"flush": 1})])
        assert payloads(await flow.received("out", 1, exact=False)) == ["a"]
        assert offsets(flow, "out", start) == pytest.approx([1], abs=TOLERANCE)
        await flow.inject("d", {"reset": True})
        await asyncio.sleep(120)  # two intervals of loop time: nothing is left to send
        assert payloads(flow.sink("out").messages) == ["a"]


# -- shutdown -----------------------------------------------------------------------------------


async def test_rate_limit_keeps_pacing_during_the_drain() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=50, rateUnits="second")) as flow:
        start = now()
        for n in range(4):
            await flow.inject("d", {"payload": n})
        sink = flow.sink("out")
    assert payloads(sink.messages) == [0, 1, 2, 3]  # stop() drained the queue at the rate
    assert [t - start for t in sink.times] == pytest.approx([0, 0.02, 0.04, 0.06], abs=TOLERANCE)


async def test_what_outlasts_the_drain_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with run_flow(delay_flow(settings={"drainTimeout": 0.05}, pauseType="delay", timeout=1, timeoutUnits="hours")) as flow:
        await flow.inject("d", {"payload": 1})
        runtime = flow.runtime
        sink = flow.sink("out")
    assert runtime.in_flight == 0
    assert sink.messages == []
    assert "1 message(s) still delayed or queued; they are dropped" in caplog.text
