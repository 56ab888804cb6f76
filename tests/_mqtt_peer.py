"""A plain paho MQTT client for tests: publishes and collects from outside the flow under test.

    peer = Peer(broker.port).start()
    peer.subscribe("out/#")
    peer.publish("in/x", "hello", qos=1)
    msg = peer.next()                       # blocking, in arrival order (subprocess tests)
    got = await peer.until_count(3)         # without blocking the event loop (in-process tests)
    peer.close()

It runs paho's own network thread, so it keeps working while the event loop or
a child process under test is busy.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from runtime.testing import wait_until


class Peer:
    """One MQTT client (v3.1.1 or v5) with every received message kept in `messages`."""

    def __init__(self, port: int, *, protocol: int = mqtt.MQTTv311, client_id: str | None = None,
                 clean: bool = True) -> None:
        self.port = port
        self.protocol = protocol
        self.clean = clean
        self.client_id = client_id or f"peer-{uuid.uuid4().hex[:8]}"
        self.messages: list[mqtt.MQTTMessage] = []
        # Guards `messages` and `_read` against paho's network thread; notified on every arrival.
        self._arrived = threading.Condition()
        self._read = 0
        self._connected = threading.Event()
        kwargs: dict[str, Any] = {"client_id": self.client_id, "protocol": protocol}
        if protocol != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            self._connected.set()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    def start(self, timeout: float = 10.0) -> Peer:
        """Connect and wait for the CONNACK; a persistent session (`clean=False`) survives reconnects."""
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 0 if self.clean else 3600
            self.client.connect("127.0.0.1", self.port, 30, clean_start=self.clean, properties=props)
        else:
            self.client.connect("127.0.0.1", self.port, 30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise AssertionError(f"peer {self.client_id} did not connect to port {self.port} within {timeout} s")
        return self

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 5.0) -> None:
        """Subscribe and wait for the SUBACK, so messages published afterwards are not missed."""
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(topic, qos)
        if not done.wait(timeout):
            raise AssertionError(f"peer {self.client_id}: no SUBACK for {topic!r} within {timeout} s")

    def publish(self, topic: str, payload: Any, qos: int = 0, retain: bool = False,
                properties: Properties | None = None) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos, retain, properties)

    def payloads(self) -> list[bytes]:
        with self._arrived:
            return [m.payload for m in self.messages]

    def next(self, timeout: float = 20.0) -> mqtt.MQTTMessage:
        """The oldest message not yet returned by `next`, waiting (blocking) up to `timeout` s for it."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) > self._read, timeout):
                raise AssertionError(f"peer {self.client_id}: no MQTT message within {timeout} s")
            self._read += 1
            return self.messages[self._read - 1]

    def unread(self) -> list[mqtt.MQTTMessage]:
        """Messages that arrived but were not returned by `next`."""
        with self._arrived:
            return self.messages[self._read:]

    async def until_count(self, count: int, timeout: float = 10.0) -> list[mqtt.MQTTMessage]:
        """All messages once at least `count` have arrived, waiting without blocking the event loop."""
        try:
            await wait_until(lambda: len(self.messages) >= count, timeout, f"peer {self.client_id} receiving {count} message(s)")
        except AssertionError:
            raise AssertionError(f"peer {self.client_id} got {len(self.messages)} message(s), expected {count} within {timeout} s") from None
        with self._arrived:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
