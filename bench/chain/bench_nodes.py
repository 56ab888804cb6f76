"""Source and sink node types for the benchmarks (loaded through a flow's `modules:`)."""

from __future__ import annotations

import json
import os
import resource
import time
from typing import Any

from runtime import Msg, Node, NodeProps, register


class SourceProps(NodeProps):
    count: int = 200_000


@register("bench-source")
class BenchSource(Node):
    """Emits `count` messages `{payload: {i, hop: 0}}` as fast as backpressure allows."""

    Props = SourceProps

    async def start(self) -> None:
        self.runtime._spawn(self._run())

    async def _run(self) -> None:
        started = time.perf_counter()
        os.environ["FLOWWIRE_BENCH_T0"] = repr(started)
        emit = self.emit
        for i in range(self.props.count):
            await emit({"payload": {"i": i, "hop": 0}})


class SinkProps(NodeProps):
    count: int = 200_000
    hops: int = 10
    result: str = ""


@register("bench-sink")
class BenchSink(Node):
    """Counts messages, checks the hop count, writes the figures as JSON at the last one."""

    Props = SinkProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen = 0
        self._bad = 0

    def on_input(self, msg: Msg) -> None:
        self._seen += 1
        if msg["payload"]["hop"] != self.props.hops:
            self._bad += 1
        if self._seen == self.props.count:
            elapsed = time.perf_counter() - float(os.environ["FLOWWIRE_BENCH_T0"])
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            with open(self.props.result, "w") as f:
                json.dump({"seconds": elapsed, "count": self._seen, "bad": self._bad, "peak_rss_mb": peak_kb / 1024}, f)
            os.kill(os.getpid(), 15)
