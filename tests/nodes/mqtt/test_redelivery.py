"""A persistent session's redelivered messages: kept for a subscription that is coming, dropped when none is.

On a restart the broker resends what the last run left unacknowledged right
after CONNACK, before the flow's `mqtt in` nodes have subscribed. Those
messages wait `redeliveryWait` seconds for a subscription that matches; when
the new flow no longer subscribes to their topic they are acknowledged and
dropped with a warning, so that they do not hold the broker's window forever.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from runtime.testing import run_flow, wait_until


def _flow(port: int, topic: str, wait: float) -> list[dict[str, Any]]:
    return [
        {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": port, "clientid": "redelivery",
         "cleansession": "false", "redeliveryWait": wait},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": topic, "qos": "1", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]


async def _leave_one_queued(broker: Any, peers: Any) -> None:
    """A first run subscribes to `gone/#` on the persistent session; one message arrives while nobody is connected."""
    async with run_flow(_flow(broker.port, "gone/#", 5.0)) as first:
        await first.node("b").connection.wait_subscribed(5)
    source = peers(broker.port)
    source.publish("gone/1", "left behind", qos=1)


async def test_a_redelivered_message_no_subscription_wants_is_acknowledged_and_dropped(broker_factory: Any, peers: Any, caplog: pytest.LogCaptureFixture) -> None:
    broker = broker_factory()
    await _leave_one_queued(broker, peers)
    caplog.set_level(logging.WARNING)
    async with run_flow(_flow(broker.port, "other/#", 0.2)) as second:
        await wait_until(lambda: "acknowledged and dropped" in caplog.text, 10, "the unwanted redelivery to be dropped")
        assert second.node("sink").messages == []
    assert "1 message(s) of the persistent session matched no subscription within 0.2 s" in caplog.text
    later = peers(broker.port, client_id="redelivery", clean=False)
    peers(broker.port).publish("gone/2", "marker", qos=1)
    [first] = await later.until_count(1)
    assert first.payload == b"marker", "the dropped message was acknowledged, so the session does not send it again"


async def test_a_redelivered_message_reaches_the_flow_that_subscribes_to_it(broker_factory: Any, peers: Any) -> None:
    broker = broker_factory()
    await _leave_one_queued(broker, peers)
    async with run_flow(_flow(broker.port, "gone/#", 0.2)) as second:
        [msg] = await second.received("sink")
    assert (msg["topic"], msg["payload"]) == ("gone/1", "left behind")
