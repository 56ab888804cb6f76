"""A Node-RED export of the everyday nodes runs unchanged and emits what Node-RED 4.1.15 emitted.

fixtures/nodered-everyday.json is a Node-RED flows export (no function nodes)
covering inject, switch, change, template, split/join, sort, batch, csv, json,
yaml, range, rbe, trigger, delay and link. Every branch ends in a capture: a
change node sets `payload` to `{"branch": <label>, "msg": <the whole message
without _msgid, parts.id removed>}` (JSONata), a json node stringifies it and a
file node appends it as a line to the file named by the CAPTURE_FILE env var.
fixtures/nodered-everyday.expected.jsonl is what real Node-RED wrote
(fixtures/record_nodered.py regenerates it); this test needs no Node-RED.

Lines are compared as text, so payloads, `parts` bookkeeping, key order and
number formatting must all match. Order is compared per branch (per inject):
the branches are independent and only staggered by their inject delays, so
their global interleaving is not part of Node-RED's contract. Within the
trigger and delay branches order is compared per capture only, because two
timers race there (e.g. a 20 ms rate limit against a 30 ms fixed delay).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from runtime import cli

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-everyday.json"
EXPECTED = FIXTURES / "nodered-everyday.expected.jsonl"
#: Branches whose captures are fed by independent timers.
TIMED = {"trigger", "delay"}


def _lines(path: Path) -> list[str]:
    # Not splitlines(): JSON text keeps U+2028 unescaped inside strings.
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []


def _by_branch(lines: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        label = json.loads(line)["branch"]
        family = label.split("/")[0]
        groups[label if family in TIMED else family].append(line)
    return dict(groups)


def _run_until(count: int, capture: Path, timeout: float = 10.0) -> list[str]:
    """Run the export with `flowwire run` until `count` lines are captured, then stop it and return them all."""
    env = {**os.environ, "CAPTURE_FILE": str(capture), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "run", str(EXPORT)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while len(_lines(capture)) < count and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    lines = _lines(capture)
    assert len(lines) >= count, f"captured {len(lines)} of {count} messages; flowwire stderr:\n{stderr.decode()[-3000:]}"
    return lines


def test_flowwire_emits_what_node_red_emitted(tmp_path: Path) -> None:
    expected = _lines(EXPECTED)
    got = _run_until(len(expected), tmp_path / "capture.jsonl")
    assert len(got) == len(expected), "flowwire emitted more messages than Node-RED"
    want, have = _by_branch(expected), _by_branch(got)
    assert have.keys() == want.keys()
    for branch in want:
        assert have[branch] == want[branch], f"branch {branch!r} differs from Node-RED"


def test_the_export_validates_without_warnings(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)  # keep pytest's log capture
    with caplog.at_level(logging.WARNING):
        rc = cli.main(["validate", str(EXPORT)])
    assert rc == 0, capsys.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
