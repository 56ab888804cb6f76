"""mqtt in / mqtt out against a real Mosquitto: QoS levels, retain, wildcards, payload types."""

from __future__ import annotations

import json

import pytest

from runtime.testing import run_flow


def broker_node(port: int, **extra: object) -> dict:
    return {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": str(port), "reconnectDelay": 0.1, **extra}


@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_round_trip_at_each_qos(broker, peers, qos):
    peer = peers(broker.port)
    peer.subscribe("rt/out", qos)
    flow = [
        broker_node(broker.port),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "rt/in", "qos": str(qos), "datatype": "auto-detect", "wires": [["relay"]]},
        {"id": "relay", "type": "change", "rules": [{"t": "set", "p": "topic", "to": "rt/out"}], "wires": [["out", "sink"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "qos": str(qos), "retain": ""},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(5)
        for i in range(20):
            peer.publish("rt/in", json.dumps({"i": i}), qos=qos)
        msgs = await f.received("sink", count=20, timeout=10)
        assert [m["payload"] for m in msgs] == [{"i": i} for i in range(20)]
        assert {m["qos"] for m in msgs} == {qos}
        assert all(m["retain"] is False and m["topic"] == "rt/out" for m in msgs)
        got = await peer.until_count(20)
        assert [json.loads(m.payload) for m in got] == [{"i": i} for i in range(20)]
        assert {m.qos for m in got} == {qos}


async def test_payload_encoding_and_msg_overrides(broker, peers):
    peer = peers(broker.port)
    peer.subscribe("enc/#", 1)
    flow = [broker_node(broker.port), {"id": "out", "type": "mqtt out", "broker": "b"}]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_connected(5)
        cases = [
            ({"a": 1, "b": [1, 2]}, b'{"a":1,"b":[1,2]}'),
            ([1, "x"], b'[1,"x"]'),
            ("héllo", "héllo".encode()),
            (b"\x00\xff", b"\x00\xff"),
            (42, b"42"),
            (1.5, b"1.5"),
            (2.0, b"2"),
            (True, b"true"),
            (False, b"false"),
            (None, b""),
        ]
        for i, (payload, _) in enumerate(cases):
            await f.inject("out", {"topic": f"enc/{i}", "payload": payload, "qos": "1"})
        got = await peer.until_count(len(cases))
        by_topic = {m.topic: m.payload for m in got}
        assert [by_topic[f"enc/{i}"] for i in range(len(cases))] == [raw for _, raw in cases]
        assert {m.qos for m in got} == {1}


async def test_node_topic_and_qos_win_over_msg(broker, peers):
    peer = peers(broker.port)
    peer.subscribe("#", 2)
    flow = [broker_node(broker.port), {"id": "out", "type": "mqtt out", "broker": "b", "topic": "fixed/t", "qos": "2", "retain": "false"}]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_connected(5)
        await f.inject("out", {"topic": "other", "payload": "x", "qos": 0, "retain": True})
        [m] = await peer.until_count(1)
        assert (m.topic, m.qos, m.retain) == ("fixed/t", 2, False)


async def test_missing_topic_is_a_clean_node_error(broker):
    flow = [
        broker_node(broker.port),
        {"id": "out", "type": "mqtt out", "broker": "b"},
        {"id": "c", "type": "catch", "scope": None, "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.inject("out", {"payload": "x"})
        [err] = await f.received("sink", 1)
        assert "Invalid topic" in err["error"]["message"]


async def test_retained_message_reaches_a_late_subscriber(broker, peers):
    peer = peers(broker.port)
    flow = [broker_node(broker.port), {"id": "out", "type": "mqtt out", "broker": "b", "retain": "true", "qos": "1"}]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_connected(5)
        await f.inject("out", {"topic": "ret/state", "payload": "on"})
        await f.idle()
    flow = [
        broker_node(broker.port),
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "ret/+", "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        [m] = await f.received("sink", 1, timeout=10)
        assert (m["topic"], m["payload"], m["retain"]) == ("ret/state", "on", True)
    peer.publish("ret/state", b"", qos=1, retain=True)  # clear it


async def test_wildcards_and_datatypes(broker, peers):
    peer = peers(broker.port)
    flow = [
        broker_node(broker.port),
        {"id": "plus", "type": "mqtt in", "broker": "b", "topic": "s/+/temp", "qos": "0", "datatype": "auto", "wires": [["p"]]},
        {"id": "hash", "type": "mqtt in", "broker": "b", "topic": "s/#", "qos": "0", "datatype": "buffer", "wires": [["h"]]},
        {"id": "js", "type": "mqtt in", "broker": "b", "topic": "j/#", "qos": "0", "datatype": "json", "wires": [["j"]]},
        {"id": "b64", "type": "mqtt in", "broker": "b", "topic": "bin", "qos": "0", "datatype": "base64", "wires": [["b64s"]]},
        {"id": "p", "type": "test-sink"},
        {"id": "h", "type": "test-sink"},
        {"id": "j", "type": "test-sink"},
        {"id": "b64s", "type": "test-sink"},
        {"id": "c", "type": "catch", "scope": None, "wires": [["errs"]]},
        {"id": "errs", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.node("b").connection.wait_subscribed(5)
        peer.publish("s/kitchen/temp", b'{"c": 21.5}')
        peer.publish("s/kitchen/hum", b"40")
        peer.publish("s/a/b/temp", b"\xff\xfe")
        peer.publish("j/ok", b'"text"')
        peer.publish("j/bad", b"not json")
        peer.publish("bin", b"\x00\x01")
        [p] = await f.received("p", 1)
        hashed = await f.received("h", 3)
        [j] = await f.received("j", 1)
        [err] = await f.received("errs", 1)
        [b] = await f.received("b64s", 1)
        assert p["payload"] == {"c": 21.5} and p["topic"] == "s/kitchen/temp"
        assert sorted(m["payload"] for m in hashed) == sorted([b'{"c": 21.5}', b"40", b"\xff\xfe"])
        assert j["payload"] == "text"
        assert "JSON" in err["error"]["message"] and err["topic"] == "j/bad"
        assert b["payload"] == "AAE="
