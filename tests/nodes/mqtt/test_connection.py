"""The shared broker connection: reconnects, queueing, credentials, TLS, MQTT 5, dynamic mode."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import paho.mqtt.client as mqtt
import pytest
from _mosquitto import make_certs
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from nodes.mqtt._connection import BrokerConnection, BrokerSettings, Subscription
from runtime.testing import run_flow, wait_until


def broker_node(port: int, **extra: object) -> dict:
    return {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": port, "reconnectDelay": 0.05, "reconnectDelayMax": 0.5, **extra}


def statuses(sink) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["status"].get("text", "") for m in sink.messages]


async def test_broker_absent_at_start_then_appears(broker_factory, peers):
    broker = broker_factory(start=False)
    flow = [
        broker_node(broker.port),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "late/t", "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
        {"id": "st", "type": "status", "scope": ["in"], "wires": [["statuses"]]},
        {"id": "statuses", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await wait_until(lambda: any("refused" in t for t in statuses(f.node("statuses"))), 5, "an error status while the broker is away")
        broker.start()
        await f.node("b").connection.wait_subscribed(10)
        assert statuses(f.node("statuses"))[-1] == "connected"
        peers(broker.port).publish("late/t", "hello", qos=1)
        [m] = await f.received("sink", 1)
        assert m["payload"] == "hello"


async def test_wrong_password_gives_a_clear_status_and_no_crash(broker_factory, caplog):
    broker = broker_factory(users={"alice": "right-password"})
    flow = [
        broker_node(broker.port, user="alice", password="wrong-password-123"),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "x", "qos": "0"},
        {"id": "st", "type": "status", "scope": ["in"], "wires": [["statuses"]]},
        {"id": "statuses", "type": "test-sink"},
    ]
    caplog.set_level(logging.DEBUG)
    async with run_flow(flow) as f:
        await wait_until(lambda: any("Not authorized" in t for t in statuses(f.node("statuses"))), 5, "a 'not authorized' status")
        text = [t for t in statuses(f.node("statuses")) if "Not authorized" in t][0]
        assert text == "connection refused: Not authorized"
        assert not f.node("b").connection.connected
    assert "wrong-password-123" not in caplog.text
    assert any("Not authorized" in r.getMessage() for r in caplog.records)


async def test_right_password_from_env_connects(broker_factory, peers):
    broker = broker_factory(users={"alice": "s3cret-pw"})
    flow = [
        broker_node(broker.port, user="alice", password="${MQTT_PASSWORD}"),
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "auth/t", "qos": "1"},
    ]
    async with run_flow(flow, env={"MQTT_PASSWORD": "s3cret-pw"}) as f:
        await f.node("b").connection.wait_connected(5)


async def test_tls_with_ca_and_client_certificate(broker_factory, tmp_path):
    certs = make_certs(tmp_path / "certs")
    broker = broker_factory(certs=certs)
    flow = [
        broker_node(broker.port, usetls=True, tls="tls1"),
        {"id": "tls1", "type": "tls-config", "ca": str(certs.ca), "cert": str(certs.client_cert), "key": str(certs.client_key)},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "tls/t", "qos": "1", "wires": [["sink"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "tls/t", "qos": "1"},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(10)
        for i in range(5):
            await f.inject("out", {"payload": {"i": i}})
        msgs = await f.received("sink", 5)
        assert [m["payload"]["i"] for m in msgs] == list(range(5))

    # inline settings, PEM text instead of paths; no client certificate → the broker refuses
    flow = [
        broker_node(broker.port, usetls=True, ca=certs.ca.read_text()),
        {"id": "st", "type": "status", "wires": [["statuses"]]},
        {"id": "statuses", "type": "test-sink"},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "tls/t"},
    ]
    async with run_flow(flow) as f:
        await wait_until(lambda: any(m["status"].get("fill") == "red" for m in f.node("statuses").messages), 10, "a TLS error status")
        assert not f.node("b").connection.connected


async def test_tls_verification_failure_is_reported(broker_factory, tmp_path):
    certs = make_certs(tmp_path / "certs")
    other = make_certs(tmp_path / "other")
    broker = broker_factory(certs=certs, require_certificate=False)
    flow = [
        broker_node(broker.port, usetls=True, ca=str(other.ca)),
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "tls/t"},
        {"id": "st", "type": "status", "wires": [["statuses"]]},
        {"id": "statuses", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await wait_until(lambda: any("certificate verif" in t for t in statuses(f.node("statuses"))), 10, "a certificate status")
    flow[0] = broker_node(broker.port, usetls=True, ca=str(other.ca), verifyservercert=False)
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_connected(10)


async def test_mqtt5_properties_both_ways(broker, peers):
    peer = peers(broker.port, protocol=mqtt.MQTTv5)
    peer.subscribe("v5/out", 1)
    flow = [
        broker_node(broker.port, protocolVersion="5"),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "v5/in", "qos": "1", "wires": [["sink"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "v5/out", "qos": "1", "userProps": '{"node": "set"}'},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(5)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = "v5/reply"
        props.CorrelationData = b"\x01corr"
        props.ContentType = "application/json"
        props.UserProperty = [("a", "1"), ("b", "two")]
        props.MessageExpiryInterval = 60
        peer.publish("v5/in", b"42", qos=1, properties=props)
        [m] = await f.received("sink", 1)
        assert m["payload"] == 42  # content type application/json → parsed
        assert m["responseTopic"] == "v5/reply"
        assert m["correlationData"] == b"\x01corr"
        assert m["contentType"] == "application/json"
        assert m["userProperties"] == {"a": "1", "b": "two"}
        assert 0 < m["messageExpiryInterval"] <= 60

        await f.inject("out", {"payload": {"ok": True}, "responseTopic": "r/t", "correlationData": "abc",
                               "contentType": "text/plain", "messageExpiryInterval": 30})
        [got] = await peer.until_count(1)
        p = got.properties
        assert (p.ResponseTopic, p.CorrelationData, p.ContentType) == ("r/t", b"abc", "text/plain")
        assert dict(p.UserProperty) == {"node": "set"}
        assert json.loads(got.payload) == {"ok": True}


async def test_shared_subscription_splits_the_load(broker, peers):
    peer = peers(broker.port)
    flow = [
        broker_node(broker.port),
        {**broker_node(broker.port), "id": "b2"},
        {"id": "in1", "type": "mqtt in", "broker": "b", "topic": "$share/g/sh/+", "qos": "1", "wires": [["s1"]]},
        {"id": "in2", "type": "mqtt in", "broker": "b2", "topic": "$share/g/sh/+", "qos": "1", "wires": [["s2"]]},
        {"id": "s1", "type": "test-sink"},
        {"id": "s2", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(5)
        await f.node("b2").connection.wait_subscribed(5)
        for i in range(200):
            peer.publish("sh/t", str(i), qos=1)
        await wait_until(lambda: len(f.node("s1").messages) + len(f.node("s2").messages) >= 200, 10, "200 messages across both")
        await f.idle()
        got = [m["payload"] for m in f.node("s1").messages + f.node("s2").messages]
        assert sorted(got, key=int) == [str(i) for i in range(200)]  # each exactly once
        assert f.node("s1").messages and f.node("s2").messages  # and both members took some


async def test_publishes_while_disconnected_are_queued_and_sent_in_order(broker_factory):
    broker = broker_factory()
    flow = [
        broker_node(broker.port),
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "q/t"},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "q/t", "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        await conn.wait_subscribed(5)
        broker.stop()
        await wait_until(lambda: not conn.connected, 5, "the disconnect")
        for i in range(50):
            await f.inject("out", {"payload": i, "qos": i % 3})
        assert len(conn._backlog) == 50
        broker.start()
        msgs = await f.received("sink", 50, timeout=10)
        payloads = [int(m["payload"]) for m in msgs]
        assert sorted(payloads) == list(range(50))
        # order is kept per QoS level (QoS 2 is delivered on PUBREL, so levels interleave)
        for q in range(3):
            assert [p for p in payloads if p % 3 == q] == list(range(q, 50, 3))


async def test_full_queue_drops_oldest_when_configured(broker_factory, caplog):
    broker = broker_factory()
    flow = [
        broker_node(broker.port, queueSize="10", queueFull="drop-oldest"),
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "q/t", "qos": "1"},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "q/t", "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        await conn.wait_subscribed(5)
        broker.stop()
        await wait_until(lambda: not conn.connected, 5, "the disconnect")
        for i in range(30):
            await f.inject("out", {"payload": i})
        assert conn.dropped == 20
        assert f.runtime.in_flight == 10  # dropped messages completed; queued ones are held open
        assert "dropped" in caplog.text
        broker.start()
        msgs = await f.received("sink", 10, timeout=10)
        assert [m["payload"] for m in msgs] == [str(i) for i in range(20, 30)]


async def test_birth_close_and_will(broker, peers):
    peer = peers(broker.port)
    peer.subscribe("status/#", 1)
    flow = [
        broker_node(broker.port, birthTopic="status/birth", birthPayload="online", birthQos="1",
                    closeTopic="status/close", closePayload="bye", closeQos="1",
                    willTopic="status/will", willPayload="gone", willQos="1", keepalive="5"),
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        await conn.wait_connected(5)
        await wait_until(lambda: b"online" in peer.payloads(), 5, "the birth message")
        # the broker sees the connection drop without DISCONNECT → will; we reconnect → birth again
        conn._client.socket().shutdown(socket.SHUT_RDWR)
        await wait_until(lambda: b"gone" in peer.payloads(), 10, "the will message")
        await wait_until(lambda: peer.payloads().count(b"online") == 2, 10, "the birth message after the reconnect")
    await wait_until(lambda: b"bye" in peer.payloads(), 5, "the close message")
    assert peer.payloads().count(b"gone") == 1


async def test_dynamic_subscriptions_survive_a_broker_restart(broker_factory, peers):
    broker = broker_factory()
    flow = [
        broker_node(broker.port),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "", "qos": "1", "datatype": "utf8", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        await conn.wait_connected(5)
        await f.inject("in", {"action": "subscribe", "topic": [{"topic": "dyn/a", "qos": 1}, "dyn/b/+"]})
        await conn.wait_subscribed(5)
        await f.inject("in", {"action": "getSubscriptions"})
        [subs] = await f.received("sink", 1)
        assert [(s["topic"], s["qos"]) for s in subs["payload"]] == [("dyn/a", 1), ("dyn/b/+", 1)]  # the node's qos is the default
        generation = conn._gen
        broker.restart()
        await wait_until(lambda: conn._gen > generation, 10, "the reconnect")
        await conn.wait_subscribed(5)
        peer = peers(broker.port)
        peer.publish("dyn/a", "A", qos=1)
        peer.publish("dyn/b/x", "B", qos=1)
        msgs = await f.received("sink", 3)
        assert sorted(m["payload"] for m in msgs[1:]) == ["A", "B"]
        await f.inject("in", {"action": "unsubscribe", "topic": "dyn/a"})
        await f.inject("in", {"action": "disconnect"})
        await wait_until(lambda: not conn.connected, 5, "the disconnect action")
        await f.inject("in", {"action": "connect"})
        await conn.wait_subscribed(5)
        peer.publish("dyn/a", "A2", qos=1)
        peer.publish("dyn/b/y", "B2", qos=1)
        msgs = await f.received("sink", 4)
        assert msgs[3]["payload"] == "B2"


async def test_close_waits_for_the_acks_of_publishes_in_flight(broker, peers):
    """With 5 in flight, 300 QoS 1 publishes are mostly still queued at close: close sends them all first."""
    peer = peers(broker.port)
    peer.subscribe("drain/#", 1)
    conn = BrokerConnection(BrokerSettings(port=broker.port, max_inflight=5))
    await conn.start()
    await conn.wait_connected(5)
    results: list[str | None] = []
    for i in range(300):
        assert not conn.publish(f"drain/{i}", str(i).encode(), 1, defer=lambda: results.append)
    await conn.close()
    assert results == [None] * 300
    got = await peer.until_count(300)
    assert sorted(int(m.payload) for m in got) == list(range(300))


async def test_wait_subscribed_gives_up_at_its_timeout_while_the_broker_is_away(broker_factory):
    broker = broker_factory(start=False)
    conn = BrokerConnection(BrokerSettings(port=broker.port, reconnect_initial=0.05, reconnect_max=0.1))
    await conn.start()
    conn.subscribe(Subscription("away/t", 1, lambda message, ack: None))
    try:
        with pytest.raises(TimeoutError, match="subscriptions not acknowledged in time"):
            await conn.wait_subscribed(0.3)
        broker.start()
        await conn.wait_subscribed(10)
        assert conn.connected
    finally:
        await conn.close()


async def test_auto_connect_false_stays_disconnected_until_the_connect_action(broker):
    flow = [
        broker_node(broker.port, autoConnect="false"),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "", "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        assert conn.settings.auto_connect is False
        # the connection task has had its first turns: connecting would have begun by now
        for _ in range(3):
            await asyncio.sleep(0)
        assert (conn.state, conn.connected) == ("disconnected", False)
        await f.inject("in", {"action": "connect"})
        await conn.wait_connected(5)
