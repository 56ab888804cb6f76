"""mqtt-broker: the config node holding one shared connection (Node-RED's property names)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from runtime import ConfigNode, ConfigRef, NodeError, NodeProps, register
from runtime.secrets import redact

from ._codec import Bool, OptFloat, OptInt, OptQos, user_properties
from ._connection import BrokerConnection, BrokerSettings, Message, TLSSettings
from .tls import TlsConfig


class BrokerProps(NodeProps):
    broker: str = Field("localhost", description="host name, or a URL mqtt://host:port / mqtts://host:port")
    port: OptInt = Field(None, description="TCP port (default 1883, 8883 with TLS)")
    clientid: str = Field("", description="client id; random when empty (a persistent session needs a fixed one)")
    autoConnect: Bool = True
    usetls: Bool = False
    tls: Annotated[str, ConfigRef("tls-config", optional=True)] = Field("", description="id of a tls-config node")
    ca: str = Field("", description="CA certificate: path or PEM text (instead of a tls-config node)")
    cert: str = Field("", description="client certificate: path or PEM text")
    key: str = Field("", description="client private key: path or PEM text")
    passphrase: str = Field("", description="password of the client key")
    verifyservercert: Bool = True
    protocolVersion: OptInt = Field(4, description="3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0")
    keepalive: OptInt = 60
    cleansession: Bool = True
    sessionExpiry: OptInt = Field(None, description="v5 session expiry in seconds (with cleansession false: never when empty)")
    user: str = Field("", description="user name (credentials, or ${ENV})")
    password: str = Field("", description="password (credentials, or ${ENV}); never logged")
    passwordFile: str = Field("", description="read the password from this file (e.g. a container secret)")
    userProps: Any = Field("", description="v5 CONNECT user properties: object or JSON text")
    birthTopic: str = ""
    birthPayload: str = ""
    birthQos: OptQos = 0
    birthRetain: Bool = False
    closeTopic: str = ""
    closePayload: str = ""
    closeQos: OptQos = 0
    closeRetain: Bool = False
    willTopic: str = ""
    willPayload: str = ""
    willQos: OptQos = 0
    willRetain: Bool = False
    reconnectDelay: OptFloat = Field(1.0, description="first reconnect delay, seconds (doubles each attempt)")
    reconnectDelayMax: OptFloat = Field(30.0, description="longest reconnect delay, seconds")
    connectTimeout: OptFloat = 10.0
    queueSize: OptInt = Field(10_000, description="publishes kept while disconnected")
    queueFull: Literal["block", "drop-oldest"] = Field("block", description="what a full queue does")
    receiveMaximum: OptInt = Field(1000, description="v5: unacknowledged QoS>=1 messages the broker may send us")
    maxInflight: OptInt = Field(1000, description="our QoS>=1 publishes in flight before paho queues them")


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
        user_properties=user_properties(props.userProps) or {},
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
        try:
            user_properties(props.userProps)
        except ValueError as exc:
            problems.append(("userProps", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = None  # type: ignore[assignment]

    async def start(self) -> None:
        tls_node = self.config_node(self.props.tls) if self.props.tls else None
        try:
            settings = settings_from(self.props, tls_node)
        except (OSError, ValueError) as exc:  # unreadable password file, bad certificate ...
            raise NodeError(f"mqtt-broker {self.props.broker}: {exc}") from None
        self.connection = BrokerConnection(settings, logger=self.log)
        self.connection._want_connected = self.props.autoConnect
        await self.connection.start()

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    def describe(self) -> str:
        s = self.connection.settings
        return json.dumps({"host": s.host, "port": s.port, "protocol": s.protocol})
