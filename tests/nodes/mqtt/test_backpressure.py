"""A QoS 1 flood into a slow flow: mqtt in stops taking messages, memory stays bounded, nothing is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodes.mqtt._client import _PARK_OVERHEAD
from runtime import Held, Msg, Node, NodeProps, register
from runtime.testing import run_flow, wait_until

N = 3000
PARK_LIMIT = 64 * 1024
QUEUE_SIZE = 100
PAD = "x" * 1000


def payload(i: int) -> str:
    return json.dumps({"i": i, "pad": PAD})


#: The largest PUBLISH the broker sends on: fixed header (type byte, 2-byte length), topic, packet id, payload.
LARGEST_PACKET = 1 + 2 + 2 + len("bp/in") + 2 + len(payload(N - 1))


class LagProps(NodeProps):
    lag: int = 500


@register("test-mqtt-lag")
class Lag(Node):
    """A flow that cannot keep up, by counts rather than time: each message stays unfinished
    until `lag` newer ones have arrived (or the test opens the node). Records, per arrival,
    how many messages were waiting in the mqtt in node named by `watch`."""

    Props = LagProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[tuple[Held, Msg]] = []
        self.seen = 0
        self.opened = False
        self.queue_peak = 0
        self.watch: Any = None

    def on_input(self, msg: Msg) -> Msg | None:
        self.seen += 1
        if self.watch is not None:
            self.queue_peak = max(self.queue_peak, len(self.watch._queue))
        if self.opened:
            return msg
        self.held.append((self.hold(msg), msg))
        if len(self.held) > self.props.lag:
            token, old = self.held.pop(0)
            token.send(old)
            token.done()
        return None

    def open(self) -> None:
        self.opened = True
        held, self.held = self.held, []
        for token, msg in held:
            token.send(msg)
            token.done()


def ids(peer) -> set[int]:  # type: ignore[no-untyped-def]
    return {json.loads(p)["i"] for p in peer.payloads()}


# At least once, a message is acknowledged only when finished, so the flow may hold fewer
# unfinished messages than the broker's in-flight window (Mosquitto's default: 20).
@pytest.mark.parametrize(("at_least_once", "lag"), [(False, 500), (True, 10)])
async def test_qos1_flood_into_a_slow_flow_is_bounded_and_complete(broker, peers, at_least_once, lag):
    sink = peers(broker.port)
    sink.subscribe("bp/out", 1)
    source = peers(broker.port)
    flow = [
        {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": broker.port, "parkLimit": PARK_LIMIT},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "bp/in", "qos": "1", "queueSize": QUEUE_SIZE,
         "atLeastOnce": at_least_once, "wires": [["lag"]]},
        {"id": "lag", "type": "test-mqtt-lag", "lag": lag, "wires": [["out"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "bp/out", "qos": "1"},
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        mqtt_in, slow = f.node("in"), f.node("lag")
        slow.watch = mqtt_in
        client = conn._client
        await conn.wait_subscribed(5)
        for i in range(N):
            source.publish("bp/in", payload(i), qos=1)
        await wait_until(lambda: slow.seen == N, 60, f"all {N} messages into the flow")
        slow.open()
        await wait_until(lambda: len(sink.messages) >= N and len(ids(sink)) == N, 60, f"all {N} messages through")
        assert client.parked == 0 and not client.reading_paused and not client.delivery_paused

    assert ids(sink) == set(range(N))  # nothing lost (QoS 1: duplicates would be allowed)
    # Beyond the flow's window, what the broker sent waited in mqtt in's queue (at most
    # queueSize) and was then parked as raw bytes: past parkLimit acks are held back and
    # reading stops once no ack is awaited. Mosquitto 2.0.11 answers every ack with a whole
    # in-flight window, and "out" awaits PUBACKs behind that flood on the same connection,
    # so parking may reach the hard bound (the publishes then count as done, logged). The
    # limit is checked before each packet, so one read never carries parking past it: at
    # most twice the limit plus the packet that crossed it, with its bookkeeping.
    assert slow.queue_peak <= QUEUE_SIZE
    assert 0 < client.parked_peak_bytes <= 2 * PARK_LIMIT + LARGEST_PACKET + _PARK_OVERHEAD
