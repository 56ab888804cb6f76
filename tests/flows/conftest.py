"""Fixtures for whole-flow tests: `flowwire` child processes, a test Mosquitto and a peer client on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from _flowproc import FLOWWIRE, Process
from _mosquitto import Mosquitto
from _mqtt_peer import Peer


@pytest.fixture
def spawn() -> Iterator[Callable[..., Process]]:
    """Start `flowwire` child processes; any still running at the end is killed (by its process group)."""
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


@pytest.fixture
def peer(mosquitto: Mosquitto) -> Iterator[Peer]:
    p = Peer(mosquitto.port).start()
    yield p
    p.close()
