"""bench/sequence: 100,000 messages through switch → template → split → join.

    python bench/sequence/run.py [--n 100000] [--runs 3] [--nodered]

Each message is routed by a `switch`, rendered by a `template`, split into 6
messages and joined back; the sink checks every joined string. Prints msgs/s
(input messages per second, source start to last joined message) and peak
RSS. With --nodered it runs the same flow (nodered_flow.json, written by
`python bench/sequence/flow.py`) on Node-RED through ../shared/bench/nodered
(run its `setup.sh` once first), in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODERED = Path(os.environ.get("NRB_HARNESS") or ROOT.parent / "shared" / "bench" / "nodered")
FLOWWIRE = [sys.executable, "-m", "runtime.cli"]

sys.path.insert(0, str(HERE))
from flow import middle  # noqa: E402


def flowwire_flow(n: int, result: str) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "tab1", "type": "tab", "label": "sequence bench"},
        {"id": "src", "type": "bench-seq-source", "z": "tab1", "count": n, "wires": [["sw"]]},
        *middle("sink"),
        {"id": "sink", "type": "bench-seq-sink", "z": "tab1", "count": n, "result": result},
    ]
    return {"modules": [str(ROOT / "bench" / "_nodes.py")], "nodes": nodes}


def run_flowwire(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        flow, result = Path(tmp) / "sequence.json", Path(tmp) / "result.json"
        flow.write_text(json.dumps(flowwire_flow(n, str(result))))
        proc = subprocess.run([*FLOWWIRE, "run", "--log-level", "warning", str(flow)], cwd=ROOT, capture_output=True, text=True, timeout=900)
        if not result.exists():
            raise SystemExit(f"flowwire run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        res = json.loads(result.read_text())
    res["msgs_per_s"] = n / res["seconds"]
    return res


def run_nodered(n: int) -> dict[str, Any]:
    sys.path.insert(0, str(NODERED / "lib"))
    from common import NodeRed  # the shared harness: fresh userDir, settings.js, result file, stop by PID

    # An absolute flows path: common.NodeRed joins it onto its own flows/ folder, which keeps it as is.
    with NodeRed("sequence", str(HERE / "nodered_flow.json"), env={"NRB_N": n}) as nr:
        res = nr.wait_result(timeout=900)
    res["peak_rss_mb"] = res["peak_rss_kb"] / 1024
    res["count"] = res["received"]
    return res


def measure(name: str, headline: str, runs: int, n: int, run_once: Callable[[], dict[str, Any]]) -> float:
    """Run `runs` times, stop at a run with wrong messages, print each run and the medians; the median msg/s."""
    results = []
    for i in range(runs):
        res = run_once()
        if res["bad"] or res["count"] != n:
            raise SystemExit(f"{name} produced wrong messages: {res}")
        results.append(res)
        print(f"run {i + 1} {name}: {res['msgs_per_s']:,.0f} msg/s  peak RSS {res['peak_rss_mb']:.0f} MB", flush=True)
    rate = statistics.median(r["msgs_per_s"] for r in results)
    print(headline)
    print(f"  {rate:,.0f} msg/s   peak RSS {statistics.median(r['peak_rss_mb'] for r in results):.0f} MB")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodered", action="store_true", help="also run the same flow on Node-RED (needs ../shared/bench/nodered/setup.sh)")
    args = parser.parse_args()

    headline = f"== flowwire sequence: {args.n:,} msgs through switch → template → split(6 parts) → join, median of {args.runs} =="
    fw_rate = measure("flowwire", headline, args.runs, args.n, lambda: run_flowwire(args.n))
    if not args.nodered:
        return
    if not (NODERED / "lib" / "common.py").exists():
        raise SystemExit(f"Node-RED harness not found at {NODERED}")
    headline = f"== Node-RED (../shared/bench/nodered), same flow, same machine, median of {args.runs} =="
    nr_rate = measure("Node-RED", headline, args.runs, args.n, lambda: run_nodered(args.n))
    print(f"== flowwire / Node-RED: {fw_rate / nr_rate:.2f}x")


if __name__ == "__main__":
    main()
