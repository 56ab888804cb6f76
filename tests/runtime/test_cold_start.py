"""What a flow that does not need them never loads: cold start and idle memory are features too.

aiohttp (the HTTP server) and redis-py (the Redis context store) are each a
large share of a cold start; a flow with no HTTP node and no redis store must
run without importing either.
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
print("loaded:", ",".join(m for m in ("aiohttp", "redis", "prometheus_client", "watchfiles") if m in sys.modules))
"""


def test_a_flow_without_http_or_redis_loads_neither() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "loaded:", out.stdout
