"""Timing helpers for tests on the loop clock (`looptime` fast-forwards it): when things arrive, and sending on a schedule."""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.testing import Flow


def payloads(msgs: list[dict[str, Any]]) -> list[Any]:
    return [m.get("payload") for m in msgs]


def now() -> float:
    return asyncio.get_running_loop().time()


def offsets(flow: Flow, sink_id: str, start: float) -> list[float]:
    """When each message reached the sink, in seconds after `start` (loop clock)."""
    return [t - start for t in flow.sink(sink_id).times]


async def inject_at(flow: Flow, node_id: str, start: float, schedule: list[tuple[float, dict[str, Any]]]) -> None:
    """Deliver each message to the node at its offset (seconds after `start`, loop clock)."""
    for at, msg in schedule:
        await asyncio.sleep(max(0.0, start + at - now()))
        await flow.inject(node_id, msg)
