"""Source and sink node types for the benchmarks (loaded through a flow's `modules:`).

bench/chain uses `bench-source` and `bench-sink`; bench/sequence uses
`bench-seq-source` and `bench-seq-sink`. Each source emits `count` messages as
fast as backpressure allows and starts the clock; each sink checks every
message, and at the last one writes the figures as JSON to `result` and ends
the run with SIGTERM (`flowwire run` shuts down cleanly on it).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from collections.abc import Iterator
from typing import Any

from runtime import Msg, Node, NodeProps, register

#: The clock starts when the source starts; the sink reads it from the environment (same process).
_T0 = "FLOWWIRE_BENCH_T0"


class _Source(Node):
    props: Any

    async def start(self) -> None:
        self.spawn(self._run())

    async def _run(self) -> None:
        os.environ[_T0] = repr(time.perf_counter())
        emit = self.emit
        for msg in self._messages(self.props.count):
            await emit(msg)

    def _messages(self, count: int) -> Iterator[Msg]:
        raise NotImplementedError


class _Sink(Node):
    props: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen = 0
        self._bad = 0

    def on_input(self, msg: Msg) -> None:
        self._seen += 1
        if not self._ok(msg):
            self._bad += 1
        if self._seen == self.props.count:
            elapsed = time.perf_counter() - float(os.environ[_T0])
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            with open(self.props.result, "w") as f:
                json.dump({"seconds": elapsed, "count": self._seen, "bad": self._bad, "peak_rss_mb": peak_kb / 1024}, f)
            os.kill(os.getpid(), signal.SIGTERM)

    def _ok(self, msg: Msg) -> bool:
        raise NotImplementedError


# -- bench/chain -------------------------------------------------------------------------


class ChainSourceProps(NodeProps):
    count: int = 200_000


@register("bench-source")
class ChainSource(_Source):
    """Emits `count` messages `{payload: {i, hop: 0}}`."""

    Props = ChainSourceProps

    def _messages(self, count: int) -> Iterator[Msg]:
        for i in range(count):
            yield {"payload": {"i": i, "hop": 0}}


class ChainSinkProps(NodeProps):
    count: int = 200_000
    hops: int = 10
    result: str = ""


@register("bench-sink")
class ChainSink(_Sink):
    """Checks each message went through `hops` change nodes."""

    Props = ChainSinkProps

    def _ok(self, msg: Msg) -> bool:
        return msg["payload"]["hop"] == self.props.hops


# -- bench/sequence ----------------------------------------------------------------------

WORDS = "alpha beta gamma delta"


def expected(i: int) -> str:
    """What the sequence flow must make of message i (both templates, after split and join)."""
    return f"{'action' if i % 4 == 0 else 'ok'} {i} {WORDS}"


class SeqSourceProps(NodeProps):
    count: int = 100_000


@register("bench-seq-source")
class SeqSource(_Source):
    """Emits `count` messages `{payload: {i, status}, topic: "run"}`; every fourth needs action."""

    Props = SeqSourceProps

    def _messages(self, count: int) -> Iterator[Msg]:
        for i in range(count):
            yield {"payload": {"i": i, "status": "requires_action" if i % 4 == 0 else "completed"}, "topic": "run"}


class SeqSinkProps(NodeProps):
    count: int = 100_000
    result: str = ""


@register("bench-seq-sink")
class SeqSink(_Sink):
    """Checks each joined message is the string the flow should make, with its parts gone."""

    Props = SeqSinkProps

    def _ok(self, msg: Msg) -> bool:
        payload = msg.get("payload")
        i = int(payload.split(" ", 2)[1]) if isinstance(payload, str) and payload.count(" ") >= 2 else -1
        return i >= 0 and payload == expected(i) and "parts" not in msg
