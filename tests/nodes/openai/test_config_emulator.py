"""openai-config `emulator`: offline flows start the emulator in-process and point the shared client at it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from _oai_common import KEY

from nodes.openai.emulator import serve
from runtime import FlowError
from runtime.testing import build, run_flow

UNSET = "FLOWWIRE_TEST_KEY_THAT_IS_NEVER_SET"
QUESTION = {"assistant_id": "asst_flowwire_demo",
            "thread": {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}}


def _flow(**cfg: Any) -> list[dict[str, Any]]:
    return [
        {"id": "cfg", "type": "openai-config", "max_retries": 0, **cfg},
        {"id": "n", "type": "openai-runs", "service": "cfg", "method": "createThreadAndRun", "wait": True,
         "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]


async def test_auto_without_a_key_runs_the_emulator_with_the_demo_assistant(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with run_flow(_flow(api_key=UNSET, emulator="auto")) as f:
        await f.inject("n", {"payload": QUESTION})
        [msg] = await f.received("out", timeout=10)
        run = msg["payload"]
        assert run["status"] == "requires_action"
        [call] = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
        emulator = f.node("cfg")._emulator
        assert emulator is not None and f.node("cfg").shared.client.base_url == emulator.base_url + "/"
    assert f.node("cfg")._emulator is None  # closed with the flow
    offline = [r.getMessage() for r in caplog.records if "OFFLINE" in r.getMessage()]
    assert len(offline) == 1 and "emulator" in offline[0] and f"{UNSET} is not set" in offline[0]


async def test_auto_with_a_key_uses_the_configured_server() -> None:
    async with serve(api_key=KEY, demo=True) as emu:
        async with run_flow(_flow(api_key=KEY, api_key_type="cred", base_url=emu.base_url, emulator="auto")) as f:
            await f.inject("n", {"payload": QUESTION})
            [msg] = await f.received("out", timeout=10)
            assert f.node("cfg")._emulator is None
            assert msg["payload"]["status"] == "requires_action"
            assert any(r.path == "/v1/threads/runs" for r in emu.emulator.requests)


async def test_always_uses_the_emulator_even_with_a_key(emu_unreachable: str) -> None:
    async with run_flow(_flow(api_key="sk-real-looking", api_key_type="cred", base_url=emu_unreachable,
                              emulator="always")) as f:
        await f.inject("n", {"payload": QUESTION})
        [msg] = await f.received("out", timeout=10)
        assert msg["payload"]["status"] == "requires_action"


def test_auto_with_a_per_message_key_is_a_validation_error() -> None:
    with pytest.raises(FlowError, match="field 'emulator': 'auto' needs a key known at start"):
        build(_flow(api_key="key", api_key_type="msg", emulator="auto"))


@pytest.fixture
def emu_unreachable() -> str:
    return "http://127.0.0.1:9/v1"  # discard port: nothing answers there

