"""mqtt-broker: the config node holding one shared connection (Node-RED's property names).

`embedded` (auto / always) starts an MQTT broker inside this process
(`_embedded.py`, amqtt on a free loopback port) and connects to it, so demo
flows run on a machine without a broker. Config nodes start before and close
after every other node, so this node owns the embedded broker's lifetime.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from runtime import ConfigNode, ConfigRef, NodeError, NodeProps, lenient, register
from runtime.secrets import redact

from ._client import PARK_LIMIT
from ._codec import OptQos, user_properties
from ._connection import UNROUTED_GRACE, BrokerConnection, BrokerSettings, Message, TLSSettings
from ._embedded import EmbeddedBroker
from ._metrics import BrokerCollector
from .tls import TlsConfig


class BrokerProps(NodeProps):
    broker: str = Field("localhost", description="host name, or a URL mqtt://host:port / mqtts://host:port")
    embedded: Literal["never", "auto", "always"] = Field(
        "never", description="run an MQTT 3.1.1 broker in this process (amqtt, free loopback port) and connect "
                             "to it: auto = when `broker` is empty, always = ignore `broker`")
    port: lenient.OptInt = Field(None, description="TCP port (default 1883, 8883 with TLS)")
    clientid: str = Field("", description="client id; random when empty (a persistent session needs a fixed one)")
    autoConnect: lenient.Bool = True
    usetls: lenient.Bool = False
    tls: Annotated[str, ConfigRef("tls-config", optional=True)] = Field("", description="id of a tls-config node")
    ca: str = Field("", description="CA certificate: path or PEM text (instead of a tls-config node)")
    cert: str = Field("", description="client certificate: path or PEM text")
    key: str = Field("", description="client private key: path or PEM text")
    passphrase: str = Field("", description="password of the client key")
    verifyservercert: lenient.Bool = True
    protocolVersion: lenient.OptInt = Field(4, description="3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0")
    keepalive: lenient.OptInt = 60
    cleansession: lenient.Bool = True
    sessionExpiry: lenient.OptInt = Field(None, description="v5 session expiry in seconds (with cleansession false: never when empty)")
    user: str = Field("", description="user name (credentials, or ${ENV})")
    password: str = Field("", description="password (credentials, or ${ENV}); never logged")
    passwordFile: str = Field("", description="read the password from this file (e.g. a container secret)")
    userProps: Any = Field("", description="v5 CONNECT user properties: object or JSON text")
    birthTopic: str = ""
    birthPayload: str = ""
    birthQos: OptQos = 0
    birthRetain: lenient.Bool = False
    closeTopic: str = ""
    closePayload: str = ""
    closeQos: OptQos = 0
    closeRetain: lenient.Bool = False
    willTopic: str = ""
    willPayload: str = ""
    willQos: OptQos = 0
    willRetain: lenient.Bool = False
    reconnectDelay: lenient.OptFloat = Field(1.0, description="first reconnect delay, seconds (doubles each attempt)")
    reconnectDelayMax: lenient.OptFloat = Field(30.0, description="longest reconnect delay, seconds")
    connectTimeout: lenient.OptFloat = 10.0
    queueSize: lenient.OptInt = Field(10_000, description="publishes kept while disconnected")
    queueFull: Literal["block", "drop-oldest"] = Field("block", description="what a full queue does")
    receiveMaximum: lenient.OptInt = Field(1000, description="v5: unacknowledged QoS>=1 messages the broker may send us")
    maxInflight: lenient.OptInt = Field(1000, description="our QoS>=1 publishes in flight before paho queues them")
    parkLimit: lenient.OptInt = Field(PARK_LIMIT, description="bytes of received messages parked while an mqtt in is paused before the socket stops being read")
    redeliveryWait: lenient.OptFloat = Field(
        UNROUTED_GRACE, ge=0, description="persistent session: seconds a redelivered message waits for its subscription before it is acknowledged and dropped"
    )


def _message(topic: str, payload: str, qos: int | None, retain: bool) -> Message | None:
    if not topic:
        return None
    return Message(topic=topic, payload=payload.encode("utf-8"), qos=qos or 0, retain=retain)


def _endpoint(props: BrokerProps) -> tuple[str, int | None, bool]:
    broker = props.broker.strip() or "localhost"
    tls = props.usetls
    if "://" in broker:
        url = urlsplit(broker)
        scheme = url.scheme.lower()
        if scheme in ("mqtts", "ssl", "tls"):
            tls = True
        elif scheme not in ("mqtt", "tcp"):
            raise NodeError(f"broker URL scheme {scheme!r} is not supported (use mqtt:// or mqtts://)")
        return url.hostname or "localhost", url.port or props.port, tls
    return broker, props.port, tls


def settings_from(props: BrokerProps, tls_node: Any | None = None) -> BrokerSettings:
    host, port, use_tls = _endpoint(props)
    password = props.password
    if props.passwordFile:
        password = Path(props.passwordFile).read_text(encoding="utf-8").strip()
    redact(password)
    tls = None
    if use_tls:
        if isinstance(tls_node, TlsConfig):
            tls = tls_node.settings()
        else:
            tls = TLSSettings(
                ca=props.ca or None,
                cert=props.cert or None,
                key=props.key or None,
                key_password=props.passphrase or None,
                verify=props.verifyservercert,
            )
        redact(tls.key_password)
    return BrokerSettings(
        host=host,
        port=port or (8883 if use_tls else 1883),
        client_id=props.clientid,
        protocol=props.protocolVersion or 4,
        keepalive=60 if props.keepalive is None else props.keepalive,
        clean_session=props.cleansession,
        session_expiry=props.sessionExpiry,
        username=props.user or None,
        password=password or None,
        tls=tls,
        birth=_message(props.birthTopic, props.birthPayload, props.birthQos, props.birthRetain),
        close=_message(props.closeTopic, props.closePayload, props.closeQos, props.closeRetain),
        will=_message(props.willTopic, props.willPayload, props.willQos, props.willRetain),
        reconnect_initial=1.0 if props.reconnectDelay is None else props.reconnectDelay,
        reconnect_max=30.0 if props.reconnectDelayMax is None else props.reconnectDelayMax,
        connect_timeout=props.connectTimeout or 10.0,
        queue_size=10_000 if props.queueSize is None else props.queueSize,
        queue_full=props.queueFull,
        receive_maximum=props.receiveMaximum,
        max_inflight=props.maxInflight or 1000,
        park_limit=props.parkLimit or PARK_LIMIT,
        redelivery_wait=UNROUTED_GRACE if props.redeliveryWait is None else props.redeliveryWait,
        user_properties=user_properties(props.userProps) or {},
        auto_connect=props.autoConnect,
    )


@register("mqtt-broker", aliases=("mqtt_broker",))
class MqttBroker(ConfigNode):
    """A connection to an MQTT broker, shared by every mqtt in / mqtt out node that names it."""

    Props = BrokerProps
    connection: BrokerConnection

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        problems = []
        try:
            _endpoint(props)
        except NodeError as exc:
            problems.append(("broker", str(exc)))
        if not props.cleansession and not props.clientid:
            problems.append(("clientid", "a persistent session (cleansession false) needs a fixed clientid"))
        if props.passwordFile and not os.path.isfile(props.passwordFile):
            problems.append(("passwordFile", f"no such file: {props.passwordFile}"))
        if props.protocolVersion not in (None, 3, 4, 5):
            problems.append(("protocolVersion", "must be 3 (3.1), 4 (3.1.1) or 5"))
        if props.embedded == "always" and props.protocolVersion == 5:
            problems.append(("protocolVersion", "the embedded broker speaks MQTT 3.1.1 only: use 4 with embedded"))
        if props.embedded == "always" and props.usetls:
            problems.append(("usetls", "the embedded broker listens without TLS on loopback"))
        try:
            user_properties(props.userProps)
        except ValueError as exc:
            problems.append(("userProps", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = None  # type: ignore[assignment]
        self.embedded: EmbeddedBroker | None = None
        self._collector = BrokerCollector(self)

    @property
    def _use_embedded(self) -> bool:
        return self.props.embedded == "always" or (self.props.embedded == "auto" and not self.props.broker.strip())

    @property
    def ready(self) -> bool:
        """Connected to the broker: `/health/ready` fails while it is not."""
        return self.connection is not None and self.connection.connected

    async def start(self) -> None:
        props = self.props
        if self._use_embedded:
            if props.protocolVersion == 5:
                raise NodeError("mqtt-broker: broker is empty and embedded is 'auto', but the embedded broker "
                                "speaks MQTT 3.1.1 only: set protocolVersion 4 or give a broker")
            self.embedded = await EmbeddedBroker.start()
            why = "embedded: always" if props.embedded == "always" else "broker is empty"
            self.log.warning("OFFLINE: MQTT goes through the embedded broker (amqtt) on %s:%d (%s); "
                             "other MQTT clients can connect there", self.embedded.host, self.embedded.port, why)
            props = props.model_copy(update={"broker": self.embedded.host, "port": self.embedded.port,
                                             "usetls": False, "tls": ""})
        tls_node = self.config_node(props.tls) if props.tls else None
        try:
            settings = settings_from(props, tls_node)
        except (OSError, ValueError) as exc:  # unreadable password file, bad certificate ...
            raise NodeError(f"mqtt-broker {props.broker}: {exc}") from None
        self.connection = BrokerConnection(settings, logger=self.log)
        self.http.add_collector(self._collector)
        await self.connection.start()

    async def close(self) -> None:
        self.http.remove_collector(self._collector)
        if self.connection is not None:
            await self.connection.close()
        if self.embedded is not None:
            await self.embedded.close()
            self.embedded = None

    def describe(self) -> str:
        s = self.connection.settings
        return json.dumps({"host": s.host, "port": s.port, "protocol": s.protocol})
