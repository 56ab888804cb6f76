"""OpenAI calls, errors and latency per method on /metrics (docs/http.md), through the public `Node.http.add_collector`.

Every method node of a runtime counts into one `CallStats`, so each metric
family appears once on /metrics however many nodes call the API. Counting is
plain arithmetic per call; the Prometheus families are built only when
/metrics is scraped, and prometheus_client is imported only then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from runtime.http import Histogram, HttpServer

if TYPE_CHECKING:
    from prometheus_client.core import Metric

#: API calls take from tens of milliseconds (a small embedding) to minutes (a long generation or a polled run).
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class CallStats:
    """What the OpenAI method nodes of one runtime asked of the API: calls and failures by method, and how long each took."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.latency: dict[str, Histogram] = {}
        self.users = 0

    def observe(self, method: str, seconds: float, error: str | None) -> None:
        """One call made (the payload was valid), `error` its failure type (`msg.error.type`) or None."""
        self.calls[method] += 1
        if error is not None:
            self.errors[(method, error)] += 1
        histogram = self.latency.get(method)
        if histogram is None:
            histogram = self.latency[method] = Histogram(BUCKETS)
        histogram.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        calls = CounterMetricFamily("flowwire_openai_calls", "OpenAI API calls made, by method (Node-RED names).", labels=["method"])
        for method, count in sorted(self.calls.items()):
            calls.add_metric([method], count)
        errors = CounterMetricFamily("flowwire_openai_errors", "OpenAI API calls that failed, by method and error type.", labels=["method", "type"])
        for (method, kind), count in sorted(self.errors.items()):
            errors.add_metric([method, kind], count)
        latency = HistogramMetricFamily("flowwire_openai_call_seconds", "OpenAI API call latency (streams: until the last event).", labels=["method"])
        for method, histogram in sorted(self.latency.items()):
            latency.add_metric([method], histogram.buckets(), histogram.total)
        yield from (calls, errors, latency)


_by_server: WeakKeyDictionary[HttpServer, CallStats] = WeakKeyDictionary()


def attach(server: HttpServer) -> CallStats:
    """The runtime's shared stats, published on its /metrics while at least one node holds them (call in `start`)."""
    stats = _by_server.get(server)
    if stats is None:
        stats = _by_server[server] = CallStats()
    if stats.users == 0:
        server.add_collector(stats)
    stats.users += 1
    return stats


def detach(server: HttpServer, stats: CallStats) -> None:
    """A node closed: the last one to close takes the families off /metrics (counts survive a deploy)."""
    stats.users -= 1
    if stats.users == 0:
        server.remove_collector(stats)
