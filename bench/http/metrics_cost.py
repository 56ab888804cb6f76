"""What metrics cost: CPU time per message through 10 `change` nodes, metrics off and on, interleaved.

    python bench/http/metrics_cost.py [--n 200000] [--rounds 7] [--base DIR]

Each round runs the chain in a fresh process per variant and measures the
process's CPU time (not wall time: the machines are shared, and other
people's load stretches wall time far more than it changes CPU time) from
the first message in to the last one out. `--base DIR` adds the same
measurement from another checkout (e.g. the commit before the router's
counters) to price the counters themselves. Medians and the fastest round
are printed, each against metrics off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Runs inside the child (cwd = the checkout measured): prints CPU seconds for N messages.
CHILD = """
import asyncio, gc, json, sys, time
from runtime.testing import run_flow

n, metrics = int(sys.argv[1]), sys.argv[2] == "on"
nodes = [{"id": f"c{k}", "type": "change", "rules": [{"t": "set", "p": "payload.hop", "pt": "msg", "to": str(k), "tot": "num"}],
          "wires": [[f"c{k + 1}" if k < 10 else "sink"]]} for k in range(1, 11)]
nodes.append({"id": "sink", "type": "test-sink"})
settings = {"metrics": True, "uiPort": 0, "uiHost": "127.0.0.1"} if metrics else {}

async def main():
    async with run_flow({"settings": settings, "nodes": nodes}) as flow:
        gc.collect(); gc.freeze()
        started = time.process_time()
        for i in range(n):
            flow.deliver("c1", {"payload": {"i": i, "hop": 0}})
        await flow.received("sink", n, timeout=600)
        print(json.dumps({"cpu": time.process_time() - started, "ok": all(m["payload"]["hop"] == 10 for m in flow.node("sink").messages)}))

asyncio.run(main())
"""


def run(root: Path, n: int, metrics: bool) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), "on" if metrics else "off"], cwd=root, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"run in {root} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"], "messages arrived with the wrong hop count"
    return float(result["cpu"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--base", type=Path, help="another checkout to run the same flow from (metrics off)")
    args = parser.parse_args()
    variants = {"metrics off": (ROOT, False), "metrics on": (ROOT, True)}
    if args.base:
        variants = {"base": (args.base.resolve(), False), **variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (root, metrics) in variants.items():
            cpu[name].append(run(root, args.n, metrics))
    print(f"== {args.n:,} msgs through 10 change nodes, CPU µs per message, {args.rounds} interleaved rounds ==")
    off, off_best = statistics.median(cpu["metrics off"]), min(cpu["metrics off"])
    for name, values in cpu.items():
        median, best = statistics.median(values), min(values)
        print(f"  {name:<12} median {median / args.n * 1e6:6.2f} µs ({median / off - 1:+.1%})   fastest {best / args.n * 1e6:6.2f} µs ({best / off_best - 1:+.1%})"
              f"   runs (s): {', '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    main()
