"""bench/openai/bursts.py: chat completions and streamed responses through `openai-api` vs the bare SDK.

    python bench/openai/bursts.py [--n 2000] [--reps 3] [--delay-ms 50]

Two bursts of N calls at once, each measured for the bare SDK and for the
node in this one process and run, interleaved `--reps` times (compare the
ratios; absolute numbers depend on the machine and its load):

* chat: `createChatCompletion`. Bare SDK at its fastest: one client, the
  aiohttp transport, at most 100 requests in flight on 100 connections (the
  node's defaults), raw responses decoded as JSON (what the node does).
* streamed response: `createModelResponse` with `stream: true`. The bare SDK
  iterates the SDK's event stream to the end; the node sends one msg per
  event and a `done` msg, and a call counts when its `done` msg arrives.

The server is the project's OpenAI emulator in its own process
(`python -m nodes.openai.emulator --delay-ms 50`: every answer after 50 ms,
requests validated against OpenAI's OpenAPI document, the documented event
sequence for streams), so its CPU is not ours. Printed per scenario:
completed calls/s, p50/p99 latency from the burst's start, then the medians
and the node / bare SDK ratio (target: within 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
warnings.filterwarnings("ignore", category=DeprecationWarning)

import httpx2  # noqa: E402
import openai  # noqa: E402
import run as single  # noqa: E402  (bench/openai/run.py: burst loop, the runs benchmark's sink)

from runtime import Node, register  # noqa: E402
from runtime._gc import settle as settle_gc  # noqa: E402
from runtime.testing import run_flow  # noqa: E402

KEY = "sk-bench-not-a-secret"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in five words."}]}
RESPONSE = {"model": "gpt-4o-mini", "input": "Say hello in five words.", "stream": True}


@register("bench-done-sink")
class DoneSink(Node):
    """Counts a call when its last msg arrives: the `done` msg of a stream, or the only msg of a call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.errors = 0
        self.events = 0
        self.expected = 0
        self.done = asyncio.Event()

    def on_input(self, msg: dict[str, Any]) -> None:
        if "error" in msg:
            self.errors += 1
        elif msg.get("event") not in (None, "done"):
            self.events += 1
            return
        else:
            self.latencies.append(time.perf_counter() - msg["t0"])
        if len(self.latencies) + self.errors >= self.expected:
            self.done.set()


def _row(name: str, n: int, elapsed: float, lat: list[float], errors: int = 0, events: int = 0) -> dict[str, Any]:
    lat_ms = sorted(x * 1000 for x in lat)
    row = {"scenario": name, "calls": n, "errors": errors, "calls_per_s": len(lat) / elapsed,
           "p50_ms": statistics.median(lat_ms) if lat_ms else 0.0,
           "p99_ms": lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))] if lat_ms else 0.0}
    extra = f"  events {events:,}" if events else ""
    print(f"{name:<36} {row['calls_per_s']:>8,.0f} calls/s  p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
          + extra + (f"  errors {errors}" if errors else ""), flush=True)
    return row


class BareSDK:
    """One AsyncOpenAI with the node's defaults (aiohttp, 100 connections), at most 100 calls in flight."""

    def __init__(self, base_url: str) -> None:
        limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
        self.client = openai.AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0,
                                         http_client=openai.DefaultAioHttpClient(limits=limits))

    async def chat(self, i: int) -> None:
        raw = await self.client.chat.completions.with_raw_response.create(**CHAT)  # type: ignore[arg-type]
        raw.http_response.json()

    async def response_stream(self, i: int) -> None:
        stream = await self.client.responses.create(**RESPONSE)  # type: ignore[call-overload]
        async with stream:
            async for _ in stream:
                pass

    async def measure(self, name: str, call: Any, n: int) -> dict[str, Any]:
        await call(-1)  # connection and lazy imports outside the measurement
        lat, elapsed = await single._closed_loop(call, n, 100, burst=True)
        return _row(f"bare SDK {name}", n, elapsed, lat)

    async def close(self) -> None:
        await self.client.close()


class NodeBurst:
    """`openai-api` → sink in a running flow; messages injected straight into the router (no per-msg yield)."""

    def __init__(self, base_url: str, method: str, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.flow_cm = run_flow([
            {"id": "cfg", "type": "openai-config", "base_url": base_url, "api_key": KEY, "api_key_type": "cred",
             "max_retries": 0},
            {"id": "api", "type": "openai-api", "service": "cfg", "method": method, "wires": [["sink"]]},
            {"id": "catch", "type": "catch", "wires": [["sink"]]},
            {"id": "sink", "type": "bench-done-sink"},
        ])
        self.name = f"openai-api {method}"

    async def __aenter__(self) -> NodeBurst:
        flow = await self.flow_cm.__aenter__()
        self.sink: DoneSink = flow.node("sink")
        self.router = flow.runtime._router
        self.target = flow.node("api")
        await self._run(1)  # warm-up: connection, lazy SDK imports, signature reading
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flow_cm.__aexit__(*exc)

    async def _run(self, n: int) -> float:
        sink = self.sink
        sink.latencies.clear()
        sink.errors = sink.events = 0
        sink.done.clear()
        sink.expected = n
        start = time.perf_counter()
        for _ in range(n):
            token = self.router.token(None)
            self.router.enqueue(self.target, {"payload": dict(self.payload), "t0": start}, token)
            token.release()
        await asyncio.wait_for(sink.done.wait(), 300)
        return time.perf_counter() - start

    async def measure(self, n: int) -> dict[str, Any]:
        elapsed = await self._run(n)
        return _row(f"{self.name}", n, elapsed, self.sink.latencies, self.sink.errors, self.sink.events)


async def main_async(a: argparse.Namespace, base_url: str) -> list[dict[str, Any]]:
    settle_gc()  # what `flowwire run` does once started
    rows: list[dict[str, Any]] = []
    bare = BareSDK(base_url)
    async with NodeBurst(base_url, "createChatCompletion", CHAT) as chat_node, \
            NodeBurst(base_url, "createModelResponse", RESPONSE) as stream_node:
        for rep in range(a.reps):
            print(f"-- rep {rep + 1}/{a.reps}", flush=True)
            rows.append({**await bare.measure("chat", bare.chat, a.n), "kind": "chat", "who": "sdk"})
            rows.append({**await chat_node.measure(a.n), "kind": "chat", "who": "node"})
            rows.append({**await bare.measure("streamed response", bare.response_stream, a.n), "kind": "stream",
                         "who": "sdk"})
            rows.append({**await stream_node.measure(a.n), "kind": "stream", "who": "node"})
    await bare.close()
    return rows


def summary(rows: list[dict[str, Any]]) -> None:
    for kind, title in (("chat", "chat completions"), ("stream", "streamed responses")):
        sdk = statistics.median(r["calls_per_s"] for r in rows if r["kind"] == kind and r["who"] == "sdk")
        node = statistics.median(r["calls_per_s"] for r in rows if r["kind"] == kind and r["who"] == "node")
        p50s = statistics.median(r["p50_ms"] for r in rows if r["kind"] == kind and r["who"] == "sdk")
        p50n = statistics.median(r["p50_ms"] for r in rows if r["kind"] == kind and r["who"] == "node")
        print(f"{title}: medians bare SDK {sdk:,.0f} calls/s (p50 {p50s:.0f} ms), node {node:,.0f} calls/s "
              f"(p50 {p50n:.0f} ms): node / bare SDK = {node / sdk:.0%} (target >= 90%)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="calls in each burst")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions")
    ap.add_argument("--delay-ms", type=float, default=50.0)
    a = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "nodes.openai.emulator", "--port", "0", "--no-demo",
                               "--delay-ms", str(a.delay_ms)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().split()[-1]  # type: ignore[union-attr]
        print(f"OpenAI emulator at {base_url} ({a.delay_ms:.0f} ms per answer), {a.n:,} calls per burst")
        rows = asyncio.run(main_async(a, base_url))
    finally:
        server.terminate()
        server.wait(5)
    summary(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
