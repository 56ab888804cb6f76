"""Payloads and properties in and out of MQTT, the way Node-RED's MQTT nodes shape them.

Node-RED's exported strings (`"qos": "2"`, `"retain": "false"`, `""` for
unset) are read with `runtime.lenient`, as in every family; only the QoS,
which is MQTT's own, has its type here.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BeforeValidator

from runtime.lenient import is_blank


def _qos(value: Any) -> Any:
    if is_blank(value):
        return None
    qos = int(value)
    if qos not in (0, 1, 2):
        raise ValueError("qos must be 0, 1 or 2")
    return qos


#: 0/1/2 from int or string; "" is None ("take it from the message")
OptQos = Annotated[int | None, BeforeValidator(_qos)]


# -- incoming ---------------------------------------------------------------------------

DATATYPES = ("auto", "auto-detect", "utf8", "buffer", "json", "base64")


class PayloadError(ValueError):
    pass


def decode_payload(raw: bytes, datatype: str, content_type: str | None = None) -> Any:
    """bytes from the wire → msg.payload for `datatype` (Node-RED's mqtt in output choices).

    auto / auto-detect: a JSON object or array → dict / list (also any JSON when the v5
    content type says application/json), valid UTF-8 → str, anything else → bytes.
    """
    if datatype in ("auto-detect", "auto"):
        if raw[:1] in (b"{", b"[") or (content_type and "json" in content_type):
            try:
                return json.loads(raw)
            except ValueError:
                pass
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if datatype == "utf8":
        return raw.decode("utf-8", errors="replace")
    if datatype == "buffer":
        return raw
    if datatype == "json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise PayloadError(f"Failed to parse JSON string: {exc}") from None
    if datatype == "base64":
        return base64.b64encode(raw).decode("ascii")
    raise PayloadError(f"unknown datatype {datatype!r}")


#: paho's name of each MQTT 5 publish property → Node-RED's msg key, a conversion, and
#: whether an empty value (no user properties, subscription id 0) counts as absent.
_INCOMING: tuple[tuple[str, str, Any, bool], ...] = (
    ("ResponseTopic", "responseTopic", None, False),
    ("CorrelationData", "correlationData", bytes, False),
    ("ContentType", "contentType", None, False),
    ("UserProperty", "userProperties", dict, True),
    ("MessageExpiryInterval", "messageExpiryInterval", None, False),
    ("PayloadFormatIndicator", "payloadFormatIndicator", bool, False),
    ("SubscriptionIdentifier", "subscriptionIdentifier", None, True),
)


def incoming_properties(msg: dict[str, Any], props: Properties | None) -> None:
    """Copy MQTT 5 publish properties onto msg with Node-RED's names."""
    if props is None:
        return
    get = props.__dict__.get
    for name, key, convert, skip_empty in _INCOMING:
        value = get(name)
        if value is None or (skip_empty and not value):
            continue
        msg[key] = convert(value) if convert is not None else value


# -- outgoing ---------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"type": "Buffer", "data": list(value)}
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def encode_payload(payload: Any) -> bytes:
    """msg.payload → bytes: dict/list as JSON, str as UTF-8, bytes as they are, numbers/booleans as text."""
    kind = type(payload)
    if kind is bytes:
        return payload
    if kind is str:
        return payload.encode("utf-8")
    if kind is dict or kind is list:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode("utf-8")
    if payload is None:
        return b""
    if kind is bool:
        return b"true" if payload else b"false"
    if kind is int:
        return str(payload).encode()
    if kind is float:
        return (str(int(payload)) if payload.is_integer() else repr(payload)).encode()
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode("utf-8")


def user_properties(value: Any) -> dict[str, str] | None:
    """A dict, or Node-RED's JSON text of one; None when empty."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise PayloadError(f"user properties must be a JSON object, not {value!r}") from None
    if not isinstance(value, dict):
        raise PayloadError("user properties must be an object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def outgoing_properties(
    msg: dict[str, Any],
    *,
    response_topic: str = "",
    content_type: str = "",
    correlation: str = "",
    expiry: int | None = None,
    user_props: dict[str, str] | None = None,
) -> Properties | None:
    """MQTT 5 publish properties from msg (Node-RED names), falling back to the node's settings."""
    props: Properties | None = None

    def ensure() -> Properties:
        nonlocal props
        if props is None:
            props = Properties(PacketTypes.PUBLISH)
        return props

    value = msg.get("responseTopic") or response_topic
    if value:
        ensure().ResponseTopic = str(value)
    value = msg.get("correlationData") or correlation
    if value:
        ensure().CorrelationData = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    value = msg.get("contentType") or content_type
    if value:
        ensure().ContentType = str(value)
    value = msg.get("messageExpiryInterval", expiry)
    if value not in (None, ""):
        ensure().MessageExpiryInterval = int(value)
    value = msg.get("payloadFormatIndicator")
    if value is not None:
        ensure().PayloadFormatIndicator = 1 if value else 0
    value = user_properties(msg.get("userProperties")) or user_props
    if value:
        ensure().UserProperty = list(value.items())
    return props
