"""bench/openai: createRun through the openai-runs node vs the bare SDK, against a 50 ms server.

    python bench/openai/run.py [--n 2000] [--closed 10] [--closed-n 600] [--reps 3] [--delay-ms 50] [--runs 1]

All in this one process and run (compare ratios, not absolute numbers from
different days):

* burst: N calls at once. The bare SDK in its fastest form (aiohttp
  transport, raw responses, at most 100 requests in flight on 100
  connections: the node's defaults), the same on the SDK's httpx transport,
  and the node path (N messages injected at once into openai-runs → sink).
* 10 in flight (closed loop): a plain aiohttp client with no SDK (the
  latency bound: the least a client gets from this server on this
  machine), the bare SDK and the node path, interleaved `--reps` times; the
  median of the reps is compared.
* `--nodered`: Node-RED 4.1.15 with its OpenAI node (`OpenAI API`,
  createRun) on the same server right after, burst and 10 in flight, with
  the harness's plain Node.js client as its yardstick (bench_openai.py
  `--baseline`); see _nodered.py for what it needs installed.

Printed per scenario: completed calls/s, p50/p99 latency, TCP connections the
server saw. The server is ../shared/bench/nodered/fake_openai.py (the same
one the Node-RED figures were measured with) run as a separate process so its
CPU is not ours; `--server` points elsewhere. The process's garbage collector
is set up as `flowwire run` sets it up (runtime/_gc.py), for every scenario.
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

import _nodered  # noqa: E402  (bench/openai/_nodered.py)
import aiohttp  # noqa: E402
import httpx2  # noqa: E402
import openai  # noqa: E402

from runtime import Node, register  # noqa: E402
from runtime._gc import settle as settle_gc  # noqa: E402
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


# -- clients without the runtime ------------------------------------------------------------------------
async def _closed_loop(call: Any, n: int, loops: int, burst: bool) -> tuple[list[float], float]:
    """`loops` coroutines calling `call(i)` back to back until n calls are done; returns (latencies, elapsed).

    In a burst every call arrived at the start, so its latency counts from
    there (as the node path's does); otherwise a loop times its own calls,
    and no scheduling wait between calls is counted.
    """
    lat: list[float] = []
    next_i = 0
    start = time.perf_counter()

    async def loop() -> None:
        nonlocal next_i
        while next_i < n:
            i, next_i = next_i, next_i + 1
            t0 = start if burst else time.perf_counter()
            await call(i)
            lat.append(time.perf_counter() - t0)

    await asyncio.gather(*(loop() for _ in range(min(loops, n))))
    return lat, time.perf_counter() - start


def _label(name: str, n: int, in_flight: int) -> str:
    return f"{name} " + ("burst" if in_flight >= n else f"{in_flight} in flight")


class _Client:
    """A client without the runtime; a burst runs on at most `max_loops` loops (the connection count)."""

    name = ""
    max_loops = 100

    async def call(self, i: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def measure(self, port: int, n: int, in_flight: int) -> dict[str, Any]:
        await self.call(-1)  # connection + lazy imports outside the measurement
        _get(port, "/__reset")
        lat, elapsed = await _closed_loop(self.call, n, min(in_flight, self.max_loops), in_flight >= n)
        return _report(_label(self.name, n, in_flight), n, elapsed, lat, port)


class BareSDK(_Client):
    """The SDK at its fastest: raw responses (no model building), one client, its own pool."""

    def __init__(self, base_url: str, transport: str) -> None:
        limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
        http = openai.DefaultAioHttpClient(limits=limits) if transport == "aiohttp" else \
            openai.DefaultAsyncHttpxClient(limits=limits)
        self.client = openai.AsyncOpenAI(api_key=KEY, base_url=base_url, http_client=http, max_retries=0)
        self.create = self.client.beta.threads.runs.with_raw_response.create
        self.name = f"bare SDK ({transport})"

    async def call(self, i: int) -> None:
        raw = await self.create(f"thread_{i}", **RUN_BODY)
        raw.http_response.json()

    async def close(self) -> None:
        await self.client.close()


class PlainClient(_Client):
    """aiohttp with no SDK: the same request and JSON decoding, nothing else."""

    name = "plain aiohttp, no SDK"

    def __init__(self, base_url: str) -> None:
        self.session = aiohttp.ClientSession()
        self.base_url = base_url

    async def call(self, i: int) -> None:
        async with self.session.post(f"{self.base_url}/threads/thread_{i}/runs", json=RUN_BODY,
                                     headers={"Authorization": f"Bearer {KEY}"}) as response:
            await response.json()

    async def close(self) -> None:
        await self.session.close()


# -- the node path -----------------------------------------------------------------------------------
def _flow(base_url: str, transport: str) -> list[dict[str, Any]]:
    return [
        {"id": "cfg", "type": "openai-config", "base_url": base_url, "api_key": KEY, "api_key_type": "cred",
         "max_retries": 0, "transport": transport},
        {"id": "run", "type": "openai-runs", "service": "cfg", "method": "createRun", "wires": [["sink"]]},
        {"id": "catch", "type": "catch", "wires": [["sink"]]},
        {"id": "sink", "type": "bench-sink"},
    ]


class NodePath:
    """openai-runs → sink in a running flow; messages injected straight into the router."""

    def __init__(self, base_url: str) -> None:
        self.flow_cm = run_flow(_flow(base_url, "aiohttp"))
        self.name = "openai-runs node (aiohttp)"

    async def __aenter__(self) -> NodePath:
        flow = await self.flow_cm.__aenter__()
        self.sink: BenchSink = flow.node("sink")
        self.flow = flow
        await self._run(1, 1)  # warm-up: connection, lazy SDK imports, validators
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flow_cm.__aexit__(*exc)

    def _inject(self, i: int) -> None:
        self.flow.deliver("run", {"payload": {"thread_id": f"thread_{i}", **RUN_BODY}, "t0": time.perf_counter()})

    async def _run(self, n: int, in_flight: int) -> float:
        sink = self.sink
        sink.latencies.clear()
        sink.errors = 0
        sink.done.clear()
        sink.expected = n
        sent = min(in_flight, n)

        def next_one() -> None:
            nonlocal sent
            if sent < n:
                self._inject(sent)
                sent += 1

        sink.on_arrival = next_one if in_flight < n else None
        start = time.perf_counter()
        for i in range(sent):
            self._inject(i)
        await asyncio.wait_for(sink.done.wait(), 300)
        return time.perf_counter() - start

    async def measure(self, port: int, n: int, in_flight: int) -> dict[str, Any]:
        _get(port, "/__reset")
        elapsed = await self._run(n, in_flight)
        return _report(_label(self.name, n, in_flight), n, elapsed, self.sink.latencies, port, self.sink.errors)


async def main_async(a: argparse.Namespace, port: int) -> list[dict[str, Any]]:
    base_url = f"http://127.0.0.1:{port}/v1"
    settle_gc()  # what `flowwire run` does once started; every scenario of this process gets it
    rows: list[dict[str, Any]] = []
    for run in range(a.runs):
        if a.runs > 1:
            print(f"-- run {run + 1}")
        for transport in ("aiohttp", "httpx"):
            bare = BareSDK(base_url, transport)
            rows.append(await bare.measure(port, a.n, a.n))
            await bare.close()
        async with NodePath(base_url) as node:
            rows.append(await node.measure(port, a.n, a.n))
        plain, bare = PlainClient(base_url), BareSDK(base_url, "aiohttp")
        async with NodePath(base_url) as node:
            for _ in range(a.reps):
                for scenario in (plain, bare, node):
                    rows.append(await scenario.measure(port, a.closed_n, a.closed))
        await plain.close()
        await bare.close()
    return rows


def _median(rows: list[dict[str, Any]], scenario: str, key: str) -> float:
    return statistics.median(r[key] for r in rows if r["scenario"] == scenario)


def summary(rows: list[dict[str, Any]], closed: int, nodered: dict[str, Any]) -> None:
    burst_sdk = _median(rows, "bare SDK (aiohttp) burst", "calls_per_s")
    burst_node = _median(rows, "openai-runs node (aiohttp) burst", "calls_per_s")
    conns = max(r["tcp_connections"] for r in rows if r["scenario"] == "openai-runs node (aiohttp) burst")
    print(f"burst: node / bare SDK (aiohttp) = {burst_node / burst_sdk:.0%} (target >= 90%), "
          f"{conns} TCP connections (target <= 100)")
    bound, sdk, node = (f"{name} {closed} in flight" for name in
                        ("plain aiohttp, no SDK", "bare SDK (aiohttp)", "openai-runs node (aiohttp)"))
    p50 = {name: _median(rows, name, "p50_ms") for name in (bound, sdk, node)}
    rate = {name: _median(rows, name, "calls_per_s") for name in (bound, sdk, node)}
    mean = {name: closed / rate[name] * 1000 for name in rate}  # Little's law: everything a call waited for
    print(f"{closed} in flight, medians of the reps: calls/s bound {rate[bound]:,.0f}, bare SDK {rate[sdk]:,.0f}, "
          f"node {rate[node]:,.0f} (node / bare SDK {rate[node] / rate[sdk]:.0%}); mean latency bound "
          f"{mean[bound]:.1f} ms, bare SDK {mean[sdk]:.1f} ms ({mean[sdk] / mean[bound] - 1:+.1%}), node "
          f"{mean[node]:.1f} ms ({mean[node] / mean[bound] - 1:+.1%}; target <= +3%); p50 bound {p50[bound]:.1f} ms, "
          f"bare SDK {p50[sdk]:.1f} ms, node {p50[node]:.1f} ms")
    if burst := nodered.get("burst"):
        print(f"Node-RED's node, same run: burst {burst['calls_per_s']:,.0f} calls/s over {burst['tcp_connections']:,.0f} "
              f"TCP connections; flowwire's node = {burst_node / burst['calls_per_s']:.2f}x")
    if window := nodered.get("window"):
        nr_mean = closed / window["calls_per_s"] * 1000
        print(f"Node-RED's node, same run: {closed} in flight {window['calls_per_s']:,.0f} calls/s (mean {nr_mean:.1f} ms, "
              f"p50 {window['lat_p50_ms']:.1f} ms); plain Node.js http {window['baseline_calls_per_s']:,.0f} calls/s; "
              f"flowwire's node: calls/s {rate[node] / window['calls_per_s']:.0%} of Node-RED's, mean latency "
              f"{mean[node] / nr_mean - 1:+.1%}, p50 {p50[node] / window['lat_p50_ms'] - 1:+.1%}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="calls in the burst")
    ap.add_argument("--closed", type=int, default=10, help="requests in flight in the closed-loop scenarios")
    ap.add_argument("--closed-n", type=int, default=600, help="calls in the closed-loop scenarios")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions of the closed-loop scenarios")
    ap.add_argument("--nodered", action="store_true", help="also run Node-RED's OpenAI node (../shared harness)")
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
              f"at most {a.closed / (a.delay_ms / 1000):,.0f} calls/s at {a.closed} in flight, were a client free")
        rows = asyncio.run(main_async(a, port))
    finally:
        server.terminate()
        server.wait(5)
    nodered: dict[str, Any] = {}
    if a.nodered:
        if not _nodered.available():
            raise SystemExit(f"--nodered: Node-RED's OpenAI node is not installed ({_nodered.NODE_PACKAGE}); "
                             f"see {_nodered.HARNESS}/README.md")
        print("\n== Node-RED 4.1.15 + @inductiv/node-red-openai-api, same server script, same run ==", flush=True)
        nodered["burst"] = _nodered.measure(a.n, a.reps)
        nodered["window"] = _nodered.measure(a.closed_n, a.reps, window=a.closed, baseline=True)
        rows.append({"scenario": "nodered", **{f"{k}.{m}": v for k, d in nodered.items() for m, v in d.items()}})
    summary(rows, a.closed, nodered)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
