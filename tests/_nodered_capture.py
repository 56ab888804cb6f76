"""Running a Node-RED export under `flowwire run` and comparing its captures with Node-RED's.

The parity fixtures end every branch in a capture that appends one JSON line
per message to the file named by `CAPTURE_FILE`; the recorded
`*.expected.jsonl` is what real Node-RED 4.1.15 wrote for the same export.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Hashable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lines(path: Path) -> list[str]:
    # Not splitlines(): JSON text keeps U+2028 unescaped inside strings.
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []


def run_until(export: Path, count: int, capture: Path, timeout: float = 60.0) -> list[str]:
    """Run the export until `count` lines are captured, stop it with SIGTERM (it must exit 0), and return every line it wrote.

    `timeout` only bounds a run that hangs: a working one returns as soon as
    the lines are there. It counts from the start of the interpreter, and on
    a loaded machine (load average 12 on 2 cores) importing the runtime and
    starting 150 nodes alone took 10 s, so it is generous.
    """
    env = {**os.environ, "CAPTURE_FILE": str(capture), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "run", str(export)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while len(lines(capture)) < count and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
    got = lines(capture)
    assert len(got) >= count, f"captured {len(got)} of {count} messages; flowwire stderr:\n{stderr.decode()[-3000:]}"
    assert proc.returncode == 0, f"flowwire did not stop cleanly on SIGTERM:\n{stderr.decode()[-3000:]}"
    return got


def branch_label(line: str) -> str:
    """The `branch` a capture line names: the grouping for fixtures whose branches are independent."""
    return str(json.loads(line)["branch"])


def feeding_injects(export: Path) -> dict[str, frozenset[str]]:
    """Each capture's label (a change node named `cap <label>`) and the names of the inject nodes whose messages reach it.

    Messages of one inject follow each other in an order Node-RED fixes (each
    hop is queued in turn); messages of different injects are apart only by
    their `onceDelay`, which a loaded machine can swallow, so comparing per
    feeding inject checks the first and not the second. Links (`link out` to
    `link in`) are followed like wires.
    """
    nodes = {n["id"]: n for n in json.loads(export.read_text(encoding="utf-8"))}
    reached: dict[str, set[str]] = {}
    for inject in (n for n in nodes.values() if n.get("type") == "inject"):
        seen: set[str] = set()
        todo = [inject["id"]]
        while todo:
            node = nodes[todo.pop()]
            if node["id"] in seen:
                continue
            seen.add(node["id"])
            name = str(node.get("name", ""))
            if node.get("type") == "change" and name.startswith("cap "):
                reached.setdefault(name.removeprefix("cap "), set()).add(inject.get("name") or inject["id"])
            todo += [target for port in node.get("wires", []) for target in port]
            if node.get("type") == "link out":
                todo += node.get("links", [])
    return {label: frozenset(names) for label, names in reached.items()}


def assert_same_per_branch(expected: list[str], got: list[str], branch: Callable[[str], Hashable]) -> None:
    """Same lines, in the same order within each branch (branches run side by side, so only their own order counts)."""
    assert len(got) == len(expected), "flowwire emitted more messages than Node-RED"
    want: dict[Hashable, list[str]] = {}
    have: dict[Hashable, list[str]] = {}
    for source, groups in ((expected, want), (got, have)):
        for line in source:
            groups.setdefault(branch(line), []).append(line)
    assert have.keys() == want.keys()
    for key in want:
        assert have[key] == want[key], f"branch {key!r} differs from Node-RED"


def assert_runs_as_recorded(export: Path, work: Path, branch: Callable[[str], Hashable] = branch_label) -> None:
    """Run `export` under flowwire and compare with `<export>.expected.jsonl`, Node-RED's recording of it."""
    expected = lines(export.with_suffix(".expected.jsonl"))
    assert_same_per_branch(expected, run_until(export, len(expected), work / "capture.jsonl"), branch)
