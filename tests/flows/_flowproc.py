"""Whole-flow test helpers: `flowwire` as a subprocess, a test Mosquitto, a paho peer.

A module with its own name rather than a conftest.py: tests elsewhere import
their directory's `conftest` by module name, and a second conftest here would
shadow theirs. Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for _mosquitto

from _mosquitto import Mosquitto  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: The console script next to this interpreter (what the README runs), else the module.
FLOWWIRE = [str(Path(sys.executable).with_name("flowwire"))] if Path(sys.executable).with_name("flowwire").exists() \
    else [sys.executable, "-m", "runtime.cli"]
#: Variables that would point a flow at real services; removed so tests start from a clean slate.
SERVICE_VARS = ("MQTT_BROKER", "MQTT_PORT", "MQTT_HOST", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ASSISTANT_ID",
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


@pytest.fixture
def spawn() -> Iterator[Callable[..., Process]]:
    """Start child processes; any still running at the end is killed (by its process group)."""
    started: list[Process] = []

    def make(*args: str, env: Mapping[str, str] | None = None) -> Process:
        process = Process([*FLOWWIRE, *args], env)
        started.append(process)
        return process

    yield make
    for process in started:
        process.kill()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


class Peer:
    """A plain paho client outside the flow: subscribe, publish, collect."""

    def __init__(self, port: int) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-peer-{os.getpid()}")
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        connected, self._subscribed = threading.Event(), threading.Event()
        self.client.on_connect = lambda *a: connected.set()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert connected.wait(10), "test peer did not connect"

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, 1)
        assert self._subscribed.wait(10), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def next(self, timeout: float = 20.0) -> mqtt.MQTTMessage:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no MQTT message within {timeout} s") from None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def peer(mosquitto: Mosquitto) -> Iterator[Peer]:
    p = Peer(mosquitto.port)
    yield p
    p.close()

