"""Source and sink node types for bench/sequence (loaded through the flow's `modules:`)."""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from typing import Any

from runtime import Msg, Node, NodeProps, register

WORDS = "alpha beta gamma delta"


def status_of(i: int) -> str:
    return "requires_action" if i % 4 == 0 else "completed"


def expected(i: int) -> str:
    """What the flow must make of message i (both templates, after split and join)."""
    return f"{'action' if i % 4 == 0 else 'ok'} {i} {WORDS}"


class SourceProps(NodeProps):
    count: int = 100_000


@register("bench-seq-source")
class SeqSource(Node):
    """Emits `count` messages `{payload: {i, status}}` as fast as backpressure allows."""

    Props = SourceProps

    async def start(self) -> None:
        self.runtime._spawn(self._run())

    async def _run(self) -> None:
        os.environ["FLOWWIRE_BENCH_T0"] = repr(time.perf_counter())
        emit = self.emit
        for i in range(self.props.count):
            await emit({"payload": {"i": i, "status": status_of(i)}, "topic": "run"})


class SinkProps(NodeProps):
    count: int = 100_000
    result: str = ""


@register("bench-seq-sink")
class SeqSink(Node):
    """Counts joined messages, checks each is the string the flow should make, writes figures at the last."""

    Props = SinkProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen = 0
        self._bad = 0

    def on_input(self, msg: Msg) -> None:
        self._seen += 1
        payload = msg.get("payload")
        i = int(payload.split(" ", 2)[1]) if isinstance(payload, str) and payload.count(" ") >= 2 else -1
        if i < 0 or payload != expected(i) or "parts" in msg:
            self._bad += 1
        if self._seen == self.props.count:
            elapsed = time.perf_counter() - float(os.environ["FLOWWIRE_BENCH_T0"])
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            with open(self.props.result, "w") as f:
                json.dump({"seconds": elapsed, "count": self._seen, "bad": self._bad, "peak_rss_mb": peak_kb / 1024}, f)
            os.kill(os.getpid(), signal.SIGTERM)  # done: `flowwire run` shuts down cleanly on SIGTERM
