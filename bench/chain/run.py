"""bench/chain: 200,000 messages through 10 `change` nodes, with a 0-hop control.

    python bench/chain/run.py [--n 200000] [--runs 3] [--nodered] [--root OTHER_CHECKOUT]

Prints msgs/s, µs per hop ((T10 - T0) / (10 N)), CPU µs per hop (the same
difference in the process's CPU time: it stays put on a busy machine, where
wall time does not), peak RSS, cold start to first message and idle RSS.
`--root` runs another checkout of flowwire (an older commit in a git worktree)
with this same script, for before/after figures. With --nodered it also runs the same workloads on
Node-RED through ../shared/bench/nodered (after its setup.sh) in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def chain_flow(n: int, hops: int, result: str) -> dict:
    nodes: list[dict] = [{"id": "src", "type": "bench-source", "count": n, "wires": ["c1" if hops else "sink"]}]
    for k in range(1, hops + 1):
        nodes.append(
            {
                "id": f"c{k}",
                "type": "change",
                "rules": [{"t": "set", "p": "payload.hop", "pt": "msg", "to": str(k), "tot": "num"}],
                "wires": [f"c{k + 1}" if k < hops else "sink"],
            }
        )
    nodes.append({"id": "sink", "type": "bench-sink", "count": n, "hops": hops, "result": result})
    return {"modules": [str(ROOT / "bench" / "_nodes.py")], "nodes": nodes}


def run_chain(n: int, hops: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        flow, result = Path(tmp) / "chain.json", Path(tmp) / "result.json"
        flow.write_text(json.dumps(chain_flow(n, hops, str(result))))
        cpu = _children_cpu()
        proc = subprocess.run([*FLOWWIRE, "run", "--log-level", "warning", str(flow)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        if not result.exists():
            raise SystemExit(f"chain run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return {**json.loads(result.read_text()), "cpu_seconds": _children_cpu() - cpu}


def _compile_bytecode() -> None:
    """Write .pyc files first, as an installed package has them.

    Some environments set PYTHONDONTWRITEBYTECODE, which would make every
    cold start recompile every module and measure the compiler, not us.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "runtime", "nodes"], cwd=ROOT, env=env, check=True)


def cold_start() -> tuple[float, float]:
    """Process start to first debug line, and RSS once idle."""
    flow = {"nodes": [{"id": "i", "type": "inject", "once": True, "onceDelay": 0, "wires": ["d"]}, {"id": "d", "type": "debug"}]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cold.json"
        path.write_text(json.dumps(flow))
        started = time.perf_counter()
        proc = subprocess.Popen([*FLOWWIRE, "run", "--log-level", "warning", str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        proc.stdout.readline()
        first = time.perf_counter() - started
        time.sleep(1.0)
        rss = _rss_mb(proc.pid)
        proc.terminate()
        proc.wait(timeout=20)
        return first * 1000, rss


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def nodered(runs: int, n: int) -> None:
    if not (NODERED / "bench_chain.py").exists():
        print("Node-RED harness not found at", NODERED)
        return
    print("\n== Node-RED 4.1.15 (../shared/bench/nodered), same machine, same run ==", flush=True)
    subprocess.run([sys.executable, "bench_chain.py", "--runs", str(runs), "--n", str(n)], cwd=NODERED, check=False)
    subprocess.run([sys.executable, "bench_coldstart.py", "--runs", str(runs)], cwd=NODERED, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodered", action="store_true", help="also run Node-RED's side of the comparison")
    parser.add_argument("--root", type=Path, help="the flowwire checkout to run (default: this one)")
    args = parser.parse_args()
    if args.root is not None:
        global ROOT
        ROOT = args.root.resolve()

    t10, t0, rss, cpu10, cpu0 = [], [], [], [], []
    for _ in range(args.runs):
        r10, r0 = run_chain(args.n, 10), run_chain(args.n, 0)
        assert r10["bad"] == 0 and r0["bad"] == 0, "messages arrived with the wrong hop count"
        t10.append(r10["seconds"])
        t0.append(r0["seconds"])
        cpu10.append(r10["cpu_seconds"])
        cpu0.append(r0["cpu_seconds"])
        rss.append(r10["peak_rss_mb"])
    med10, med0 = statistics.median(t10), statistics.median(t0)
    print(f"== flowwire chain ({ROOT}): {args.n:,} msgs, 10 change nodes, median of {args.runs} ==")
    print(f"  10 hops: {args.n / med10:,.0f} msg/s   (runs: {', '.join(f'{args.n / t:,.0f}' for t in t10)})")
    print(f"   0 hops: {args.n / med0:,.0f} msg/s")
    print(f"  per hop: {(med10 - med0) / (10 * args.n) * 1e6:.2f} µs")
    print(f"  CPU per hop: {(statistics.median(cpu10) - statistics.median(cpu0)) / (10 * args.n) * 1e6:.2f} µs")
    print(f"  peak RSS: {statistics.median(rss):.0f} MB")
    _compile_bytecode()
    starts = [cold_start() for _ in range(args.runs)]
    print(f"  cold start to first message: {statistics.median(s[0] for s in starts):.0f} ms; idle RSS {statistics.median(s[1] for s in starts):.0f} MB")
    if args.nodered:
        nodered(args.runs, args.n)


if __name__ == "__main__":
    main()
