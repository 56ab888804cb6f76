"""Loading the node families must not load the OpenAI SDK: flows without OpenAI nodes stay small and start fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_registering_the_node_types_imports_neither_the_sdk_nor_its_transport_nor_the_emulator() -> None:
    loaded = _loaded_after("import runtime._registry as r; r.load_builtins(); assert r.lookup('openai-runs')")
    assert not {"openai", "aiohttp", "nodes.openai.emulator", "nodes.openai._client"} & loaded


def test_the_sdk_is_loaded_when_a_flow_with_an_openai_node_starts() -> None:
    loaded = _loaded_after(
        "import asyncio\n"
        "from runtime.testing import run_flow\n"
        "async def main():\n"
        "    async with run_flow([{'id': 'c', 'type': 'openai-config', 'api_key': 'k', 'api_key_type': 'cred'},\n"
        "                         {'id': 'n', 'type': 'openai-runs', 'service': 'c', 'method': 'getRun'}]):\n"
        "        pass\n"
        "asyncio.run(main())")
    assert {"openai", "nodes.openai._client"} <= loaded and "nodes.openai.emulator" not in loaded
