"""bench/openai: createRun through the openai-runs node vs the bare SDK, against a 50 ms server.

    python bench/openai/run.py [--n 2000] [--closed 10] [--closed-n 600] [--delay-ms 50] [--runs 1]

Scenarios, all in this one process and run (compare ratios, not absolute numbers
from different days): the bare SDK on its aiohttp transport and on its httpx
transport (2,000 calls at once, at most 100 connections, as the node's
default), the node path (2,000 messages injected at once into openai-runs →
sink), and both with 10 requests in flight (closed loop). Printed per
scenario: completed calls/s, p50/p99 latency, TCP connections the server saw.

The server is ../shared/bench/nodered/fake_openai.py (the same one the
Node-RED figures were measured with) run as a separate process so its CPU is
not ours; `--server` points elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", category=DeprecationWarning)

import httpx2  # noqa: E402
import openai  # noqa: E402

from runtime import Node, register  # noqa: E402
from runtime.testing import run_flow  # noqa: E402

DEFAULT_SERVER = ROOT.parent / "shared" / "bench" / "nodered" / "fake_openai.py"
KEY = "sk-bench-not-a-secret"
RUN_BODY = {"assistant_id": "asst_bench"}


@register("bench-sink")
class BenchSink(Node):
    """Records arrival times; in closed-loop mode hands each arrival to a callback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.errors = 0
        self.done = asyncio.Event()
        self.expected = 0
        self.on_arrival: Any = None

    def on_input(self, msg: dict[str, Any]) -> None:
        if "error" in msg:
            self.errors += 1
        else:
            self.latencies.append(time.perf_counter() - msg["t0"])
        if self.on_arrival is not None:
            self.on_arrival()
        if len(self.latencies) + self.errors >= self.expected:
            self.done.set()


def _get(port: int, path: str) -> Any:
    method = "POST" if path == "/__reset" else "GET"
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method), timeout=10) as r:
        return json.load(r)


def _report(name: str, n: int, elapsed: float, lat: list[float], port: int, errors: int = 0) -> dict[str, Any]:
    stats = _get(port, "/__stats")
    lat_ms = sorted(x * 1000 for x in lat)
    p99 = lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))] if lat_ms else 0.0
    row = {"scenario": name, "calls": n, "errors": errors, "calls_per_s": len(lat) / elapsed,
           "p50_ms": statistics.median(lat_ms) if lat_ms else 0.0, "p99_ms": p99,
           "tcp_connections": stats["connections"], "peak_open_conns": stats["peak_open_conns"]}
    print(f"{name:<34} {row['calls_per_s']:>8,.0f} calls/s  p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  "
          f"TCP conns {row['tcp_connections']:>4} (peak open {row['peak_open_conns']})"
          + (f"  errors {errors}" if errors else ""), flush=True)
    return row


# -- bare SDK ----------------------------------------------------------------------------------------
async def bare_sdk(port: int, base_url: str, transport: str, n: int, in_flight: int) -> dict[str, Any]:
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    http = openai.DefaultAioHttpClient(limits=limits) if transport == "aiohttp" else \
        openai.DefaultAsyncHttpxClient(limits=limits)
    client = openai.AsyncOpenAI(api_key=KEY, base_url=base_url, http_client=http, max_retries=0)
    runs = client.beta.threads.runs
    await runs.create("thread_warm", **RUN_BODY)  # connection + lazy imports outside the measurement
    _get(port, "/__reset")
    gate = asyncio.Semaphore(in_flight)
    lat: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            t0 = time.perf_counter()
            await runs.create(f"thread_{i}", **RUN_BODY)
            lat.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    await client.close()
    label = f"bare SDK ({transport})" + (" burst" if in_flight >= n else f" {in_flight} in flight")
    return _report(label, n, elapsed, lat, port)


# -- the node path -----------------------------------------------------------------------------------
def _flow(base_url: str, transport: str) -> list[dict[str, Any]]:
    return [
        {"id": "cfg", "type": "openai-config", "base_url": base_url, "api_key": KEY, "api_key_type": "cred",
         "max_retries": 0, "transport": transport},
        {"id": "run", "type": "openai-runs", "service": "cfg", "method": "createRun", "wires": [["sink"]]},
        {"id": "catch", "type": "catch", "wires": [["sink"]]},
        {"id": "sink", "type": "bench-sink"},
    ]


async def node_path(port: int, base_url: str, transport: str, n: int, in_flight: int) -> dict[str, Any]:
    async with run_flow(_flow(base_url, transport)) as flow:
        sink: BenchSink = flow.node("sink")
        router = flow.runtime._router
        target = flow.node("run")

        def inject(i: int) -> None:  # what flow.inject does, minus its per-message yield
            token = router.token(None)
            router.enqueue(target, {"payload": {"thread_id": f"thread_{i}", **RUN_BODY}, "t0": time.perf_counter()}, token)
            token.release()

        sink.expected = 1
        inject(-1)  # warm-up: connection, lazy SDK imports, validators
        await asyncio.wait_for(sink.done.wait(), 30)
        sink.latencies.clear()
        sink.done.clear()
        _get(port, "/__reset")
        sink.expected = n
        start = time.perf_counter()
        if in_flight >= n:
            for i in range(n):
                inject(i)
        else:
            sent = in_flight

            def next_one() -> None:
                nonlocal sent
                if sent < n:
                    inject(sent)
                    sent += 1

            sink.on_arrival = next_one
            for i in range(in_flight):
                inject(i)
        await asyncio.wait_for(sink.done.wait(), 300)
        elapsed = time.perf_counter() - start
    label = f"openai-runs node ({transport})" + (" burst" if in_flight >= n else f" {in_flight} in flight")
    return _report(label, n, elapsed, sink.latencies, port, sink.errors)


async def main_async(a: argparse.Namespace, port: int) -> list[dict[str, Any]]:
    base_url = f"http://127.0.0.1:{port}/v1"
    rows: list[dict[str, Any]] = []
    for run in range(a.runs):
        if a.runs > 1:
            print(f"-- run {run + 1}")
        rows.append(await bare_sdk(port, base_url, "aiohttp", a.n, a.n))
        rows.append(await bare_sdk(port, base_url, "httpx", a.n, a.n))
        rows.append(await node_path(port, base_url, "aiohttp", a.n, a.n))
        rows.append(await bare_sdk(port, base_url, "aiohttp", a.closed_n, a.closed))
        rows.append(await node_path(port, base_url, "aiohttp", a.closed_n, a.closed))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="calls in the burst")
    ap.add_argument("--closed", type=int, default=10, help="requests in flight in the closed-loop scenarios")
    ap.add_argument("--closed-n", type=int, default=600, help="calls in the closed-loop scenarios")
    ap.add_argument("--delay-ms", type=float, default=50.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--server", default=os.environ.get("FLOWWIRE_BENCH_SERVER", str(DEFAULT_SERVER)))
    ap.add_argument("--json", help="also write the rows to this file")
    a = ap.parse_args()
    server = subprocess.Popen([sys.executable, a.server, "--delay-ms", str(a.delay_ms)], stdout=subprocess.PIPE,
                              text=True)
    try:
        port = int(server.stdout.readline().split()[1])  # type: ignore[union-attr]
        print(f"server {Path(a.server).name} on port {port}, {a.delay_ms:.0f} ms per answer; "
              f"bound at {a.closed} in flight: {a.closed / (a.delay_ms / 1000):,.0f} calls/s")
        rows = asyncio.run(main_async(a, port))
    finally:
        server.terminate()
        server.wait(5)
    burst_sdk = max(r["calls_per_s"] for r in rows if r["scenario"] == "bare SDK (aiohttp) burst")
    burst_node = max(r["calls_per_s"] for r in rows if r["scenario"].startswith("openai-runs node") and "burst" in r["scenario"])
    print(f"node / bare SDK (aiohttp) burst: {burst_node / burst_sdk:.0%}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
