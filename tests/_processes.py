"""Processes the tests start and must stop: `flowwire run`, Mosquitto, redis-server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def flowwire_run(flow: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`flowwire run FLOW` from this checkout (PYTHONPATH, not the installed copy), its log appended to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "run", str(flow), "--log-level", "info"],
        cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=open(log, "ab"),
    )


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM (so it drains or saves what it must), SIGKILL if it does not end within `timeout` s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
