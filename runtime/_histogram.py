"""A latency histogram kept as plain numbers, turned into a Prometheus family only when /metrics is scraped.

Observing is a bisect and two additions, with no prometheus_client import, so
the runtime and node families (through `runtime.http.Histogram`) can count
on every call whether or not metrics are on.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

#: Handler latencies: from a few microseconds (a `change`) to half a minute (an API call).
DEFAULT_BUCKETS = (0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)


class Histogram:
    """Bucket counts and a sum of seconds; `buckets()` gives the cumulative pairs `HistogramMetricFamily.add_metric` takes."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        running = 0
        result = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            result.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return result
