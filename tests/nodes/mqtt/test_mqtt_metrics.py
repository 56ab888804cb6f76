"""Broker connection state and the publish queue on /metrics, and /health/ready, through a real Mosquitto outage."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
from _mosquitto import Mosquitto
from prometheus_client.parser import text_string_to_metric_families

from runtime.testing import Flow, run_flow, wait_until


def _broker(node_id: str, port: int, **extra: object) -> dict[str, object]:
    return {"id": node_id, "type": "mqtt-broker", "broker": "127.0.0.1", "port": port, "reconnectDelay": 0.05, **extra}


async def _mqtt_samples(flow: Flow) -> dict[tuple[str, str], float]:
    """(metric, broker node id) → value, for the flowwire_mqtt_* families (each family once, however many brokers)."""
    async with httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    names = [f.name for f in text_string_to_metric_families(response.text) if f.name.startswith("flowwire_mqtt_")]
    assert sorted(names) == ["flowwire_mqtt_connected", "flowwire_mqtt_publish_queue", "flowwire_mqtt_publishes_dropped", "flowwire_mqtt_publishes_in_flight"]
    return {
        (sample.name, sample.labels["broker"]): sample.value
        for family in text_string_to_metric_families(response.text) if family.name.startswith("flowwire_mqtt_")
        for sample in family.samples
    }


async def _ready(flow: Flow) -> tuple[int, object]:
    async with httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/health/ready")
    return response.status_code, response.json()


async def test_connection_state_and_queue_per_broker_through_an_outage(broker_factory: Callable[..., Mosquitto]) -> None:
    first, second = broker_factory(), broker_factory()
    flow_doc = {
        "settings": {"uiPort": 0, "uiHost": "127.0.0.1", "metrics": True},
        "nodes": [
            _broker("b1", first.port, queueSize="10", queueFull="drop-oldest"),
            _broker("b2", second.port),
            {"id": "out", "type": "mqtt out", "broker": "b1", "topic": "m/t", "qos": "1"},
        ],
    }
    async with run_flow(flow_doc) as flow:
        conn = flow.node("b1").connection
        await conn.wait_connected(5)
        await flow.node("b2").connection.wait_connected(5)
        before = await _mqtt_samples(flow)
        assert await _ready(flow) == (200, {"status": "ready"})
        first.stop()
        await wait_until(lambda: not conn.connected, 5, "the disconnect")
        for i in range(13):
            await flow.inject("out", {"payload": i})
        during = await _mqtt_samples(flow)
        assert await _ready(flow) == (503, {"status": "not ready", "waiting": ["mqtt-broker:b1"]})
        first.start()
        await conn.wait_connected(10)
        await flow.idle()
        after = await _mqtt_samples(flow)
        assert await _ready(flow) == (200, {"status": "ready"})
    assert before == {
        ("flowwire_mqtt_connected", "b1"): 1, ("flowwire_mqtt_connected", "b2"): 1,
        ("flowwire_mqtt_publish_queue", "b1"): 0, ("flowwire_mqtt_publish_queue", "b2"): 0,
        ("flowwire_mqtt_publishes_in_flight", "b1"): 0, ("flowwire_mqtt_publishes_in_flight", "b2"): 0,
        ("flowwire_mqtt_publishes_dropped_total", "b1"): 0, ("flowwire_mqtt_publishes_dropped_total", "b2"): 0,
    }
    assert during[("flowwire_mqtt_connected", "b1")] == 0 and during[("flowwire_mqtt_connected", "b2")] == 1
    assert during[("flowwire_mqtt_publish_queue", "b1")] == 10, "held while disconnected, up to queueSize"
    assert during[("flowwire_mqtt_publishes_dropped_total", "b1")] == 3
    assert after[("flowwire_mqtt_connected", "b1")] == 1
    assert after[("flowwire_mqtt_publish_queue", "b1")] == 0 and after[("flowwire_mqtt_publishes_in_flight", "b1")] == 0
