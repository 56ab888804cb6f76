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
from _observe import observed, statuses

from runtime import FlowError
from runtime.testing import build, run_flow

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


def without_msgid(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k != "_msgid"}


# -- what the node checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "problem"),
    [
        ({"pauseType": "rate", "rate": 0}, ("rate", "must be more than 0 messages")),
        ({"pauseType": "queue", "rate": 0}, ("rate", "must be more than 0 messages")),
        ({"pauseType": "timed", "rate": -1}, ("rate", "must be more than 0 messages")),
        ({"pauseType": "delay", "timeout": -1}, ("timeout", "must be 0 or more")),
        ({"pauseType": "random", "randomFirst": 5, "randomLast": 4}, ("randomLast", "must not be less than randomFirst")),
        ({"outputs": 3}, ("outputs", "must be 1 or 2")),
    ],
)
def test_settings_that_cannot_work_are_validation_errors_at_their_field(props: dict[str, Any], problem: tuple[str, str]) -> None:
    with pytest.raises(FlowError) as info:
        build(delay_flow(**props))
    assert [(p.node_id, p.field, p.message) for p in info.value.problems] == [("d", *problem)]


@pytest.mark.parametrize(
    "props",
    [
        {"pauseType": "delay", "timeout": 0},
        {"pauseType": "rate", "rate": 0.5, "timeout": -1},  # the delay only matters in delay mode
        {"pauseType": "delay", "rate": 0},  # ... and the rate only in the rate modes
        {"pauseType": "random", "randomFirst": 5, "randomLast": 5},
        {"pauseType": "delay", "randomFirst": 5, "randomLast": 4},
        {"outputs": 2},
    ],
)
def test_settings_at_their_limits_are_valid(props: dict[str, Any]) -> None:
    build(delay_flow(**props))


# -- delays -------------------------------------------------------------------------------


async def test_fixed_delay_sends_each_message_exactly_its_delay_after_it_arrived() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=50, timeoutUnits="milliseconds")) as flow:
        start = now()
        await inject_at(flow, "d", start, [(0, {"payload": 0}), (0.010, {"payload": 1}), (0.025, {"payload": 2, "delay": 5})])
        assert flow.sink("out").messages == []  # not yet: delayed (msg.delay counts in delayv mode only)
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


async def test_a_delay_mode_node_with_a_rate_of_0_delays_as_configured() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=10, timeoutUnits="milliseconds", rate=0)) as flow:
        start = now()
        await flow.inject("d", {"payload": 1})
        assert payloads(await flow.received("out")) == [1]
        assert offsets(flow, "out", start) == pytest.approx([0.010], abs=TOLERANCE)


async def test_flush_takes_a_count_and_true_means_all_and_a_bare_flush_from_a_wire_is_not_sent() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=10, timeoutUnits="seconds")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n})
        # Flush messages from a wire carry a _msgid: still bare flushes, not messages to delay.
        await inject_at(flow, "d", start, [(1, {"_msgid": "f0", "flush": 0}), (2, {"_msgid": "f1", "flush": -1}), (3, {"_msgid": "f2", "flush": True})])
        assert payloads(await flow.received("out", 3, exact=False)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([3, 3, 3], abs=TOLERANCE), "0 and -1 flush nothing, true flushes all"
        await asyncio.sleep(20)  # past every delay: nothing else was kept
        flow.assert_no_more("out", 3)


async def test_a_delay_longer_than_a_second_shows_how_many_messages_wait() -> None:
    # Node-RED shows the count only for delays over a second (and always in delayv mode).
    async with run_flow(observed(delay_flow(pauseType="delay", timeout=2, timeoutUnits="seconds"), "d")) as flow:
        start = now()
        await inject_at(flow, "d", start, [(0, {"payload": 0}), (0.5, {"payload": 1}), (3, {"payload": 2}), (3.5, {"reset": True})])
        await flow.settle()
        assert payloads(flow.sink("out").messages) == [0, 1]
        assert statuses(flow) == [("blue", "dot", "1"), ("blue", "dot", "2"), ("blue", "dot", "1"), ("blue", "dot", "0"), ("blue", "dot", "1"), ("blue", "ring", "0")]
        assert offsets(flow, "statuses", start) == pytest.approx([0, 0.5, 2, 2.5, 3, 3.5], abs=TOLERANCE)
        assert flow.sink("errors").messages == []


@pytest.mark.parametrize(
    ("props", "shown"),
    [
        ({"pauseType": "delay", "timeout": 1, "timeoutUnits": "seconds"}, []),
        ({"pauseType": "delayv", "timeout": 10, "timeoutUnits": "milliseconds"}, [("blue", "dot", "1"), ("blue", "dot", "0")]),
    ],
    ids=["delay of 1 s", "delayv"],
)
async def test_a_delay_of_a_second_or_less_shows_no_count_but_delayv_always_does(props: dict[str, Any], shown: list[Any]) -> None:
    async with run_flow(observed(delay_flow(**props), "d")) as flow:
        await flow.inject("d", {"payload": 1})
        await flow.received("out")
        assert statuses(flow) == shown


@pytest.mark.parametrize(
    "props",
    [
        {"pauseType": "delay", "timeout": 50, "timeoutUnits": "milliseconds"},
        {"pauseType": "rate", "rate": 20, "rateUnits": "second"},
        {"pauseType": "queue", "rate": 1, "nbRateUnits": 0.05, "rateUnits": "second"},
    ],
    ids=["delay", "rate", "queue"],
)
async def test_a_message_is_complete_when_it_leaves_the_node(props: dict[str, Any]) -> None:
    async with run_flow(observed(delay_flow(**props), "d")) as flow:
        start = now()
        await flow.inject("d", {"topic": "a", "payload": 1})
        await flow.inject("d", {"topic": "b", "payload": 2})
        await flow.received("out", 2)
        await flow.received("completed", 2)
        assert offsets(flow, "completed", start) == offsets(flow, "out", start)
        assert payloads(flow.sink("completed").messages) == [1, 2]


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


@pytest.mark.parametrize(
    ("rate", "nb_rate_units", "interval"),
    [(1, 0.02, 0.02), (20, 0, 0.05)],
    ids=["1 per 0.02 s", "nbRateUnits 0 counts as 1"],
)
async def test_rate_limit_with_nb_rate_units(rate: float, nb_rate_units: float, interval: float) -> None:
    # nbRateUnits scales the interval: `rate` messages per `nbRateUnits` seconds.
    async with run_flow(delay_flow(pauseType="rate", rate=rate, nbRateUnits=nb_rate_units, rateUnits="second")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n})
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, interval, 2 * interval], abs=TOLERANCE)


async def test_rate_limit_shows_the_queue_depth_at_most_every_half_second() -> None:
    async with run_flow(observed(delay_flow(pauseType="rate", rate=1, rateUnits="second"), "d")) as flow:
        start = now()
        for n in range(4):
            await flow.inject("d", {"payload": n})
        await asyncio.sleep(5)
        assert payloads(flow.sink("out").messages) == [0, 1, 2, 3]
        assert statuses(flow) == [("blue", "dot", str(n)) for n in (3, 2, 1, 0, 0)]
        assert offsets(flow, "statuses", start) == pytest.approx([0.5, 1.5, 2.5, 3.5, 4.5], abs=TOLERANCE)
        assert flow.sink("errors").messages == []


async def test_rate_limit_flush_and_reset_show_what_is_left() -> None:
    async with run_flow(observed(delay_flow(pauseType="rate", rate=1, rateUnits="second"), "d")) as flow:
        start = now()
        for n in range(4):
            await flow.inject("d", {"payload": n})
        await inject_at(flow, "d", start, [(0.2, {"flush": 1}), (1.5, {"reset": True})])
        await asyncio.sleep(5)
        assert payloads(flow.sink("out").messages) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.2, 1.2], abs=TOLERANCE)
        assert statuses(flow) == [("blue", "dot", "2"), ("blue", "dot", "2"), ("blue", "ring", "0"), ("blue", "dot", "0")]
        assert offsets(flow, "statuses", start) == pytest.approx([0.2, 0.5, 1.5, 1.7], abs=TOLERANCE)


async def test_rate_limit_flush_0_pauses_the_queue_until_the_next_message() -> None:
    # Node-RED: flush 0 stops the interval; the next message finds it stopped, goes at once and restarts it.
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute")) as flow:
        start = now()
        for n in range(3):
            await flow.inject("d", {"payload": n})
        await inject_at(flow, "d", start, [(10, {"flush": 0}), (100, {"payload": 3})])
        assert payloads(await flow.received("out", 4, timeout=300)) == [0, 3, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, 100, 160, 220], abs=TOLERANCE)


async def test_rate_limit_reset_with_flush_while_idle_sends_the_message_without_its_controls() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute")) as flow:
        await flow.inject("d", {"payload": "x", "reset": True, "flush": True})
        [msg] = await flow.received("out")
        assert without_msgid(msg) == {"payload": "x"}


async def test_rate_limit_queue_over_node_message_buffer_max_length_is_dropped_with_an_error() -> None:
    flow_data = delay_flow(settings={"nodeMessageBufferMaxLength": 2}, pauseType="rate", rate=1, rateUnits="minute")
    async with run_flow(observed(flow_data, "d")) as flow:
        for n in range(4):
            await flow.inject("d", {"payload": n})
        [error] = await flow.received("errors")
        assert error["error"]["message"] == "too many queued messages (nodeMessageBufferMaxLength); the queue was dropped"
        assert error["payload"] == 3
        await asyncio.sleep(180)  # three intervals: the queue is empty
        assert payloads(flow.sink("out").messages) == [0]
        flow.assert_no_more("errors", 1)
        assert flow.runtime.in_flight == 0


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


async def test_rate_limit_drop_sends_only_after_more_than_an_interval() -> None:
    # Node-RED: sent when the time since the last one sent is more than the interval, not equal.
    async with run_flow(delay_flow(pauseType="rate", rate=20, rateUnits="second", drop=True)) as flow:
        start = now()
        await inject_at(flow, "d", start, [(0, {"payload": 0}), (0.05, {"payload": 50}), (0.051, {"payload": 51})])
        assert payloads(await flow.received("out", 2)) == [0, 51]


async def test_rate_limit_drop_takes_msg_rate_and_reset_restores_the_configured_rate() -> None:
    async with run_flow(observed(delay_flow(pauseType="rate", rate=1, rateUnits="minute", drop=True, allowrate=True), "d")) as flow:
        start = now()
        schedule = [(0, {"payload": 0, "rate": 10}), (0.02, {"payload": 1}), (0.03, {"reset": True}), (0.04, {"payload": 2}), (0.06, {"payload": 3})]
        await inject_at(flow, "d", start, schedule)
        assert payloads(await flow.received("out", 3)) == [0, 1, 2], "10 ms apart, then a minute again"
        assert statuses(flow) == [("blue", "ring", "0")]
        assert flow.sink("errors").messages == []


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


@pytest.mark.parametrize("ms", [10, 1])
async def test_rate_limit_msg_rate_override(ms: int) -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute", allowrate=True)) as flow:
        start = now()
        await flow.inject("d", {"payload": 0})
        await flow.inject("d", {"payload": 1, "rate": ms})  # ms between messages from now on
        await flow.inject("d", {"payload": 2})
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, ms / 1000, 2 * ms / 1000], abs=TOLERANCE)


async def test_rate_limit_msg_rate_that_is_not_a_positive_number_is_ignored() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=20, rateUnits="second", allowrate=True)) as flow:
        start = now()
        for n, rate in enumerate((0, -5, "soon")):
            await flow.inject("d", {"payload": n, "rate": rate})
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.05, 0.10], abs=TOLERANCE)


async def test_rate_limit_msg_rate_equal_to_the_current_one_keeps_the_interval_running() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute", allowrate=True)) as flow:
        start = now()
        await inject_at(flow, "d", start, [(0, {"payload": 0, "rate": 10}), (0.005, {"payload": 1, "rate": 10}), (0.012, {"payload": 2})])
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]
        assert offsets(flow, "out", start) == pytest.approx([0, 0.01, 0.02], abs=TOLERANCE), "ticks every 10 ms from the first message"


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


async def test_per_topic_reset_drops_the_queue_without_sending_to_the_second_output() -> None:
    # A bare reset is a control message: it replaces no queued message (not even the topic-less "_none_" one).
    async with run_flow(delay_flow(outputs=2, pauseType="queue", rate=1, rateUnits="minute")) as flow:
        await flow.inject("d", {"payload": "no topic"})
        await flow.inject("d", {"payload": "a", "topic": "a"})
        await flow.inject("d", {"reset": True})
        await asyncio.sleep(120)
        assert flow.sink("out").messages == []
        assert flow.sink("dropped").messages == []
        assert flow.runtime.in_flight == 0


async def test_per_topic_message_without_topic_gets_none_topic() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, nbRateUnits=0.01, rateUnits="second")) as flow:
        await flow.inject("d", {"payload": 1})
        [msg] = await flow.received("out")
        assert msg["topic"] == "_none_"  # as Node-RED does


async def test_per_topic_control_messages_are_not_queued_and_messages_with_flush_are() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, rateUnits="minute")) as flow:
        start = now()
        await flow.inject("d", {"topic": "a", "payload": "a1"})
        await flow.inject("d", {"topic": "b", "payload": "b1"})
        await inject_at(flow, "d", start, [
            (1, {"_msgid": "m1", "topic": "x", "flush": 1}),  # a control message from a wire: flushes a1
            (2, {"topic": "b", "payload": "b2", "flush": 1}),  # replaces b1, then flushes itself
            (3, {"topic": "c"}),  # a message with nothing but a topic is still a message
        ])
        msgs = await flow.received("out", 3, timeout=120)
        assert [(m["topic"], m.get("payload")) for m in msgs] == [("a", "a1"), ("b", "b2"), ("c", None)]
        assert offsets(flow, "out", start) == pytest.approx([1, 2, 60], abs=TOLERANCE)
        assert "flush" not in msgs[1]
        await asyncio.sleep(120)
        flow.assert_no_more("out", 3)


async def test_per_topic_reset_restores_the_configured_rate_and_says_reset() -> None:
    async with run_flow(observed(delay_flow(pauseType="queue", rate=1, nbRateUnits=0.1, rateUnits="second", allowrate=True), "d")) as flow:
        start = now()
        schedule = [(0, {"topic": "a", "payload": "a1", "rate": 10}), (0.015, {"reset": True}), (0.03, {"topic": "b", "payload": "b1"})]
        await inject_at(flow, "d", start, schedule)
        assert payloads(await flow.received("out", 2)) == ["a1", "b1"]
        # msg.rate restarted the interval at 10 ms; the reset puts it back to 100 ms from the next tick (20 ms).
        assert offsets(flow, "out", start) == pytest.approx([0.01, 0.12], abs=TOLERANCE)
        assert (None, None, "reset") in statuses(flow)
        assert flow.sink("errors").messages == []


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


@pytest.mark.parametrize(
    ("props", "sent", "left"),
    [
        ({"pauseType": "delay", "timeout": 1, "timeoutUnits": "hours"}, [], 2),
        ({"pauseType": "rate", "rate": 1, "rateUnits": "hour"}, [0], 1),
    ],
    ids=["delayed", "queued"],
)
async def test_what_outlasts_the_drain_is_dropped_with_a_warning(props: dict[str, Any], sent: list[int], left: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with run_flow(delay_flow(settings={"drainTimeout": 0.05}, **props)) as flow:
        await flow.inject("d", {"payload": 0})
        await flow.inject("d", {"payload": 1})
        runtime = flow.runtime
        sink = flow.sink("out")
    assert runtime.in_flight == 0
    assert payloads(sink.messages) == sent
    assert f"closing with {left} message(s) still delayed or queued; they are dropped" in caplog.text
