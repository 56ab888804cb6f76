"""What /metrics costs: bench/chain's 200,000 msgs through 10 `change` nodes, metrics off and on, interleaved.

    python bench/http/metrics_cost.py [--n 200000] [--rounds 5] [--base DIR]

`--base DIR` adds a third variant: the same flow run from another checkout
(e.g. the commit before the router's counters) to price the counters
themselves. Rounds alternate the variants so the shared machine's drift hits
each alike; the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def chain(root: Path, n: int, metrics: bool, result: Path) -> dict:
    nodes: list[dict] = [{"id": "src", "type": "bench-source", "count": n, "wires": ["c1"]}]
    for k in range(1, 11):
        nodes.append({"id": f"c{k}", "type": "change", "rules": [{"t": "set", "p": "payload.hop", "pt": "msg", "to": str(k), "tot": "num"}],
                      "wires": [f"c{k + 1}" if k < 10 else "sink"]})
    nodes.append({"id": "sink", "type": "bench-sink", "count": n, "hops": 10, "result": str(result)})
    settings = {"metrics": True, "uiPort": 0, "uiHost": "127.0.0.1"} if metrics else {}
    return {"modules": [str(root / "bench" / "_nodes.py")], "settings": settings, "nodes": nodes}


def run(root: Path, n: int, metrics: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        flow, result = Path(tmp) / "chain.json", Path(tmp) / "result.json"
        flow.write_text(json.dumps(chain(root, n, metrics, result)))
        proc = subprocess.run([sys.executable, "-m", "runtime.cli", "run", "--log-level", "warning", str(flow)], cwd=root,
                              capture_output=True, text=True, timeout=600)
        if not result.exists():
            raise SystemExit(f"run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        data = json.loads(result.read_text())
        assert data["bad"] == 0
        return n / data["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base", type=Path, help="another checkout to run the same flow from (metrics off)")
    args = parser.parse_args()
    variants = {"metrics off": (ROOT, False), "metrics on": (ROOT, True)}
    if args.base:
        variants = {"base": (args.base.resolve(), False), **variants}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (root, metrics) in variants.items():
            rates[name].append(run(root, args.n, metrics))
    print(f"== chain, {args.n:,} msgs through 10 change nodes, median of {args.rounds} interleaved rounds ==")
    off = statistics.median(rates["metrics off"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:<12} {median:>10,.0f} msg/s  ({median / off - 1:+.1%} vs metrics off)   runs: {', '.join(f'{v:,.0f}' for v in values)}")


if __name__ == "__main__":
    main()
