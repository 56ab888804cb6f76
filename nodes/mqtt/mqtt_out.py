"""mqtt out: publish msg.payload (Node-RED's properties; node settings win over msg)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from runtime import ConfigRef, Msg, Node, NodeError, NodeProps, Output, lenient, register

from ._codec import OptQos, PayloadError, encode_payload, outgoing_properties, user_properties
from ._connection import BrokerConnection, DoneCallback
from ._topic import has_wildcard
from .broker import MqttBroker
from .mqtt_in import _show_state


def _opt_bool(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class MqttOutProps(NodeProps):
    broker: Annotated[str, ConfigRef("mqtt-broker")]
    topic: str = Field("", description="topic; empty = msg.topic")
    qos: OptQos = Field(None, description="0/1/2; empty = msg.qos (default 0)")
    retain: Any = Field("", description="true/false; empty = msg.retain (default false)")
    respTopic: str = Field("", description="v5 response topic (msg.responseTopic wins)")
    contentType: str = Field("", description="v5 content type (msg.contentType wins)")
    correl: str = Field("", description="v5 correlation data (msg.correlationData wins)")
    expiry: lenient.OptInt = Field(None, description="v5 message expiry interval, seconds")
    userProps: Any = Field("", description="v5 user properties: object or JSON text (msg.userProperties wins)")


@register("mqtt out", aliases=("mqtt_out",))
class MqttOut(Node):
    """Publishes msg.payload to a topic; QoS 1/2 messages complete when the broker acknowledged them."""

    Props = MqttOutProps

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        problems = []
        if props.topic and has_wildcard(props.topic):
            problems.append(("topic", "a publish topic cannot contain + or #"))
        try:
            user_properties(props.userProps)
        except ValueError as exc:
            problems.append(("userProps", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn: BrokerConnection | None = None
        p = self.props
        self._retain = _opt_bool(p.retain)
        self._user_props = user_properties(p.userProps)
        self._v5 = False
        self._msg: Msg | None = None

    async def start(self) -> None:
        broker: MqttBroker = self.config_node(self.props.broker)
        self.conn = broker.connection
        self._v5 = int(self.conn.settings.protocol) == 5
        self.conn.add_listener(self._on_state)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.remove_listener(self._on_state)

    def on_input(self, msg: Msg) -> Output:
        p = self.props
        topic = p.topic or msg.get("topic")
        if not topic or not isinstance(topic, str):
            raise NodeError("Invalid topic specified: set the node's topic or msg.topic")
        if "+" in topic or "#" in topic:
            raise NodeError(f"Invalid topic specified: {topic!r} contains a wildcard")
        qos = p.qos
        if qos is None:
            qos = msg.get("qos") or 0
            if type(qos) is not int:
                try:
                    qos = int(qos)
                except (TypeError, ValueError):
                    raise NodeError(f"invalid msg.qos {msg.get('qos')!r}") from None
            if qos not in (0, 1, 2):
                raise NodeError(f"invalid msg.qos {qos!r}")
        retain = self._retain
        if retain is None:
            value = msg.get("retain", False)
            retain = value is True or value == "true"
        properties = None
        if self._v5:
            try:
                properties = outgoing_properties(
                    msg, response_topic=p.respTopic, content_type=p.contentType,
                    correlation=p.correl, expiry=p.expiry, user_props=self._user_props,
                )
            except (PayloadError, ValueError, TypeError) as exc:
                raise NodeError(f"invalid MQTT 5 property: {exc}") from None
        payload = encode_payload(msg.get("payload"))
        assert self.conn is not None
        self._msg = msg
        self.conn.publish(topic, payload, qos, retain, properties, self._defer)
        self._msg = None
        return None

    def _defer(self) -> DoneCallback:
        """Keep the message open until the broker acknowledged it (or it was dropped)."""
        msg = self._msg
        held = self.hold(msg)

        def done(error: str | None) -> None:
            if error is None or error.startswith("dropped"):
                held.done()
            else:
                held.error(NodeError(error), msg)

        return done

    def _on_state(self, state: str, text: str) -> None:
        _show_state(self, state, text)
