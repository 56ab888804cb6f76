"""Node-RED's OpenAI node measured in the same run, through ../shared/bench/nodered/bench_openai.py.

The harness needs `@inductiv/node-red-openai-api` 1.103.0 installed by its
setup.sh (npm may not have it: setup.sh then takes `OPENAI_NODE_TGZ`). Its
summary is read back from the JSON file it saves rather than from its printed text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "nodered"
PREFIX = Path(os.environ.get("NRB_PREFIX", "/tmp/nrbench"))  # where setup.sh installed it
NODE_PACKAGE = PREFIX / "node_modules" / "@inductiv" / "node-red-openai-api" / "package.json"


def available() -> bool:
    return (HARNESS / "bench_openai.py").exists() and NODE_PACKAGE.exists()


def measure(n: int, runs: int, window: int = 0, baseline: bool = False) -> dict[str, Any]:
    """Run bench_openai.py (its output shown as it goes); the medians of its runs, by key."""
    cmd = [sys.executable, "bench_openai.py", "--runs", str(runs), "--n", str(n)]
    if window:
        cmd += ["--window", str(window)]
    if baseline:
        cmd.append("--baseline")
    out = subprocess.run(cmd, cwd=HARNESS, capture_output=True, text=True, timeout=1800)
    print(out.stdout, end="", flush=True)
    saved = [line.split("saved ", 1)[1].strip() for line in out.stdout.splitlines() if "saved " in line]
    if out.returncode != 0 or not saved:
        raise SystemExit(f"bench_openai.py failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    stats = {}
    for path in saved:
        summary = json.loads(Path(path).read_text())
        prefix = "baseline_" if summary["bench"].endswith("-baseline") else ""
        stats.update({prefix + key: value["median"] for key, value in summary["stats"].items()})
    return stats
