"""Each broker connection's state and publish queue on /metrics (docs/http.md), through the public `Node.http.add_collector`.

One collector per `mqtt-broker` node; the runtime merges their families.
The connection's own counters are read at scrape time, so nothing is
counted per message here, and prometheus_client is imported only then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from .broker import MqttBroker


class BrokerCollector:
    """The connection of one `mqtt-broker` node, labelled with the node's id and the broker's address."""

    def __init__(self, node: MqttBroker) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        connection = self.node.connection
        if connection is None:
            return
        labels = ["broker", "address"]
        values = [self.node.id, f"{connection.settings.host}:{connection.settings.port}"]
        connected = GaugeMetricFamily("flowwire_mqtt_connected", "1 while the broker connection is up.", labels=labels)
        connected.add_metric(values, 1.0 if connection.connected else 0.0)
        queued = GaugeMetricFamily("flowwire_mqtt_publish_queue", "Publishes waiting to be sent: held while disconnected, or over the in-flight window.", labels=labels)
        queued.add_metric(values, connection.queued)
        in_flight = GaugeMetricFamily("flowwire_mqtt_publishes_in_flight", "QoS 1/2 publishes sent and not yet acknowledged by the broker.", labels=labels)
        in_flight.add_metric(values, connection.in_flight)
        dropped = CounterMetricFamily("flowwire_mqtt_publishes_dropped", "Publishes dropped because the queue was full (queueFull: drop-oldest).", labels=labels)
        dropped.add_metric(values, connection.dropped)
        yield from (connected, queued, in_flight, dropped)
