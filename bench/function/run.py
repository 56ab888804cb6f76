"""bench/function: messages through a chain of 10 function nodes, JavaScript and Python, against Node-RED.

    python bench/function/run.py [--n 20000] [--runs 3] [--big] [--nodered]

Each function node sets `msg.payload.hop = K` and returns msg, as in
bench/chain. Prints msg/s, µs per crossing ((T10 - T0) / (10 N), T0 the same
source and sink with no hop) and peak RSS. `--big` adds a 10 KB object under
`msg.blob` that no body reads (JavaScript bodies leave it in Python until
read, so this measures what carrying it still costs). `--nodered` runs the same chain of 10 function nodes on Node-RED
4.1.15 through ../shared/bench/nodered (its setup.sh once first).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODERED = Path(os.environ.get("NRB_HARNESS") or ROOT.parent / "shared" / "bench" / "nodered")
FLOWWIRE = [sys.executable, "-m", "runtime.cli"]
BODIES = {
    "javascript": "msg.payload.hop = {k};\nreturn msg;",
    "python": "msg.payload['hop'] = {k}\nreturn msg",
}
#: About 10 KB of JSON that no body reads.
BLOB = {f"key{i}": {"text": "x" * 80, "n": i, "list": [i, i + 1, i + 2]} for i in range(80)}


def flow(n: int, hops: int, language: str, result: str, big: bool) -> dict:
    source: dict = {"id": "src", "type": "bench-source", "count": n, "wires": ["f1" if hops else "sink"]}
    nodes = [source]
    if big:
        nodes = [{**source, "wires": ["blob"]}, {"id": "blob", "type": "change", "rules": [{"t": "set", "p": "blob", "pt": "msg", "to": json.dumps(BLOB), "tot": "json"}], "wires": ["f1" if hops else "sink"]}]
    for k in range(1, hops + 1):
        nodes.append({"id": f"f{k}", "type": "function", "language": language, "func": BODIES[language].format(k=k), "wires": [f"f{k + 1}" if k < hops else "sink"]})
    nodes.append({"id": "sink", "type": "bench-sink", "count": n, "hops": hops, "result": result})
    return {"modules": [str(ROOT / "bench" / "_nodes.py")], "nodes": nodes}


def run(n: int, hops: int, language: str, big: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path, result = Path(tmp) / "chain.yaml", Path(tmp) / "result.json"
        path.write_text(json.dumps(flow(n, hops, language, str(result), big)))
        proc = subprocess.run([*FLOWWIRE, "run", "--log-level", "warning", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=900)
        if not result.exists():
            raise SystemExit(f"run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(result.read_text())


def nodered(runs: int, n: int, big: bool) -> None:
    """Node-RED's chain of 10 function nodes, with the harness's source and counting sink."""
    if not (NODERED / "gen_flows.py").exists():
        print("Node-RED harness not found at", NODERED)
        return
    sys.path.insert(0, str(NODERED))
    sys.path.insert(0, str(NODERED / "lib"))
    import gen_flows  # type: ignore[import-not-found]
    from common import NodeRed  # type: ignore[import-not-found]

    results: dict[int, list[dict]] = {10: [], 0: []}
    with tempfile.TemporaryDirectory() as tmp:
        for hops in (10, 0):
            source = gen_flows.CHAIN_SOURCE
            if big:
                source = source.replace("node.send({ payload: { i: i, hop: 0 } }, false);", f"node.send({{ payload: {{ i: i, hop: 0 }}, blob: {json.dumps(BLOB)} }}, false);")
            nodes = [gen_flows.TAB, gen_flows.inject("inj", ["src"]), gen_flows.function("src", "source", source, [["f1" if hops else "sink"]])]
            for k in range(1, hops + 1):
                nodes.append(gen_flows.function(f"f{k}", f"hop {k}", BODIES["javascript"].format(k=k), [[f"f{k + 1}" if k < hops else "sink"]]))
            nodes.append(gen_flows.function("sink", "count", gen_flows.CHAIN_SINK.replace("HOPS", str(hops)), [], outputs=0))
            path = Path(tmp) / f"function{hops}.json"
            path.write_text(json.dumps(nodes))
            for _ in range(runs):
                with NodeRed(f"function{hops}", str(path), env={"NRB_N": n, "NRB_BATCH": 0}) as nr:
                    res = nr.wait_result(timeout=900)
                results[hops].append({"seconds": res["elapsed_ms"] / 1000, "peak_rss_mb": res["peak_rss_kb"] / 1024, "bad": res["bad"]})
    report("Node-RED 4.1.15, 10 JavaScript function nodes", n, results[10], results[0])


def report(title: str, n: int, r10: list[dict], r0: list[dict]) -> float:
    assert all(r["bad"] == 0 for r in r10 + r0), "messages arrived with the wrong hop count"
    t10, t0 = statistics.median(r["seconds"] for r in r10), statistics.median(r["seconds"] for r in r0)
    print(f"== {title}: {n:,} msgs, median of {len(r10)} ==")
    each = ", ".join(f"{n / r['seconds']:,.0f}" for r in r10)
    print(f"  10 hops: {n / t10:,.0f} msg/s   (runs: {each})")
    print(f"   0 hops: {n / t0:,.0f} msg/s")
    print(f"  per crossing: {(t10 - t0) / (10 * n) * 1e6:.2f} µs")
    print(f"  peak RSS: {statistics.median(r['peak_rss_mb'] for r in r10):.0f} MB", flush=True)
    return n / t10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="carry a 10 KB object no body reads")
    parser.add_argument("--nodered", action="store_true", help="also run Node-RED's side in the same run")
    args = parser.parse_args()
    for language in ("javascript", "python"):
        r10 = [run(args.n, 10, language, args.big) for _ in range(args.runs)]
        r0 = [run(args.n, 0, language, args.big) for _ in range(args.runs)]
        report(f"flowwire, 10 {language} function nodes{' + 10 KB untouched' if args.big else ''}", args.n, r10, r0)
    if args.nodered:
        nodered(args.runs, args.n, args.big)


if __name__ == "__main__":
    main()
