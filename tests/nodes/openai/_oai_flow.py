"""Running one OpenAI node in a flow for a test: config → node → `out`, `catch` → `errs`, status → `st`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from _oai_common import KEY

from nodes.openai.emulator import RunningEmulator
from runtime.testing import Flow, run_flow


def config(emu: RunningEmulator, **extra: Any) -> dict[str, Any]:
    return {"id": "cfg", "type": "openai-config", "base_url": emu.base_url, "api_key": KEY, "api_key_type": "cred",
            "max_retries": 0, **extra}


@asynccontextmanager
async def one_node(emu: RunningEmulator, method: str, cfg: dict[str, Any] | None = None,
                   node_type: str = "openai-runs", **props: Any) -> AsyncIterator[Flow]:
    """config → node → `out`, with `errs` catching and `st` recording status changes."""
    nodes = [
        cfg or config(emu),
        {"id": "n", "type": node_type, "service": "cfg", "method": method, "wires": [["out"]], **props},
        {"id": "out", "type": "test-sink"},
        {"id": "c", "type": "catch", "wires": [["errs"]]},
        {"id": "errs", "type": "test-sink"},
        {"id": "s", "type": "status", "scope": ["n"], "wires": [["st"]]},
        {"id": "st", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        yield flow


async def ask(flow: Flow, payload: Any, *, exact: bool = True, **msg: Any) -> dict[str, Any]:
    """One request, its one answer (`exact=False` where more messages follow it, e.g. a socket's events)."""
    await flow.inject("n", {"payload": payload, **msg})
    [out] = await flow.received("out", 1, exact=exact)
    flow.node("out").messages.clear()
    return out


async def fails(flow: Flow, payload: Any) -> dict[str, Any]:
    await flow.inject("n", {"payload": payload, "topic": "t"})
    [err] = await flow.received("errs", 1)
    flow.node("errs").messages.clear()
    assert not flow.node("out").messages
    return err
