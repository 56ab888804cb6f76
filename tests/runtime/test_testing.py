"""runtime.testing itself: what a test sees must be exactly what a flow did."""

from __future__ import annotations

import asyncio

import pytest

from runtime.testing import run_flow


def _doubling_flow() -> list[dict[str, object]]:
    return [{"id": "j", "type": "junction", "wires": [["s", "s"]]}, {"id": "s", "type": "test-sink"}]


async def test_received_fails_on_a_message_beyond_the_count() -> None:
    async with run_flow(_doubling_flow()) as flow:
        await flow.inject("j", {"payload": 1})
        with pytest.raises(AssertionError, match="expected exactly 1"):
            await flow.received("s", count=1)


async def test_received_with_exact_off_returns_the_first_ones() -> None:
    async with run_flow(_doubling_flow()) as flow:
        await flow.inject("j", {"payload": 1})
        [first] = await flow.received("s", count=1, exact=False)
        assert first["payload"] == 1
        await flow.received("s", count=2)


@pytest.mark.looptime
async def test_sink_times_are_on_the_loops_clock() -> None:
    nodes = [{"id": "d", "type": "delay", "pauseType": "delay", "timeout": "30", "timeoutUnits": "seconds", "wires": [["s"]]}, {"id": "s", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        start = asyncio.get_running_loop().time()
        await flow.inject("d", {"payload": 1})
        await flow.received("s", timeout=60)
        assert flow.sink("s").times[0] - start == pytest.approx(30, abs=0.01), "30 s of loop time, not of wall time"
