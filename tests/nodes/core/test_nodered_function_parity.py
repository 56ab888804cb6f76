"""A Node-RED export of typical JavaScript function bodies emits, under flowwire, what Node-RED 4.1.15 emitted.

fixtures/nodered-functions.json is a flows export whose function nodes carry
no `language` (a JSON export: JavaScript): counters in context, multi-output
routing, node.send in a loop, await on a timer, setTimeout with node.done,
arrays of arrays, Buffer handling, RED.util, built-ins (Date, RegExp, Math,
JSON), initialize, env's NR_* names, flow context shared by two nodes, and
errors (thrown and node.error) to a catch node. Every branch ends in the same
capture as the everyday fixture (see test_nodered_parity.py), and
fixtures/nodered-functions.expected.jsonl is what real Node-RED wrote
(fixtures/record_nodered_functions.py). Lines are compared as text per branch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-functions.json"
EXPECTED = FIXTURES / "nodered-functions.expected.jsonl"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []


def _by_branch(lines: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        groups[json.loads(line)["branch"]].append(line)
    return dict(groups)


def test_flowwire_runs_the_function_bodies_as_node_red_did(tmp_path: Path) -> None:
    expected = _lines(EXPECTED)
    capture = tmp_path / "capture.jsonl"
    env = {**os.environ, "CAPTURE_FILE": str(capture), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "run", str(EXPORT)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while len(_lines(capture)) < len(expected) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # a message too many would arrive now
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    got = _lines(capture)
    assert len(got) == len(expected), f"captured {len(got)} of {len(expected)}; stderr:\n{stderr.decode()[-3000:]}"
    want, have = _by_branch(expected), _by_branch(got)
    assert have.keys() == want.keys()
    for branch in want:
        assert have[branch] == want[branch], f"branch {branch!r} differs from Node-RED"
    assert proc.returncode == 0
