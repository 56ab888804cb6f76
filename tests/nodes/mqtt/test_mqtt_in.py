"""mqtt in on its own terms: dynamic subscriptions (msg.action), what it checks, its status, bad payloads.

Round trips and broker behaviour are in test_roundtrip.py and test_connection.py; these tests
pin down the node's own rules, each against a real Mosquitto.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import Flow, build, run_flow, wait_until

from _mosquitto import free_port


def broker_node(port: int, **extra: object) -> dict[str, Any]:
    return {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": port, "reconnectDelay": 0.05, "reconnectDelayMax": 0.5, **extra}


def dynamic_flow(port: int, **node: object) -> list[dict[str, Any]]:
    """A dynamic mqtt in ("in") whose messages reach "sink" and whose errors reach "errors"."""
    return [
        broker_node(port),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "", "qos": "1", "datatype": "utf8", "wires": [["sink"]], **node},
        {"id": "sink", "type": "test-sink"},
        {"id": "c", "type": "catch", "scope": ["in"], "wires": [["errors"]]},
        {"id": "errors", "type": "test-sink"},
    ]


async def subscriptions(f: Flow) -> list[dict[str, Any]]:
    f.node("sink").messages.clear()
    await f.inject("in", {"action": "getSubscriptions"})
    [msg] = await f.received("sink", 1)
    assert msg["topic"] == "subscriptions"
    return msg["payload"]  # type: ignore[no-any-return]


def spec(topic: str, qos: int = 1, datatype: str = "utf8", nl: bool = False, rap: bool = False, rh: int = 0) -> dict[str, Any]:
    return {"topic": topic, "qos": qos, "datatype": datatype, "nl": nl, "rap": rap, "rh": rh}


# -- what the node checks ----------------------------------------------------------------


@pytest.mark.parametrize(("fields", "message"), [
    ({"topic": "a/#/b", "qos": "1"}, "field 'topic'"),
    ({"topic": "a", "qos": "0", "atLeastOnce": True}, "field 'atLeastOnce': needs qos 1 \\(QoS 0 messages are never acknowledged\\)"),
])
def test_a_bad_filter_or_at_least_once_at_qos_0_is_a_validation_error(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowError, match=message):
        build([broker_node(1883), {"id": "in", "type": "mqtt in", "broker": "b", **fields}])


def test_a_dynamic_node_and_at_least_once_at_qos_1_are_valid() -> None:
    build([broker_node(1883), {"id": "in", "type": "mqtt in", "broker": "b", "topic": "", "qos": "1", "atLeastOnce": True}])


# -- dynamic subscriptions -------------------------------------------------------------------


async def test_subscribe_entries_take_the_node_defaults_and_clamp_qos(broker) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port)) as f:
        await f.inject("in", {"action": "subscribe", "topic": [
            "d/plain",
            {"topic": "d/all", "qos": 0, "datatype": "json", "nl": 1, "rap": True, "rh": "2"},
            {"topic": "d/high", "qos": "7"},
            {"topic": "d/low", "qos": -3, "datatype": "", "rh": None},
        ]})
        assert await subscriptions(f) == [
            spec("d/plain"),
            spec("d/all", qos=0, datatype="json", nl=True, rap=True, rh=2),
            spec("d/high", qos=2),
            spec("d/low", qos=0),
        ]
        await f.inject("in", {"action": "subscribe", "topic": "d/one"})
        assert [s["topic"] for s in await subscriptions(f)] == ["d/plain", "d/all", "d/high", "d/low", "d/one"]


@pytest.mark.parametrize(("node", "expected"), [
    ({"qos": "1", "nl": True, "rap": True, "rh": "2", "datatype": "json"}, spec("s/t", nl=True, rap=True, rh=2, datatype="json")),
    ({"qos": "", "rh": ""}, spec("s/t", qos=2)),
])
async def test_a_node_with_a_topic_subscribes_with_its_own_options(broker, node: dict[str, Any], expected: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port, **{"topic": "s/t", "datatype": "utf8", **node})) as f:
        assert await subscriptions(f) == [expected]


async def test_a_node_without_a_qos_subscribes_at_qos_2(broker) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port, qos="")) as f:
        await f.inject("in", {"action": "subscribe", "topic": "q/t"})
        assert await subscriptions(f) == [spec("q/t", qos=2)]


NOT_A_TOPIC = "msg.topic must be a topic string, an object {topic, qos, ...} or a list of them"


@pytest.mark.parametrize(("topic", "message"), [
    (5, NOT_A_TOPIC),
    ({"qos": 1}, NOT_A_TOPIC),
    (["ok/t", None], NOT_A_TOPIC),
    ("a/#/b", "invalid topic filter 'a/#/b': "),
    ({"topic": "t", "qos": "high"}, "invalid qos 'high'"),
    ({"topic": "t", "qos": None}, "invalid qos None"),
    ({"topic": "t", "datatype": "xml"}, "invalid datatype 'xml'"),
])
async def test_a_bad_subscribe_is_an_error_and_subscribes_nothing(broker, topic: Any, message: str) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port)) as f:
        await f.inject("in", {"action": "subscribe", "topic": topic})
        [err] = await f.received("errors", 1)
        text = err["error"]["message"]
        assert text.startswith(message) if message.endswith(": ") else text == message
        assert await subscriptions(f) == []


async def test_an_unknown_action_is_an_error_naming_the_actions(broker) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port)) as f:
        await f.inject("in", {"action": "resubscribe"})
        [err] = await f.received("errors", 1)
    assert err["error"]["message"] == ("msg.action must be subscribe, unsubscribe, connect, disconnect or getSubscriptions, "
                                       "not 'resubscribe'")


async def test_subscribing_a_topic_again_replaces_its_subscription(broker, peers) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port)) as f:
        conn = f.node("b").connection
        await f.inject("in", {"action": "subscribe", "topic": "again/t"})
        await f.inject("in", {"action": "subscribe", "topic": {"topic": "again/t", "datatype": "buffer"}})
        assert await subscriptions(f) == [spec("again/t", datatype="buffer")]
        f.node("sink").messages.clear()
        await conn.wait_subscribed(5)
        peers(broker.port).publish("again/t", b"once", qos=1)
        [msg] = await f.received("sink", 1, quiet=0.3)
    assert msg["payload"] == b"once", "delivered once, with the datatype of the second subscribe"


async def test_unsubscribe_by_name_by_entries_or_all(broker, peers) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port)) as f:
        conn = f.node("b").connection
        await f.inject("in", {"action": "subscribe", "topic": ["u/a", "u/b", "u/c", "u/d"]})
        await f.inject("in", {"action": "unsubscribe", "topic": "u/a"})
        await f.inject("in", {"action": "unsubscribe", "topic": [{"topic": "u/b"}, 5, "u/unknown"]})
        assert [s["topic"] for s in await subscriptions(f)] == ["u/c", "u/d"]
        assert f.node("errors").messages == [], "unknown names and non-names are skipped"
        await f.inject("in", {"action": "unsubscribe", "topic": True})
        assert await subscriptions(f) == []
        # The broker handles one client's packets in order: once this later SUBACK is in,
        # the unsubscribes before it have taken effect.
        await f.inject("in", {"action": "subscribe", "topic": "u/e"})
        await conn.wait_subscribed(5)
        f.node("sink").messages.clear()
        peer = peers(broker.port)
        for topic in ("u/a", "u/b", "u/c", "u/d", "u/e"):
            peer.publish(topic, topic, qos=1)
        [msg] = await f.received("sink", 1, quiet=0.3)
    assert msg["topic"] == "u/e"


async def test_connect_with_msg_broker_warns_that_the_configured_settings_are_used(broker, caplog) -> None:  # type: ignore[no-untyped-def]
    async with run_flow(dynamic_flow(broker.port)) as f:
        conn = f.node("b").connection
        await conn.wait_connected(5)
        await f.inject("in", {"action": "disconnect"})
        await wait_until(lambda: not conn.connected, 5, "the disconnect action")
        with caplog.at_level(logging.WARNING):
            await f.inject("in", {"action": "connect", "broker": {"port": 1}})
            await conn.wait_connected(5)
    assert conn.settings.port == broker.port
    assert "msg.broker (changing the broker settings at run time) is not supported; connecting with the configured settings\n" in caplog.text


# -- receiving -------------------------------------------------------------------------------


async def test_at_least_once_subscribes_a_qos_2_topic_at_qos_1_and_says_so(broker, peers, caplog) -> None:  # type: ignore[no-untyped-def]
    flow = [
        broker_node(broker.port),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "alo/t", "qos": "2", "atLeastOnce": True, "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    with caplog.at_level(logging.WARNING):
        async with run_flow(flow) as f:
            await f.node("b").connection.wait_subscribed(5)
            peers(broker.port).publish("alo/t", "x", qos=2)
            [msg] = await f.received("sink", 1)
    assert msg["qos"] == 1
    assert "at-least-once mode subscribes 'alo/t' with QoS 1" in caplog.text


async def test_mqtt5_subscription_options_reach_the_broker(broker, peers) -> None:  # type: ignore[no-untyped-def]
    peer = peers(broker.port)
    peer.publish("rh/t", "retained before", qos=1, retain=True).wait_for_publish(5)
    flow = [
        {**broker_node(broker.port), "protocolVersion": "5"},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "nl/t", "qos": "1", "nl": True, "datatype": "utf8", "wires": [["sink"]]},
        {"id": "rap", "type": "mqtt in", "broker": "b", "topic": "rap/t", "qos": "1", "rap": True, "datatype": "utf8", "wires": [["rap-sink"]]},
        {"id": "rh", "type": "mqtt in", "broker": "b", "topic": "rh/t", "qos": "1", "rh": "2", "datatype": "utf8", "wires": [["rh-sink"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "nl/t", "qos": "1"},
        {"id": "sink", "type": "test-sink"},
        {"id": "rap-sink", "type": "test-sink"},
        {"id": "rh-sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(5)
        await f.inject("out", {"payload": "own"})  # no local: the node's own connection's publish is not heard
        peer.publish("nl/t", "other", qos=1)  # a v5 message without a content type
        peer.publish("rap/t", "kept", qos=1, retain=True)  # retain as published: the flag stays set
        peer.publish("rh/t", "live", qos=1)  # retain handling 2: no retained message at subscribe time
        [m] = await f.received("sink", 1, quiet=0.3)
        [kept] = await f.received("rap-sink", 1)
        [live] = await f.received("rh-sink", 1)
    assert m["payload"] == "other"
    assert (kept["payload"], kept["retain"]) == ("kept", True)
    assert live["payload"] == "live"


@pytest.mark.parametrize("qos", [0, 1])
async def test_a_payload_that_does_not_decode_is_an_error_with_the_raw_message_and_the_next_one_arrives(broker, peers, qos: int) -> None:  # type: ignore[no-untyped-def]
    flow = dynamic_flow(broker.port, topic="bad/t", datatype="json", qos=str(qos))
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(5)
        peer = peers(broker.port)
        peer.publish("bad/t", b"{not json", qos=1)
        peer.publish("bad/t", b'{"ok": 1}', qos=1)
        [err] = await f.received("errors", 1)
        [msg] = await f.received("sink", 1)
    assert "Failed to parse JSON" in err["error"]["message"]
    assert (err["topic"], err["payload"], err["qos"], err["retain"]) == ("bad/t", b"{not json", qos, False)
    assert msg["payload"] == {"ok": 1}


# -- status ----------------------------------------------------------------------------------


def status_of_in(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*nodes, {"id": "st", "type": "status", "scope": ["in"], "wires": [["statuses"]]}, {"id": "statuses", "type": "test-sink"}]


def shown(f: Flow) -> list[tuple[Any, Any, Any]]:
    """(fill, shape, text) of each status "in" showed, in order."""
    return [(m["status"].get("fill"), m["status"].get("shape"), m["status"].get("text")) for m in f.node("statuses").messages]


async def test_status_before_connecting_is_disconnected() -> None:
    flow_with_auto_connect_off = status_of_in([{**broker_node(free_port()), "autoConnect": "false"}, *dynamic_flow(1)[1:]])
    async with run_flow(flow_with_auto_connect_off) as f:
        await f.settle()
        assert shown(f) == [("red", "ring", "disconnected")]


async def test_status_says_why_the_broker_cannot_be_reached_and_when_publishes_hold_the_flow() -> None:
    port = free_port()
    nodes = status_of_in([
        {**broker_node(port), "queueSize": "2"},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "t", "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "t", "qos": "1"},
    ])
    refused = ("red", "ring", f"cannot connect to 127.0.0.1:{port}: connection refused (is the broker running?)")
    async with run_flow({"settings": {"drainTimeout": 0.1}, "nodes": nodes}) as f:
        await wait_until(lambda: refused in shown(f), 5, "a connection-refused status")
        assert shown(f)[:3] == [("red", "ring", "disconnected"), ("yellow", "ring", "connecting"), refused]
        for n in range(3):
            await f.inject("out", {"payload": n})
        # The third publish finds two queued (queueSize 2) and holds the flow.
        await wait_until(lambda: ("yellow", "dot", "queue full (3): holding the flow") in shown(f), 5, "a queue-full status")


async def test_status_shows_the_connection_state(broker_factory) -> None:  # type: ignore[no-untyped-def]
    broker = broker_factory()
    flow = [
        *dynamic_flow(broker.port),
        {"id": "st", "type": "status", "scope": ["in"], "wires": [["statuses"]]},
        {"id": "statuses", "type": "test-sink"},
    ]

    def seen() -> list[tuple[str, str, str]]:
        return [(m["status"].get("fill"), m["status"].get("shape"), m["status"].get("text")) for m in f.node("statuses").messages]

    async with run_flow(flow) as f:
        await wait_until(lambda: ("green", "dot", "connected") in seen(), 5, "a connected status")
        assert ("yellow", "ring", "connecting") in seen()
        broker.stop()
        await wait_until(lambda: any(s[:2] == ("red", "ring") and s[2].startswith("disconnected") for s in seen()), 5,
                         "a disconnected status")
