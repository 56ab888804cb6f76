"""Prometheus metrics of a runtime (docs/http.md), served at /metrics by `_monitor`.

Metrics cost almost nothing per message: the router keeps plain integer
counters on each node's delivery state, and a custom collector turns them
into Prometheus families only when `/metrics` is scraped. Handler latency is
sampled: every `_SAMPLE_EVERY` seconds each synchronous handler is swapped
for a timing wrapper for its next `_SAMPLE_CALLS` calls (the run loop reads
the handler on every call, so nothing is checked on the hot path between
samples); asynchronous handlers, which wait on I/O anyway, are timed on
every call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ._histogram import Histogram
from ._routing import Delivery

if TYPE_CHECKING:
    from ._engine import Runtime

_SAMPLE_EVERY = 1.0
_SAMPLE_CALLS = 16


class Metrics:
    """The runtime's registry: its own collector, process metrics, and what node families add."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency: dict[str, Histogram] = {}
        self.registry.register(_RuntimeCollector(self))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(_FamilyCollectors(runtime))
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._sample()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _latency(self, node_id: str) -> Histogram:
        found = self.latency.get(node_id)
        if found is None:
            found = self.latency[node_id] = Histogram()
        return found

    def _sample(self) -> None:
        for node in list(self.runtime.nodes.values()):
            delivery = node._delivery
            if getattr(delivery.handler, "_flowwire_timed", False):
                continue
            if delivery.sync:
                delivery.handler = _sampling(delivery, self._latency(node.id))
            else:
                delivery.handler = _timing(delivery.handler, self._latency(node.id))
        self._timer = asyncio.get_running_loop().call_later(_SAMPLE_EVERY, self._sample)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _sampling(delivery: Delivery, latency: Histogram) -> Callable[[Any], Any]:
    original = delivery.handler
    left = _SAMPLE_CALLS
    clock = time.perf_counter

    def timed(msg: Any) -> Any:
        nonlocal left
        left -= 1
        if left <= 0:
            delivery.handler = original
        started = clock()
        try:
            return original(msg)
        finally:
            latency.observe(clock() - started)

    timed._flowwire_timed = True  # type: ignore[attr-defined]
    return timed


def _timing(original: Callable[[Any], Any], latency: Histogram) -> Callable[[Any], Any]:
    clock = time.perf_counter

    async def timed(msg: Any) -> Any:
        started = clock()
        try:
            return await original(msg)
        finally:
            latency.observe(clock() - started)

    timed._flowwire_timed = True  # type: ignore[attr-defined]
    return timed


class _FamilyCollectors:
    """What node families publish (`HttpServer.add_collector`), read at scrape time.

    Families of the same name from several collectors (one per config node,
    say) are merged into one, as the text format allows a name only once.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for collector in list(self.runtime.http.collectors):
            for family in collector.collect():
                first = merged.setdefault(family.name, family)
                if first is not family:
                    first.samples.extend(family.samples)
        yield from merged.values()


class _RuntimeCollector:
    """Reads the router's counters at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        runtime = self.metrics.runtime
        labels = ["node", "type", "flow"]
        received = CounterMetricFamily("flowwire_node_messages_in", "Messages delivered to the node's input.", labels=labels)
        sent = CounterMetricFamily("flowwire_node_messages_out", "Messages the node sent (each once, however many wires).", labels=labels)
        errors = CounterMetricFamily("flowwire_node_errors", "Errors the node reported or raised.", labels=labels)
        queued = GaugeMetricFamily("flowwire_node_queue_depth", "Messages waiting for an asynchronous handler.", labels=labels)
        active = GaugeMetricFamily("flowwire_node_in_flight", "Messages inside the node's handler now (async) or emitted by it as a source and unfinished.", labels=labels)
        latency = HistogramMetricFamily("flowwire_node_handler_seconds", "Handler latency (synchronous handlers sampled).", labels=labels)
        ready = GaugeMetricFamily("flowwire_node_ready", "1 when the node is ready (config nodes: connected).", labels=labels)
        waited = CounterMetricFamily("flowwire_source_backpressure_seconds", "Time the node, as a source, waited for its window.", labels=labels)
        nodes = list(runtime.nodes.values())
        into: dict[int, int] = {}
        for node in nodes:
            delivery = node._delivery
            if delivery.single is not None and delivery.shortcuts:
                into[id(delivery.single)] = into.get(id(delivery.single), 0) + delivery.shortcuts
        for node in nodes:
            delivery = node._delivery
            values = [node.id, node.type, node.z]
            received.add_metric(values, delivery.received + into.get(id(delivery), 0))
            sent.add_metric(values, delivery.sent + delivery.shortcuts)
            errors.add_metric(values, delivery.errors)
            if not delivery.sync:
                queued.add_metric(values, len(delivery.inbox))
            active.add_metric(values, delivery.active + delivery.outstanding)
            found = self.metrics.latency.get(node.id)
            if found is not None:
                latency.add_metric(values, found.buckets(), found.total)
            if node.is_config:
                ready.add_metric(values, 1.0 if node.ready else 0.0)
            if delivery.backpressure:
                waited.add_metric(values, delivery.backpressure)
        yield from (received, sent, errors, queued, active, latency, ready, waited)
        router = runtime._router
        yield GaugeMetricFamily("flowwire_messages_in_flight", "Source messages whose message tree has not finished.", value=router.in_flight)
        yield GaugeMetricFamily("flowwire_run_queue_depth", "Deliveries waiting in the router's run queue.", value=len(router._queue))
        yield GaugeMetricFamily("flowwire_ready", "1 when /health/ready answers 200.", value=1.0 if runtime.ready else 0.0)
        requests = CounterMetricFamily("flowwire_http_requests", "HTTP requests answered, by method and status.", labels=["method", "status"])
        for (method, status), count in sorted(runtime.http.requests.items()):
            requests.add_metric([method, str(status)], count)
        yield requests


__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]
