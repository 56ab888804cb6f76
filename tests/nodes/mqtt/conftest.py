"""Fixtures for the MQTT tests: a real Mosquitto per test and plain paho peer clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _mosquitto import Mosquitto
from _mqtt_peer import Peer


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Start Mosquitto instances with per-test options; all are stopped (by PID) afterwards."""
    started: list[Mosquitto] = []

    def make(name: str = "mosquitto", start: bool = True, **options: Any) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"{name}-{len(started)}", **options)
        started.append(broker)
        if start:
            broker.start()
        return broker

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(broker_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return broker_factory()


@pytest.fixture
def peers() -> Iterator[Callable[..., Peer]]:
    """Connected peer clients (`peers(port, protocol=..., client_id=..., clean=...)`), closed afterwards."""
    made: list[Peer] = []

    def make(port: int, **kwargs: Any) -> Peer:
        peer = Peer(port, **kwargs).start()
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.close()
