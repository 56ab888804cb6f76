"""bench/openai, scaled out: createRun requests over MQTT, shared by 1 or 2 `flowwire run` processes.

    python bench/openai/processes.py [--n 2000] [--procs 1,2] [--delay-ms 50] [--runs 1]

Each process runs `mqtt in` on the shared subscription `$share/bench/bench/openai/req`
→ `openai-runs` createRun → `mqtt out` bench/openai/done (errors: catch → bench/openai/error),
against ../shared/bench/nodered/fake_openai.py answering after 50 ms, via a
Mosquitto on a free port (the tests' helper: own config, stopped by PID). The
driver publishes N requests at once (QoS 1) and counts the completed runs
coming back. Printed per process count: completed calls/s from the first
publish to the last answer, p50/p99 latency, TCP connections the server saw,
and the CPU the flowwire processes spent per call. When the Node-RED harness
has its OpenAI node installed (_nodered.py), Node-RED's burst is measured
right after against the same server script; otherwise the comparison is with
the issue's recorded figure, 1,496 calls/s.

Python's single process is bound by the SDK's CPU per call (bench/openai/run.py);
the broker's shared subscription spreads the requests over processes, i.e. cores.
Machines differ and so does their load, so the same run also measures the bare
SDK (aiohttp transport, one process, no runtime, no MQTT) as a yardstick: the
Node-RED figure was recorded when the bare SDK did 850-1,050 calls/s here.
MQTT 3.1.1 (Mosquitto serves `$share/...` to 3.1.1 clients too): paho decodes
v5 properties on every PUBLISH, which costs CPU this benchmark is about.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

sys.path.insert(0, str(HERE))

import _nodered  # noqa: E402  (bench/openai/_nodered.py)
import run as single  # noqa: E402  (bench/openai/run.py: the bare SDK burst)
from _mosquitto import Mosquitto  # noqa: E402

SERVER = ROOT.parent / "shared" / "bench" / "nodered" / "fake_openai.py"
NODE_RED_BURST = 1496.0  # calls/s, the figure for Node-RED's node here; used when it is not installed
KEY = "sk-bench-not-a-secret"
REQ, DONE, ERROR, READY = "bench/openai/req", "bench/openai/done", "bench/openai/error", "bench/openai/ready"


def flow(broker_port: int, base_url: str, index: int) -> dict[str, Any]:
    return {"nodes": [
        {"id": "broker", "type": "mqtt-broker", "broker": "127.0.0.1", "port": broker_port, "protocolVersion": 4,
         "clientid": f"bench-openai-{index}-{os.getpid()}", "birthTopic": f"{READY}/{index}", "birthPayload": "up"},
        {"id": "cfg", "type": "openai-config", "base_url": base_url, "api_key": KEY, "api_key_type": "cred",
         "max_retries": 0},
        {"id": "in", "type": "mqtt in", "broker": "broker", "topic": f"$share/bench/{REQ}", "qos": "1",
         "datatype": "json", "wires": [["run"]]},
        {"id": "run", "type": "openai-runs", "service": "cfg", "method": "createRun", "wires": [["done"]]},
        {"id": "done", "type": "mqtt out", "broker": "broker", "topic": DONE, "qos": "1"},
        {"id": "catch", "type": "catch", "wires": [["error"]]},
        {"id": "error", "type": "mqtt out", "broker": "broker", "topic": ERROR, "qos": "1"},
    ]}


async def bare_sdk_burst(port: int, n: int) -> dict[str, Any]:
    """The yardstick: the bare SDK at its fastest, in one process (bench/openai/run.py)."""
    bare = single.BareSDK(f"http://127.0.0.1:{port}/v1", "aiohttp")
    try:
        return await bare.measure(port, n, n)
    finally:
        await bare.close()


def _get(port: int, path: str) -> Any:
    method = "POST" if path == "/__reset" else "GET"
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method), timeout=10) as r:
        return json.load(r)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Driver:
    """Publishes the requests and collects answers (its own paho network thread)."""

    def __init__(self, port: int) -> None:
        self.arrivals: queue.Queue[tuple[str, float, str]] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-driver-{os.getpid()}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(5000)
        self.client.max_queued_messages_set(0)
        self.client.on_message = lambda c, u, m: self.arrivals.put((m.topic, time.perf_counter(), m.payload.decode()))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(DONE, 1), (ERROR, 1), (f"{READY}/+", 1)])
        if not subscribed.wait(10):
            raise SystemExit("driver: no SUBACK from Mosquitto")

    def publish(self, requests: list[dict[str, Any]]) -> dict[str, float]:
        sent: dict[str, float] = {}
        for body in requests:
            sent[body["thread_id"]] = time.perf_counter()
            self.client.publish(REQ, json.dumps(body), qos=1)
        return sent

    def collect(self, count: int, timeout: float) -> tuple[list[tuple[str, float]], int]:
        """(thread id, arrival) per completed run, and the number of errors."""
        done: list[tuple[str, float]] = []
        errors = 0
        deadline = time.monotonic() + timeout
        while len(done) + errors < count:
            try:
                topic, at, payload = self.arrivals.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"only {len(done)} answers and {errors} errors of {count} within {timeout} s") from None
            if topic == DONE:
                done.append((json.loads(payload)["thread_id"], at))
            elif topic == ERROR:
                errors += 1
        return done, errors

    def wait_ready(self, count: int, timeout: float = 60) -> None:
        ready: set[str] = set()
        deadline = time.monotonic() + timeout
        while len(ready) < count:
            try:
                topic, _, _ = self.arrivals.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"only {len(ready)} of {count} flowwire processes came up") from None
            if topic.startswith(READY):
                ready.add(topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def scenario(procs: int, n: int, broker: Mosquitto, server_port: int, workdir: Path) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{server_port}/v1"
    driver = Driver(broker.port)
    children: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(procs):
            path = workdir / f"flow-{procs}-{k}.json"
            path.write_text(json.dumps(flow(broker.port, base_url, k)))
            children.append(subprocess.Popen(
                [sys.executable, "-m", "runtime.cli", "run", "--log-level", "error", str(path)], cwd=ROOT,
                stdout=subprocess.DEVNULL, stderr=open(workdir / f"flowwire-{procs}-{k}.log", "wb")))
        driver.wait_ready(procs)
        warm = 50 * procs  # connections, lazy imports and validators, outside the measurement
        driver.publish([{"thread_id": f"warm_{i}", "assistant_id": "asst_bench"} for i in range(warm)])
        driver.collect(warm, 60)
        _get(server_port, "/__reset")
        cpu0 = sum(cpu_seconds(c.pid) for c in children)
        start = time.perf_counter()
        sent = driver.publish([{"thread_id": f"thread_{i}", "assistant_id": "asst_bench"} for i in range(n)])
        done, errors = driver.collect(n, 300)
        elapsed = max(at for _, at in done) - start if done else float("nan")
        cpu = sum(cpu_seconds(c.pid) for c in children) - cpu0
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(30)
        driver.close()
    stats = _get(server_port, "/__stats")
    lat = sorted((at - sent[tid]) * 1000 for tid, at in done)
    row = {"processes": procs, "calls": n, "completed": len(done), "errors": errors,
           "calls_per_s": len(done) / elapsed, "p50_ms": statistics.median(lat),
           "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "tcp_connections": stats["connections"],
           "cpu_ms_per_call": cpu * 1000 / max(len(done), 1)}
    print(f"{procs} flowwire process(es)  {row['calls_per_s']:>7,.0f} calls/s  p50 {row['p50_ms']:6.0f} ms  "
          f"p99 {row['p99_ms']:6.0f} ms  TCP conns {row['tcp_connections']:>4}  "
          f"CPU {row['cpu_ms_per_call']:.2f} ms/call  completed {len(done)}/{n}" + (f"  errors {errors}" if errors else ""),
          flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="requests in the burst")
    ap.add_argument("--procs", default="1,2", help="process counts to run, comma-separated")
    ap.add_argument("--delay-ms", type=float, default=50.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", help="also write the rows to this file")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = subprocess.Popen([sys.executable, str(SERVER), "--delay-ms", str(a.delay_ms)], stdout=subprocess.PIPE,
                                  text=True)
        broker = Mosquitto(workdir / "mosquitto", max_inflight=0, max_queued=0).start()
        try:
            server_port = int(server.stdout.readline().split()[1])  # type: ignore[union-attr]
            print(f"fake_openai.py on port {server_port} ({a.delay_ms:.0f} ms per answer), Mosquitto on {broker.port}, "
                  f"{os.cpu_count()} CPU(s); {a.n:,} createRun requests at once")
            for run in range(a.runs):
                reference = asyncio.run(bare_sdk_burst(server_port, a.n))
                for procs in (int(p) for p in a.procs.split(",")):
                    row = scenario(procs, a.n, broker, server_port, workdir)
                    row["vs_bare_sdk"] = row["calls_per_s"] / reference["calls_per_s"]
                    print(f"  = {row['vs_bare_sdk']:.2f}x the bare SDK in one process (same run)", flush=True)
                    rows.append(row)
        finally:
            broker.stop()
            server.terminate()
            server.wait(5)
    nodered, source = NODE_RED_BURST, "recorded"
    if _nodered.available():
        print("\n== Node-RED 4.1.15 + @inductiv/node-red-openai-api, same run ==", flush=True)
        nodered, source = _nodered.measure(a.n, max(a.runs, 3))["calls_per_s"], "same run"
    for row in rows:
        row["vs_nodered"] = row["calls_per_s"] / nodered
        print(f"{row['processes']} flowwire process(es): {row['calls_per_s']:,.0f} calls/s = {row['vs_nodered']:.2f}x "
              f"Node-RED's node ({nodered:,.0f} calls/s, {source})")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
