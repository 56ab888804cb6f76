"""What a flow that does not need them never loads: cold start and idle memory are features too.

aiohttp (the HTTP server) and redis-py (the Redis context store) are each a
large share of a cold start; a flow with no HTTP node and no redis store must
run without importing either. Node modules load when a flow first uses one
of their types (the families' `NODE_TYPES`), so a flow holds the code of the
node types it uses and of no others (nor paho, the OpenAI family, ...).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, sys
from runtime.testing import run_flow

async def main():
    async with run_flow([{"id": "i", "type": "inject", "once": True, "onceDelay": 0, "wires": ["d"]}, {"id": "d", "type": "debug", "tosidebar": False}]) as flow:
        await flow.idle()

asyncio.run(main())
print("loaded:", ",".join(m for m in ("aiohttp", "redis", "prometheus_client", "watchfiles", "paho", "jsonata", "quickjs") if m in sys.modules))
print("node modules:", ",".join(sorted(m for m in sys.modules if m.startswith("nodes."))))
"""


def test_a_flow_loads_only_the_node_modules_and_libraries_it_uses() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    loaded, modules = out.stdout.splitlines()[-2:]
    assert loaded == "loaded: ", out.stdout
    families = ["nodes.core", "nodes.http", "nodes.mqtt", "nodes.openai"]  # their packages only: the NODE_TYPES tables
    used = ["nodes.core.inject", "nodes.core.debug", "nodes.core._text", "nodes.core._jsvalues"]  # and what those two import
    assert modules == "node modules: " + ",".join(sorted([*families, *used]))
