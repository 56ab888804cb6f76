"""mqtt in: subscribe and emit one message per publish received (Node-RED's properties)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Annotated, Any, Literal

from paho.mqtt.client import MQTTMessage
from pydantic import Field

from runtime import ConfigRef, Msg, Node, NodeError, NodeProps, Output, lenient, register

from ._codec import OptQos, PayloadError, decode_payload, incoming_properties
from ._connection import Ack, BrokerConnection, Subscription
from ._topic import validate_filter
from .broker import MqttBroker

Datatype = Literal["auto", "auto-detect", "utf8", "buffer", "json", "base64"]


class MqttInProps(NodeProps):
    broker: Annotated[str, ConfigRef("mqtt-broker")]
    topic: str = Field("", description="filter with + / #, or $share/<group>/<filter>; empty = dynamic (msg.action)")
    qos: OptQos = Field(2, description="maximum QoS of the subscription")
    datatype: Datatype = Field("auto-detect", description="what msg.payload becomes")
    nl: lenient.Bool = Field(False, description="v5 no local: not our own publishes")
    rap: lenient.Bool = Field(False, description="v5 retain as published")
    rh: lenient.OptInt = Field(0, description="v5 retain handling 0/1/2")
    atLeastOnce: lenient.Bool = Field(False, description="acknowledge only when the flow has finished the message (QoS >= 1)")
    queueSize: lenient.OptInt = Field(1000, description="received messages waiting to enter the flow before further ones are parked")


def _subscription_spec(entry: Any, default_qos: int, default_datatype: str) -> dict[str, Any]:
    if isinstance(entry, str):
        entry = {"topic": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("topic"), str):
        raise NodeError("msg.topic must be a topic string, an object {topic, qos, ...} or a list of them")
    topic = entry["topic"]
    problem = validate_filter(topic)
    if problem:
        raise NodeError(f"invalid topic filter {topic!r}: {problem}")
    qos = entry.get("qos", default_qos)
    try:
        qos = int(qos)
    except (TypeError, ValueError):
        raise NodeError(f"invalid qos {qos!r}") from None
    datatype = entry.get("datatype") or default_datatype
    if datatype not in Datatype.__args__:  # type: ignore[attr-defined]
        raise NodeError(f"invalid datatype {datatype!r}")
    return {
        "topic": topic,
        "qos": max(0, min(2, qos)),
        "datatype": datatype,
        "nl": bool(entry.get("nl", False)),
        "rap": bool(entry.get("rap", False)),
        "rh": int(entry.get("rh", 0) or 0),
    }


@register("mqtt in", aliases=("mqtt_in",))
class MqttIn(Node):
    """Subscribes to a topic filter and emits every message published on it."""

    Props = MqttInProps

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        problems = []
        if props.topic:
            problem = validate_filter(props.topic)
            if problem:
                problems.append(("topic", problem))
        if props.atLeastOnce and props.qos == 0:
            problems.append(("atLeastOnce", "needs qos 1 (QoS 0 messages are never acknowledged)"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn: BrokerConnection | None = None
        self._queue: deque[tuple[MQTTMessage, Ack | None, str]] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._subs: dict[str, Subscription] = {}
        self._paused = False
        self._stopped = False
        hw = self.props.queueSize or 1000
        self._high, self._low = max(1, hw), max(0, hw // 2)
        self._v5 = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        broker: MqttBroker = self.config_node(self.props.broker)
        self.conn = broker.connection
        self._v5 = int(self.conn.settings.protocol) == 5
        self.conn.add_listener(self._on_state)
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name=f"mqtt-in-{self.id}")
        if self.props.topic:
            qos = 2 if self.props.qos is None else self.props.qos
            self._subscribe(
                {"topic": self.props.topic, "qos": qos, "datatype": self.props.datatype,
                 "nl": self.props.nl, "rap": self.props.rap, "rh": self.props.rh or 0}
            )

    async def stop(self) -> None:
        # Stop delivering; nothing is unsubscribed at the broker, so a persistent
        # session keeps collecting messages for the next start. Unacknowledged
        # messages still queued here are redelivered by the broker (QoS >= 1).
        self._stopped = True
        if self.conn is not None:
            for sub in self._subs.values():
                self.conn.unsubscribe(sub, send=False)
            self.conn.resume(self)
        self._queue.clear()
        if self._pump_task is not None:
            self._pump_task.cancel()

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.remove_listener(self._on_state)

    # -- subscriptions -----------------------------------------------------------------------

    def _subscribe(self, spec: dict[str, Any]) -> None:
        assert self.conn is not None
        old = self._subs.pop(spec["topic"], None)
        if old is not None:
            self.conn.unsubscribe(old)
        qos = spec["qos"]
        if self.props.atLeastOnce and qos == 2:
            # QoS 2 state lives in this process's memory (PUBREL resent after a crash, not the
            # PUBLISH): a crash before the flow finished would lose the message. QoS 1 does not.
            self.warn(f"at-least-once mode subscribes {spec['topic']!r} with QoS 1 (QoS 2 cannot survive a crash mid-flow)")
            qos = 1
        datatype = spec["datatype"]
        enqueue = self._enqueue

        def deliver(message: MQTTMessage, ack: Ack | None, datatype: str = datatype) -> None:
            enqueue(message, ack, datatype)

        sub = Subscription(
            topic=spec["topic"], qos=qos, deliver=deliver, no_local=spec["nl"],
            retain_as_published=spec["rap"], retain_handling=spec["rh"], owner=self, spec=spec,
        )
        self._subs[spec["topic"]] = sub
        self.conn.subscribe(sub)

    def _enqueue(self, message: MQTTMessage, ack: Ack | None, datatype: str) -> None:
        if self._stopped:
            return  # not acknowledged: redelivered next session
        queue = self._queue
        queue.append((message, ack, datatype))
        # Every QoS pauses: brokers do not all respect their in-flight window (Mosquitto
        # 2.0.11 sends ~20 more per ack), so the window alone does not bound this queue.
        if len(queue) >= self._high and not self._paused:
            self._paused = True
            assert self.conn is not None
            self.conn.pause(self)
        wake = self._wake
        if wake is not None:
            self._wake = None
            wake.set_result(None)

    async def _pump(self) -> None:
        """Move received messages into the flow; `emit` waits while the window is full."""
        queue = self._queue
        loop = asyncio.get_running_loop()
        alo = self.props.atLeastOnce
        v5 = self._v5
        emit = self.emit
        while True:
            if not queue:
                self._wake = loop.create_future()
                await self._wake
                continue
            message, ack, datatype = queue.popleft()
            if self._paused and len(queue) <= self._low:
                self._paused = False
                assert self.conn is not None
                self.conn.resume(self)
            try:
                payload = decode_payload(message.payload, datatype, getattr(message.properties, "ContentType", None) if v5 else None)
            except PayloadError as exc:
                self.error(NodeError(str(exc)), {"topic": message.topic, "payload": message.payload, "qos": message.qos, "retain": message.retain})
                if ack is not None:
                    ack.release()
                continue
            msg = {"topic": message.topic, "payload": payload, "qos": message.qos, "retain": bool(message.retain)}
            if v5:
                incoming_properties(msg, message.properties)
            if ack is None:
                await emit(msg)
            elif alo:
                await emit(msg, ack.release)
            else:
                await emit(msg)
                ack.release()

    # -- dynamic mode (msg.action) -----------------------------------------------------------

    def on_input(self, msg: Msg) -> Output:
        action = msg.get("action")
        conn = self.conn
        assert conn is not None
        if action == "subscribe":
            topics = msg.get("topic")
            entries = topics if isinstance(topics, list) else [topics]
            specs = [_subscription_spec(e, 2 if self.props.qos is None else self.props.qos, self.props.datatype) for e in entries]
            for spec in specs:
                self._subscribe(spec)
            return None
        if action == "unsubscribe":
            topics = msg.get("topic")
            if topics is True:
                names = list(self._subs)
            else:
                entries = topics if isinstance(topics, list) else [topics]
                names = [e.get("topic") if isinstance(e, dict) else e for e in entries]
            for name in names:
                sub = self._subs.pop(name, None) if isinstance(name, str) else None
                if sub is not None:
                    conn.unsubscribe(sub)
            return None
        if action == "connect":
            if msg.get("broker"):
                self.warn("msg.broker (changing the broker settings at run time) is not supported; connecting with the configured settings")
            conn.connect()
            return None
        if action == "disconnect":
            conn.disconnect()
            return None
        if action == "getSubscriptions":
            msg["payload"] = [
                dict(sub.spec)
                for sub in self._subs.values()
            ]
            msg["topic"] = "subscriptions"
            return msg
        raise NodeError(f"msg.action must be subscribe, unsubscribe, connect, disconnect or getSubscriptions, not {action!r}")

    # -- status ------------------------------------------------------------------------------

    def _on_state(self, state: str, text: str) -> None:
        _show_state(self, state, text)


def _show_state(node: Node, state: str, text: str) -> None:
    if state == "connected":
        node.status("green", "dot", "connected")
    elif state == "connecting":
        node.status("yellow", "ring", "connecting")
    elif state == "queue-full":
        node.status("yellow", "dot", text)
    elif state == "error":
        node.status("red", "ring", text)
    else:
        node.status("red", "ring", text or "disconnected")
