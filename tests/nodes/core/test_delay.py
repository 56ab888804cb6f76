"""delay: fixed/variable/random delays, rate limits (all messages and per topic), reset, flush.

Timings are short (tens of ms) and the tests assert what arrives and in which
order, waiting on the sinks, never on wall-clock measurements.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from runtime.testing import run_flow, wait_until


def delay_flow(outputs: int = 1, settings: dict[str, Any] | None = None, **props: Any) -> Any:
    wires = [["out"], ["dropped"]][:outputs]
    nodes = [
        {"id": "d", "type": "delay", "wires": wires, "outputs": outputs, **props},
        {"id": "out", "type": "test-sink"},
        {"id": "dropped", "type": "test-sink"},
    ]
    return {"settings": settings, "nodes": nodes} if settings else nodes


def payloads(msgs: list[dict[str, Any]]) -> list[Any]:
    return [m.get("payload") for m in msgs]


# -- delays -------------------------------------------------------------------------------


async def test_fixed_delay_holds_then_sends_in_order() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=50, timeoutUnits="milliseconds")) as flow:
        for n in range(3):
            await flow.inject("d", {"payload": n})
        assert flow.node("out").messages == []  # not yet: delayed
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]


async def test_held_messages_keep_the_flow_busy_until_sent() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=30, timeoutUnits="milliseconds")) as flow:
        await flow.inject("d", {"payload": "x"})
        assert flow.runtime.in_flight == 1
        await flow.idle()
        assert payloads(flow.node("out").messages) == ["x"]


async def test_delayv_takes_msg_delay_in_milliseconds() -> None:
    async with run_flow(delay_flow(pauseType="delayv", timeout=5, timeoutUnits="seconds")) as flow:
        await flow.inject("d", {"payload": "slow", "delay": 80})
        await flow.inject("d", {"payload": "fast", "delay": "10"})
        assert payloads(await flow.received("out", 2)) == ["fast", "slow"]


async def test_random_delay_within_range() -> None:
    async with run_flow(delay_flow(pauseType="random", randomFirst=40, randomLast=60, randomUnits="milliseconds")) as flow:
        for n in range(5):
            await flow.inject("d", {"payload": n})
        assert flow.node("out").messages == []
        assert sorted(payloads(await flow.received("out", 5))) == [0, 1, 2, 3, 4]


async def test_reset_drops_everything_pending_including_itself() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=10, timeoutUnits="seconds")) as flow:
        await flow.inject("d", {"payload": 1})
        await flow.inject("d", {"payload": 2})
        await flow.inject("d", {"payload": 3, "reset": True})
        await flow.idle(timeout=1)
        assert flow.node("out").messages == []


async def test_flush_sends_pending_now_and_a_bare_flush_is_not_sent() -> None:
    async with run_flow(delay_flow(pauseType="delay", timeout=10, timeoutUnits="seconds")) as flow:
        for n in range(3):
            await flow.inject("d", {"payload": n})
        await flow.inject("d", {"flush": 2})
        assert payloads(await flow.received("out", 2, timeout=1)) == [0, 1]
        await flow.inject("d", {"flush": True})
        assert payloads(await flow.received("out", 3, timeout=1)) == [0, 1, 2]
        await flow.idle(timeout=1)
        assert len(flow.node("out").messages) == 3


# -- rate limit, all messages --------------------------------------------------------------


async def test_rate_limit_queues_and_releases_one_per_interval() -> None:
    # 20 messages per second = one every 50 ms; the first goes at once, the rest are queued.
    async with run_flow(delay_flow(pauseType="rate", rate=20, nbRateUnits=1, rateUnits="second")) as flow:
        for n in range(5):
            await flow.inject("d", {"payload": n})
        assert payloads(flow.node("out").messages) == [0]
        assert len(flow.node("d")._buffer) == 4
        assert payloads(await flow.received("out", 5)) == [0, 1, 2, 3, 4]


async def test_rate_limit_with_nb_rate_units() -> None:
    # nbRateUnits scales the interval: 1 message per 0.02 seconds.
    async with run_flow(delay_flow(pauseType="rate", rate=1, nbRateUnits=0.02, rateUnits="second")) as flow:
        assert flow.node("d")._rate == pytest.approx(0.02)
        for n in range(3):
            await flow.inject("d", {"payload": n})
        assert payloads(await flow.received("out", 3)) == [0, 1, 2]


async def test_rate_limit_drop_intermediate() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute", drop=True)) as flow:
        for n in range(4):
            await flow.inject("d", {"payload": n})
        await flow.idle()
        assert payloads(flow.node("out").messages) == [0]


async def test_rate_limit_drop_to_second_output() -> None:
    async with run_flow(delay_flow(outputs=2, pauseType="rate", rate=1, rateUnits="minute", drop=True)) as flow:
        for n in range(4):
            await flow.inject("d", {"payload": n})
        await flow.idle()
        assert payloads(flow.node("out").messages) == [0]
        assert payloads(flow.node("dropped").messages) == [1, 2, 3]


async def test_rate_limit_reset_empties_the_queue() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute")) as flow:
        for n in range(3):
            await flow.inject("d", {"payload": n})
        await flow.inject("d", {"reset": True})
        await flow.idle(timeout=1)
        assert payloads(flow.node("out").messages) == [0]
        await flow.inject("d", {"payload": "after"})  # the limit starts afresh
        assert payloads(await flow.received("out", 2, timeout=1)) == [0, "after"]


async def test_rate_limit_flush_releases_queued_messages() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute")) as flow:
        for n in range(4):
            await flow.inject("d", {"payload": n})
        await flow.inject("d", {"flush": 2})
        assert payloads(await flow.received("out", 3, timeout=1)) == [0, 1, 2]
        assert len(flow.node("d")._buffer) == 1
        await flow.inject("d", {"reset": True})  # the last one would wait a minute


async def test_rate_limit_msg_rate_override() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=1, rateUnits="minute", allowrate=True)) as flow:
        await flow.inject("d", {"payload": 0})
        await flow.inject("d", {"payload": 1, "rate": 10})  # 10 ms between messages from now on
        assert payloads(await flow.received("out", 2, timeout=2)) == [0, 1]


# -- rate limit per topic -------------------------------------------------------------------


async def test_per_topic_queue_keeps_the_latest_per_topic_and_sends_one_per_interval() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, nbRateUnits=0.05, rateUnits="second")) as flow:
        for topic, n in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3)]:
            await flow.inject("d", {"topic": topic, "payload": f"{topic}{n}"})
        assert flow.node("out").messages == []
        assert payloads(await flow.received("out", 3)) == ["a3", "b1", "c1"]
        await flow.idle()


async def test_per_topic_timed_sends_all_topics_each_interval() -> None:
    async with run_flow(delay_flow(pauseType="timed", rate=1, nbRateUnits=0.03, rateUnits="second")) as flow:
        node = flow.node("d")
        for topic, n in [("a", 1), ("b", 1), ("a", 2)]:
            await flow.inject("d", {"topic": topic, "payload": f"{topic}{n}"})
        await wait_until(lambda: not node._buffer and len(flow.node("out").messages) == 2, what="release")
        assert payloads(flow.node("out").messages) == ["a2", "b1"]


async def test_per_topic_replaced_messages_go_to_second_output() -> None:
    async with run_flow(delay_flow(outputs=2, pauseType="queue", rate=1, nbRateUnits=0.03, rateUnits="second")) as flow:
        await flow.inject("d", {"topic": "a", "payload": 1})
        await flow.inject("d", {"topic": "a", "payload": 2})
        assert payloads(flow.node("dropped").messages) == [1]
        assert payloads(await flow.received("out")) == [2]


async def test_per_topic_message_without_topic_gets_none_topic() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, nbRateUnits=0.01, rateUnits="second")) as flow:
        await flow.inject("d", {"payload": 1})
        [msg] = await flow.received("out")
        assert msg["topic"] == "_none_"  # as Node-RED does


async def test_per_topic_flush_and_reset() -> None:
    async with run_flow(delay_flow(pauseType="queue", rate=1, rateUnits="minute")) as flow:
        for topic in "abc":
            await flow.inject("d", {"topic": topic, "payload": topic})
        await flow.inject("d", {"flush": 1})
        assert payloads(await flow.received("out", 1, timeout=1)) == ["a"]
        await flow.inject("d", {"reset": True})
        await flow.idle(timeout=1)
        assert payloads(flow.node("out").messages) == ["a"]


# -- shutdown -----------------------------------------------------------------------------------


async def test_rate_limit_keeps_pacing_during_the_drain() -> None:
    async with run_flow(delay_flow(pauseType="rate", rate=50, rateUnits="second")) as flow:
        for n in range(4):
            await flow.inject("d", {"payload": n})
        sink = flow.node("out")
    assert payloads(sink.messages) == [0, 1, 2, 3]  # stop() drained the queue at the rate


async def test_what_outlasts_the_drain_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with run_flow(delay_flow(settings={"drainTimeout": 0.05}, pauseType="delay", timeout=1, timeoutUnits="hours")) as flow:
        await flow.inject("d", {"payload": 1})
        runtime = flow.runtime
    assert runtime.in_flight == 0
    assert "1 message(s) still delayed or queued; they are dropped" in caplog.text

