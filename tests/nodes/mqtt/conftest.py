"""Fixtures for the MQTT tests: a real Mosquitto per test and a plain paho peer client."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/ for _mosquitto

from _mosquitto import Mosquitto, make_certs  # noqa: E402

__all__ = ["Mosquitto", "Peer", "make_certs", "until"]


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


async def until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait on a condition without blocking the event loop; fail with `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.005)


class Peer:
    """A plain paho client (its own network thread) that publishes and collects, outside the flow."""

    def __init__(self, port: int, *, protocol: int = mqtt.MQTTv311, client_id: str | None = None,
                 clean: bool = True, **connect: Any) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self.client_id = client_id or f"peer-{uuid.uuid4().hex[:8]}"
        kwargs: dict[str, Any] = {"client_id": self.client_id, "protocol": protocol}
        if protocol != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.on_message = self._on_message
        self._connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self._connected.set() if not rc.is_failure else None
        self.port = port
        self.protocol = protocol
        self.clean = clean
        self.connect_kwargs = connect

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def start(self, timeout: float = 10.0) -> Peer:
        if self.protocol == mqtt.MQTTv5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 0 if self.clean else 3600
            self.client.connect("127.0.0.1", self.port, 30, clean_start=self.clean, properties=props)
        else:
            self.client.connect("127.0.0.1", self.port, 30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError("peer client did not connect")
        return self

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 5.0) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos)
        if not done.wait(timeout):
            raise TimeoutError(f"no SUBACK for {topic}")

    def publish(self, topic: str, payload: Any, qos: int = 0, retain: bool = False, properties: Any = None) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos, retain, properties)

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [m.payload for m in self.messages]

    def wait_count(self, count: int, timeout: float = 10.0) -> list[mqtt.MQTTMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"peer got {len(self.messages)} message(s), expected {count} within {timeout} s")
            time.sleep(0.005)
        with self._lock:
            return list(self.messages)

    async def until_count(self, count: int, timeout: float = 10.0) -> list[mqtt.MQTTMessage]:
        await until(lambda: len(self.messages) >= count, timeout, f"peer {self.client_id} receiving {count} message(s) (has {len(self.messages)})")
        with self._lock:
            return list(self.messages)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def peers() -> Iterator[Callable[..., Peer]]:
    made: list[Peer] = []

    def make(port: int, **kwargs: Any) -> Peer:
        peer = Peer(port, **kwargs).start()
        made.append(peer)
        return peer

    yield make
    for peer in made:
        try:
            peer.stop()
        except Exception:
            pass
