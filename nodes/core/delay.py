"""delay: delay each message, or limit the rate of messages (all, or per topic).

Every message the node keeps is held (`Node.hold`), so its completion (an
MQTT acknowledgement, the drain at shutdown) waits until it is sent, dropped
by `msg.reset`, or replaced by a newer message of the same topic.

Shutdown: Node-RED discards whatever a delay node still holds when it closes.
flowwire drains before closing, and the node keeps working during the drain:
delays expire and the rate limit keeps releasing its queue at the configured
pace, so a graceful stop delivers everything that fits in the drain timeout
without bursting past a rate limit. What is still held when `close` runs (a
long delay, a long queue) is dropped and a warning says how many.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from runtime import Held, Msg, Node, NodeError, NodeProps, Output, lenient, register

from ._jsvalues import parse_float

_TIME_UNITS = {"milliseconds": 0.001, "seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_RATE_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_ABSENT: Any = object()


class DelayProps(NodeProps):
    pauseType: Literal["delay", "delayv", "random", "rate", "queue", "timed"] = Field(
        "delay", description="delay, delayv (msg.delay), random, rate (all messages), queue / timed (per topic)"
    )
    timeout: lenient.Float = Field(5, description="delay for 'delay'; default for 'delayv'")
    timeoutUnits: Literal["milliseconds", "seconds", "minutes", "hours", "days"] = "seconds"
    rate: lenient.Float = Field(1, description="messages per nbRateUnits rateUnits")
    nbRateUnits: lenient.Float = 1
    rateUnits: Literal["second", "minute", "hour", "day"] = "second"
    randomFirst: lenient.Float = 1
    randomLast: lenient.Float = 5
    randomUnits: Literal["milliseconds", "seconds", "minutes", "hours", "days"] = "seconds"
    drop: lenient.Bool = Field(False, description="rate: drop intermediate messages instead of queueing them")
    allowrate: lenient.Bool = Field(False, description="rate/queue/timed: msg.rate (ms) overrides the rate")
    outputs: lenient.Int = Field(1, description="2: dropped messages leave on a second output")


@dataclass(slots=True)
class _Entry:
    msg: Msg
    held: Held
    handle: asyncio.TimerHandle | None = None


def _content(msg: Msg, ignore: tuple[str, ...] = ("_msgid",)) -> bool:
    """Whether the message carries anything besides the given control keys."""
    return any(key not in ignore for key in msg)


def _flush_count(value: Any, available: int) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(0, min(math.floor(value), available))
    return available


@register("delay")
class Delay(Node):
    """Delays each message, or limits the rate of messages (all or per topic)."""

    Props = DelayProps
    props: DelayProps

    @classmethod
    def check(cls, props: DelayProps) -> list[tuple[str, str]]:
        problems = []
        if props.pauseType in ("rate", "queue", "timed") and props.rate <= 0:
            problems.append(("rate", "must be more than 0 messages"))
        if props.pauseType == "delay" and props.timeout < 0:
            problems.append(("timeout", "must be 0 or more"))
        if props.pauseType == "random" and props.randomLast < props.randomFirst:
            problems.append(("randomLast", "must not be less than randomFirst"))
        if props.outputs not in (1, 2):
            problems.append(("outputs", "must be 1 or 2"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._timeout = p.timeout * _TIME_UNITS[p.timeoutUnits]
        per = _RATE_UNITS[p.rateUnits] / p.rate if p.rate > 0 else 1.0
        self._fixed_rate = per * (p.nbRateUnits if p.nbRateUnits > 0 else 1)
        self._rate = self._fixed_rate
        self._random = (p.randomFirst * _TIME_UNITS[p.randomUnits], p.randomLast * _TIME_UNITS[p.randomUnits])
        self._pending: list[_Entry] = []
        self._buffer: deque[_Entry] = deque()
        self._interval: asyncio.TimerHandle | None = None
        self._next_tick = 0.0
        self._last_sent: float | None = None
        self._depth_report: asyncio.TimerHandle | None = None
        self._max_kept = int(self.settings.get("nodeMessageBufferMaxLength", 0) or 0)
        mode = p.pauseType
        if mode in ("delay", "delayv", "random"):
            self.on_input = self._delay_input  # type: ignore[method-assign]
        elif mode == "rate":
            self.on_input = self._rate_drop_input if p.drop else self._rate_input  # type: ignore[method-assign]
        else:
            self.on_input = self._topic_input  # type: ignore[method-assign]

    async def start(self) -> None:
        if self.props.pauseType in ("queue", "timed"):
            self._start_interval()

    # -- fixed, variable and random delays -------------------------------------------------

    def _wait(self, msg: Msg) -> float:
        mode = self.props.pauseType
        if mode == "delay":
            return self._timeout
        if mode == "random":
            first, last = self._random
            return first + (last - first) * random.random()
        wait = self._timeout
        if "delay" in msg:
            ms = parse_float(msg["delay"])
            if not math.isnan(ms):
                wait = ms / 1000
        return max(0.0, wait)

    def _delay_input(self, msg: Msg) -> None:
        if not (len(msg) - ("_msgid" in msg) == 1 and "flush" in msg):
            entry = _Entry(msg, self.hold(msg))
            entry.handle = self.call_later(self._wait(msg), self._expire, entry)
            self._pending.append(entry)
        if "reset" in msg:
            self._drop_pending()
            self.status("blue", "ring", 0)
            return
        if "flush" in msg:
            for entry in self._pending[: _flush_count(msg["flush"], len(self._pending))]:
                assert entry.handle is not None
                entry.handle.cancel()
                self._expire(entry)
        if self._timeout > 1 or self.props.pauseType == "delayv":
            self.status("blue", "dot", len(self._pending))

    def _expire(self, entry: _Entry) -> None:
        try:
            self._pending.remove(entry)
        except ValueError:
            return
        entry.held.send(entry.msg)
        entry.held.done()
        if self._timeout > 1 or self.props.pauseType == "delayv":
            self.status("blue", "dot", len(self._pending))

    def _drop_pending(self) -> None:
        pending, self._pending = self._pending, []
        for entry in pending:
            if entry.handle is not None:
                entry.handle.cancel()
            entry.held.done()

    # -- rate limit, all messages -----------------------------------------------------------

    def _allow_rate(self, msg: Msg) -> bool:
        """Apply msg.rate (ms between messages) when allowed; True when it changed."""
        if not self.props.allowrate or "rate" not in msg:
            return False
        ms = parse_float(msg["rate"])
        if math.isnan(ms) or ms <= 0 or ms / 1000 == self._rate:
            return False
        self._rate = ms / 1000
        return True

    def _rate_input(self, msg: Msg) -> Output:
        flush = msg.pop("flush", None) if "flush" in msg else _ABSENT
        out: Output = None
        if _content(msg):
            if self._interval is not None:
                if self._allow_rate(msg):
                    self._start_interval()
                if self._max_kept and len(self._buffer) >= self._max_kept:
                    self._drop_buffer()
                    raise NodeError("too many queued messages (nodeMessageBufferMaxLength); the queue was dropped")
                entry = _Entry(msg, self.hold(msg))
                if msg.get("toFront") is True:
                    self._buffer.appendleft(entry)
                else:
                    self._buffer.append(entry)
                self._report_depth()
            else:
                self._allow_rate(msg)
                if "reset" in msg:
                    if flush is not _ABSENT:
                        self._buffer.append(_Entry(msg, self.hold(msg)))
                else:
                    out = msg
                self._report_depth()
                self._start_interval()
        if flush is not _ABSENT:
            count = _flush_count(flush, len(self._buffer))
            if count == 0:
                self._stop_interval()
            else:
                for _ in range(count):
                    self._release(self._buffer.popleft())
                self._start_interval()
            self.status("blue", "dot", len(self._buffer))
        if "reset" in msg:
            if flush is _ABSENT:
                self._stop_interval()
            self._drop_buffer()
            self._rate = self._fixed_rate
            self.status("blue", "ring", 0)
            return None
        return out

    def _rate_drop_input(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._last_sent = None
            self._rate = self._fixed_rate
            self.status("blue", "ring", 0)
            return None
        self._allow_rate(msg)
        now = self.time()
        if self._last_sent is None or now - self._last_sent > self._rate:
            self._last_sent = now
            return msg
        if self.props.outputs == 2:
            return [None, msg]
        return None

    def _release(self, entry: _Entry) -> None:
        entry.msg.pop("flush", None)
        entry.msg.pop("reset", None)
        if _content(entry.msg):
            entry.held.send(entry.msg)
        entry.held.done()

    def _drop_buffer(self) -> None:
        buffer, self._buffer = self._buffer, deque()
        for entry in buffer:
            entry.held.done()

    # -- rate limit per topic -----------------------------------------------------------------

    def _topic_input(self, msg: Msg) -> Output:
        if self._allow_rate(msg):
            self._start_interval()
        control = not _content(msg, ("_msgid", "topic", "flush", "reset")) and ("flush" in msg or "reset" in msg)
        if not control:
            if "topic" not in msg:
                msg["topic"] = "_none_"
            topic = msg["topic"]
            entry = _Entry(msg, self.hold(msg))
            for index, queued in enumerate(self._buffer):
                if queued.msg.get("topic") == topic:
                    if self.props.outputs == 2:
                        self.send([None, queued.msg])
                    queued.held.done()
                    self._buffer[index] = entry
                    break
            else:
                self._buffer.append(entry)
                self._report_depth()
        if "flush" in msg:
            for _ in range(_flush_count(msg["flush"], len(self._buffer))):
                self._release(self._buffer.popleft())
            self.status()
        if "reset" in msg:
            self._drop_buffer()
            self._rate = self._fixed_rate
            self.status(text="reset")
        return None

    # -- the interval that releases queued messages ---------------------------------------------

    def _start_interval(self) -> None:
        self._stop_interval()
        self._next_tick = self.time() + self._rate
        self._interval = self.call_later(self._rate, self._tick)

    def _stop_interval(self) -> None:
        if self._interval is not None:
            self._interval.cancel()
            self._interval = None

    def _tick(self) -> None:
        mode = self.props.pauseType
        if mode == "rate":
            if not self._buffer:
                self._interval = None
                self._report_depth()
                return
            self._release(self._buffer.popleft())
        elif mode == "queue":
            if self._buffer:
                entry = self._buffer.popleft()
                entry.held.send(entry.msg)
                entry.held.done()
        else:
            buffer, self._buffer = self._buffer, deque()
            for entry in buffer:
                entry.held.send(entry.msg)
                entry.held.done()
        self._report_depth()
        now = self.time()
        self._next_tick += self._rate
        if self._next_tick < now:
            # Like setInterval: after a stall, carry on at the rate rather than catch up in a burst.
            self._next_tick = now + self._rate
        self._interval = self.call_later(self._next_tick - now, self._tick)

    def _report_depth(self) -> None:
        """Queue depth as status, at most every half second (as Node-RED does)."""
        if self._depth_report is None:
            self._depth_report = self.call_later(0.5, self._show_depth)

    def _show_depth(self) -> None:
        self._depth_report = None
        self.status("blue", "dot", len(self._buffer))

    async def close(self) -> None:
        self._stop_interval()
        if self._depth_report is not None:
            self._depth_report.cancel()
        left = len(self._pending) + len(self._buffer)
        if left:
            self.warn(f"closing with {left} message(s) still delayed or queued; they are dropped")
        self._drop_pending()
        self._drop_buffer()
        self.status()

