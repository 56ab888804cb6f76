"""batch: sequences out of a stream of messages, by count, by time interval, or by concatenating topic sequences.

The mode picks the handler once, when the node is built. Messages waiting
for their sequence are held with `Node.hold`, so the runtime's completion
tracking stays open until they are sent on or dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime import Held, Msg, Node, NodeError, NodeProps, Output, clone, lenient, new_msgid, register

from ._parts import HeldGroup
from ._text import generate_id


class BatchTopic(BaseModel):
    model_config = ConfigDict(extra="ignore")
    topic: str = ""


class BatchProps(NodeProps):
    mode: Literal["count", "interval", "concat"] = Field("count", description="count: groups of N; interval: whatever arrived in each period; concat: one sequence per topic, concatenated")
    count: lenient.Int = Field(1, description="count mode: messages per sequence")
    overlap: lenient.Int = Field(0, description="count mode: messages repeated at the start of the next sequence")
    interval: lenient.Float = Field(0, description="interval mode: seconds")
    allowEmptySequence: lenient.Bool = Field(False, description="interval mode: send {payload: null} when nothing arrived")
    topics: list[BatchTopic] = Field(default_factory=list, description="concat mode: topics, in output order")
    honourParts: lenient.Bool = False


@register("batch")
class Batch(Node):
    """Groups messages into sequences by count, by time interval, or by concatenating topic sequences."""

    Props = BatchProps
    props: BatchProps

    @classmethod
    def check(cls, props: BatchProps) -> list[tuple[str, str]]:
        if props.mode == "count":
            if props.count < 1:
                return [("count", "count must be at least 1")]
            if props.count <= props.overlap:
                return [("overlap", f"overlap ({props.overlap}) must be smaller than count ({props.count})")]
        if props.mode == "interval" and props.interval < 0:
            return [("interval", "interval must not be negative")]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._topics = [t.topic for t in self.props.topics]
        self._queue: list[tuple[Msg, Held | None]] = []
        self._by_topic: dict[str, dict[Any, HeldGroup]] = {}
        self._ticker: asyncio.TimerHandle | None = None
        handlers = {"count": self._on_count, "interval": self._on_interval, "concat": self._on_concat}
        self.on_input = handlers[self.props.mode]  # type: ignore[method-assign]

    async def start(self) -> None:
        if self.props.mode == "interval" and self.props.interval > 0:
            self._schedule()

    def _schedule(self) -> None:
        self._ticker = self.call_later(self.props.interval, self._tick)

    def _tick(self) -> None:
        self._schedule()
        queue, self._queue = self._queue, []
        if queue:
            self._send_sequence(queue, copy=False)
        elif self.props.allowEmptySequence:
            self.send({"payload": None, "parts": {"id": generate_id(), "index": 0, "count": 1}})

    def _send_sequence(self, entries: list[tuple[Msg, Held | None]], copy: bool, emit: Callable[[Msg], None] | None = None) -> None:
        """Node-RED's send_msgs: parts.id is the first message's _msgid.

        With `emit` (inside `on_input`) the sequence goes out in order with the
        current message; otherwise each message is sent with its own held
        completion. Either way the held messages are done once sent.
        """
        count = len(entries)
        seq_id = entries[0][0].setdefault("_msgid", new_msgid())
        for index, (m, held) in enumerate(entries):
            out = clone(m) if copy else m
            parts = out.get("parts")
            if not isinstance(parts, dict):
                parts = out["parts"] = {}
            parts.update(id=seq_id, index=index, count=count)
            if emit is not None:
                emit(out)
            elif held is not None and not held.is_done:
                held.send(out)
            else:
                self.send(out)
        for _, held in entries:
            if held is not None:
                held.done()

    def _on_interval(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._drop()
            if self._ticker is not None:
                self._ticker.cancel()
                self._schedule()
            return None
        self._queue.append((msg, self.hold(msg)))
        return None

    def _on_count(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._drop()
            return None
        out: list[Msg] = []
        if len(self._queue) + 1 < self.props.count:
            self._queue.append((msg, self.hold(msg)))
            return None
        entries = [*self._queue, (msg, None)]
        overlap = self.props.overlap
        self._send_sequence(entries, copy=overlap > 0, emit=out.append)
        if overlap > 0:
            kept = entries[-overlap:]
            self._queue = [(m, None) for m, _ in kept]
        else:
            self._queue = []
        return [out]

    def _on_concat(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._drop()
            return None
        topic = msg.get("topic")
        if topic not in self._topics:
            return None
        parts = msg.get("parts")
        if not (isinstance(parts, dict) and "id" in parts and "index" in parts and "count" in parts):
            raise NodeError("batch: a message for concatenation needs msg.parts with id, index and count", msg)
        groups = self._by_topic.setdefault(topic, {})
        group = groups.get(parts["id"])
        if group is None:
            group = groups[parts["id"]] = HeldGroup()
        group.add(self, msg)
        if group.count is None:
            group.count = parts["count"]
        firsts: list[HeldGroup] = []
        for t in self._topics:
            t_groups = self._by_topic.get(t)
            if not t_groups:
                return None
            first = next(iter(t_groups.values()))
            if not first.complete:
                return None
            firsts.append(first)
        entries: list[tuple[Msg, Held | None]] = []
        for t, first in zip(self._topics, firsts, strict=False):
            entries.extend(first.entries)
            t_groups = self._by_topic[t]
            del t_groups[next(iter(t_groups))]
        self._send_sequence(entries, copy=True)
        return None

    def _release_held(self) -> None:
        """Let go of every kept message (the queue in count/interval mode, topic groups in concat mode); what was collected stays."""
        for _, held in self._queue:
            if held is not None:
                held.done()
        for groups in self._by_topic.values():
            for group in groups.values():
                group.release()

    def _drop(self) -> None:
        self._release_held()
        self._queue = []
        self._by_topic = {}

    async def stop(self) -> None:
        if self.props.mode != "interval":
            self._release_held()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._drop()
