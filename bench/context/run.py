"""bench/context: context get/set (and incr) per second inside a function node, per store.

    python bench/context/run.py [--k 100000] [--k-redis 20000] [--runs 3] [--nodered]

flowwire: one function body loops `k` times over `global_.set(key, i, store)`,
then `global_.get(key, store)`, then `global_.incr(key, 1, store)`, for the
memory, file and redis stores (a redis-server started on a free port, stopped
by PID); a second, async body does the same with `aset`/`aget`/`aincr` on
redis. Node-RED 4.1.15 (--nodered, through ../shared/bench/nodered after its
setup.sh) runs the same loop in its function node over its memory and
localfilesystem stores (cache on, the default) in the same run. Keys cycle
over 100 names, values are numbers. Prints medians and min-max of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODERED = Path(os.environ.get("NRB_HARNESS") or ROOT.parent / "shared" / "bench" / "nodered")
FLOWWIRE = [sys.executable, "-m", "runtime.cli"]
OPS = ("set", "get", "incr")

SYNC_BODY = """\
import json, os, signal, time
out = {}
for store, k in (("memory", K), ("file", K), ("redis", KR)):
    row = {}
    t = time.perf_counter()
    for i in range(k):
        global_.set("k%d" % (i % 100), i, store)
    row["set"] = k / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(k):
        global_.get("k%d" % (i % 100), store)
    row["get"] = k / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(k):
        global_.incr("n%d" % (i % 100), 1, store)
    row["incr"] = k / (time.perf_counter() - t)
    out[store] = row
msg.payload = out
return msg
"""

ASYNC_BODY = """\
import json, os, signal, time
row = {}
t = time.perf_counter()
for i in range(KR):
    await global_.aset("a%d" % (i % 100), i, "redis")
row["set"] = KR / (time.perf_counter() - t)
t = time.perf_counter()
for i in range(KR):
    await global_.aget("a%d" % (i % 100), "redis")
row["get"] = KR / (time.perf_counter() - t)
t = time.perf_counter()
for i in range(KR):
    await global_.aincr("m%d" % (i % 100), 1, "redis")
row["incr"] = KR / (time.perf_counter() - t)
msg.payload["redis (async)"] = row
with open(os.environ["BENCH_RESULT"], "w") as f:
    json.dump(msg.payload, f)
os.kill(os.getpid(), signal.SIGTERM)
return None
"""

NODERED_BODY = """\
const bench = global.get('bench');
const K = Number(bench.env('NRB_K', '100000'));
const out = {};
for (const store of ['memory', 'file']) {
    const row = {};
    let t = bench.now();
    for (let i = 0; i < K; i++) global.set('k' + (i % 100), i, store);
    row.set = K / ((bench.now() - t) / 1000);
    t = bench.now();
    let x = 0;
    for (let i = 0; i < K; i++) x += global.get('k' + (i % 100), store);
    row.get = K / ((bench.now() - t) / 1000);
    t = bench.now();
    for (let i = 0; i < K; i++) global.set('n' + (i % 100), (global.get('n' + (i % 100), store) || 0) + 1, store);
    row['get+set'] = K / ((bench.now() - t) / 1000);
    out[store] = row;
}
bench.done(out);
return null;
"""

NODERED_SETTINGS = """\
// The harness's settings plus Node-RED's two built-in context stores (written by bench/context/run.py).
const base = require(%s);
module.exports = Object.assign({}, base, {
    contextStorage: {
        default: { module: "memory" },
        memory: { module: "memory" },
        file: { module: "localfilesystem", config: { flushInterval: 30 } },
    },
});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_server(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("redis-server did not start")


def run_flowwire(k: int, kr: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        redis, port = _redis_server(Path(tmp))
        try:
            result = Path(tmp) / "result.json"
            flow = {
                "settings": {"contextStorage": {"default": "memory", "file": {"module": "file", "dir": str(Path(tmp) / "ctx")},
                                                "redis": {"module": "redis", "url": f"redis://127.0.0.1:{port}/0", "prefix": "bench"}}},
                "nodes": [
                    {"id": "go", "type": "inject", "once": True, "onceDelay": 0, "wires": ["sync"]},
                    {"id": "sync", "type": "function", "func": f"K = {k}\nKR = {kr}\n" + SYNC_BODY, "wires": ["async"]},
                    {"id": "async", "type": "function", "func": f"KR = {kr}\n" + ASYNC_BODY},
                ],
            }
            path = Path(tmp) / "context.json"
            path.write_text(json.dumps(flow))
            proc = subprocess.run([*FLOWWIRE, "run", "--log-level", "warning", str(path)], cwd=ROOT, capture_output=True, text=True,
                                  timeout=600, env={**os.environ, "BENCH_RESULT": str(result)})
            if not result.exists():
                raise SystemExit(f"flowwire run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            return json.loads(result.read_text())  # type: ignore[no-any-return]
        finally:
            redis.terminate()
            redis.wait(10)


def run_nodered(k: int) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(NODERED / "lib"))
    import common  # the harness's own plumbing: ../shared/bench/nodered/lib/common.py

    with tempfile.TemporaryDirectory() as tmp:
        flows = Path(tmp) / "context.json"
        flows.write_text(json.dumps([
            {"id": "tab", "type": "tab", "label": "context"},
            {"id": "go", "type": "inject", "z": "tab", "once": True, "onceDelay": 0.1, "props": [{"p": "payload"}],
             "payload": "", "payloadType": "date", "repeat": "", "crontab": "", "topic": "", "wires": [["loop"]]},
            {"id": "loop", "type": "function", "z": "tab", "func": NODERED_BODY, "outputs": 1, "wires": [[]]},
        ]))
        settings = Path(tmp) / "settings.js"
        settings.write_text(NODERED_SETTINGS % json.dumps(str(NODERED / "settings.js")))

        class WithStores(common.NodeRed):  # type: ignore[misc, name-defined]
            """The harness's runner with our settings file (the harness is read, never changed)."""

            def start(self) -> WithStores:
                self.log = open(self.log_path, "w")
                self.proc = subprocess.Popen(["node", common.RED_JS, "--settings", str(settings)], cwd=self.dir, env=self.env,
                                             stdout=self.log, stderr=subprocess.STDOUT)
                return self

        with WithStores("context", str(flows), env={"NRB_K": k}) as red:
            result = red.wait_result(timeout=300)
        return {store: result[store] for store in ("memory", "file")}


def _print(title: str, runs: list[dict[str, dict[str, float]]]) -> None:
    print(f"== {title}: median of {len(runs)} (min-max), operations per second ==")
    for store in runs[0]:
        cells = []
        for op in runs[0][store]:
            values = [r[store][op] for r in runs]
            cells.append(f"{op} {statistics.median(values):>11,.0f} ({min(values):,.0f}-{max(values):,.0f})")
        print(f"  {store:<14} " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=100_000, help="operations per loop for memory and file stores")
    parser.add_argument("--k-redis", type=int, default=20_000, help="operations per loop for the redis store")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodered", action="store_true", help="also run Node-RED's memory and localfilesystem stores")
    args = parser.parse_args()
    flowwire, nodered = [], []
    for _ in range(args.runs):  # interleaved, so both sides see the same machine load
        flowwire.append(run_flowwire(args.k, args.k_redis))
        if args.nodered:
            if not (NODERED / "lib" / "common.py").exists():
                raise SystemExit(f"Node-RED harness not found at {NODERED}")
            nodered.append(run_nodered(args.k))
    _print("flowwire", flowwire)
    if nodered:
        _print("Node-RED 4.1.15 (get+set: Node-RED has no incr)", nodered)


if __name__ == "__main__":
    main()
