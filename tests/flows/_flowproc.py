"""Whole-flow test helpers: `flowwire` run as a subprocess, its output read line by line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The console script next to this interpreter (what the README runs), else the module.
FLOWWIRE = [str(Path(sys.executable).with_name("flowwire"))] if Path(sys.executable).with_name("flowwire").exists() \
    else [sys.executable, "-m", "runtime.cli"]
#: Variables that would point a flow at real services; removed so tests start from a clean slate.
SERVICE_VARS = ("MQTT_BROKER", "MQTT_PORT", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ASSISTANT_ID",
                "OPENAI_ORG_ID", "OPENAI_PROJECT_ID")


class Process:
    """A child process whose combined stdout/stderr is read line by line on a thread."""

    def __init__(self, args: list[str], env: Mapping[str, str] | None = None) -> None:
        clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
        self.args = args
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**clean, "PYTHONUNBUFFERED": "1", **(env or {})},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                     start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first new line satisfying `predicate`; fails with the output so far after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what}: not seen within {timeout} s; output:\n{self.output}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"{what}: process exited ({self.proc.wait()}) first; output:\n{self.output}")
            self.lines.append(line)
            if predicate(line):
                return line

    @property
    def output(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    def interrupt(self, timeout: float = 20.0) -> int:
        """SIGINT (Ctrl-C) and the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
