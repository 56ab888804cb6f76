"""trigger: send a message, wait, then send a second one (unless reset or extended).

Node-RED's semantics: while a trigger is waiting, further messages (of the
same topic, with `bytopic: topic`) send nothing; with `extend` they restart
the wait and the second message is built from the latest one. A negative
duration means "resend the first message every |duration|", 0 means "wait
until reset". `msg.reset`, or a payload equal to `reset`, cancels.

The message that armed the timer is held (`Node.hold`) until the second
message is sent or the trigger is reset, so its completion covers both.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime import Held, Msg, Node, NodeError, NodeProps, Output, clone, lenient, register
from runtime.properties import Getter, PathError, compile_value, get_path, parse_path

from ._jsvalues import parse_float, to_string
from .template import compile_template, render

_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "hr": 3600.0}
_SPECIAL = ("pay", "payl", "nul")


class TriggerProps(NodeProps):
    op1: Any = Field("1", description="first message payload")
    op1type: lenient.Blank[str] = Field("str", description="str/num/bool/json/date/env/flow/global/msg/jsonata/bin, pay (keep payload) or nul (send nothing)")
    op2: Any = Field("0", description="second message payload")
    op2type: lenient.Blank[str] = Field("str", description="as op1type, plus payl (latest payload); pay = the first message's payload")
    duration: lenient.Float = Field(250, description="wait; negative = resend the first message every |duration|; 0 = wait for reset")
    units: Literal["ms", "s", "min", "hr"] = "ms"
    extend: lenient.Bool = Field(False, description="a new message restarts the wait")
    overrideDelay: lenient.Bool = Field(False, description="msg.delay (ms) sets the wait")
    reset: str = Field("", description="a payload equal to this resets the trigger")
    bytopic: Literal["all", "topic"] = "all"
    topic: str = Field("topic", description="the msg property that separates topics")
    outputs: lenient.Int = Field(1, description="2: the second message leaves on output 2")

    @field_validator("reset", mode="before")
    @classmethod
    def _reset_text(cls, value: Any) -> Any:
        return "" if value is None else to_string(value)


Value = Callable[[Msg, Node], Any]


def _resolve_legacy(value: Any, kind: str) -> tuple[Any, str]:
    """Old flows use type `val`: true/false become booleans, null nothing, the rest strings."""
    if kind != "val":
        return value, kind
    if value in ("true", "false"):
        return value, "bool"
    if value == "null":
        return None, "null"
    return value, "str"


def _value(raw: Any, kind: str) -> Value | None:
    """The payload getter for op1/op2; None for the special types pay/payl/nul."""
    raw, kind = _resolve_legacy(raw, kind)
    if kind in _SPECIAL:
        return None
    if kind == "str" and "{{" in to_string(raw):
        tokens = compile_template(to_string(raw))
        return lambda msg, node: render(tokens, msg)
    getter: Getter = compile_value(raw, kind)
    return getter


@dataclass(slots=True)
class _Topic:
    m2: Any = None
    #: op2type payl: the latest message as it arrived; Node-RED sends it whole as the second message.
    latest: Msg | None = None
    handle: asyncio.TimerHandle | None = None
    #: The message whose second message is due; None when none is (op2type nul, resend, wait for reset).
    held: Held | None = None


@register("trigger")
class Trigger(Node):
    """Sends a message, then optionally a second one after a wait (extendable, resettable)."""

    Props = TriggerProps
    props: TriggerProps

    @classmethod
    def check(cls, props: TriggerProps) -> list[tuple[str, str]]:
        problems = []
        for name in ("op1", "op2"):
            try:
                _value(getattr(props, name), getattr(props, f"{name}type"))
            except Exception as exc:
                problems.append((name, str(exc)))
        if props.outputs not in (1, 2):
            problems.append(("outputs", "must be 1 or 2"))
        try:
            parse_path(props.topic)
        except PathError as exc:
            problems.append(("topic", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._op1 = _value(p.op1, p.op1type)
        self._op2 = _value(p.op2, p.op2type)
        self._op1type = _resolve_legacy(p.op1, p.op1type)[1]
        self._op2type = _resolve_legacy(p.op2, p.op2type)[1]
        self._loop = p.duration < 0
        self._duration = abs(p.duration) * _UNITS[p.units]
        self._extend = p.extend and not self._loop
        self._topic_keys = parse_path(p.topic)
        self._topics: dict[Any, _Topic] = {}

    def on_input(self, msg: Msg) -> Output:
        p = self.props
        key: Any = "_none"
        if p.bytopic != "all":
            key = get_path(msg, self._topic_keys) or "_none"
        state = self._topics.get(key)
        payload = msg.get("payload")  # a missing payload, like null, never matches `reset`
        if "reset" in msg or (p.reset != "" and payload is not None and to_string(payload) == p.reset):
            if state is not None:
                self._cancel(state)
                del self._topics[key]
            self._show_topics()
            return None
        if state is None or self._loop:
            return self._arm(key, state, msg)
        if self._extend and self._wait(msg) > 0:
            if self._op2type == "payl":
                state.latest = clone(msg)
            if state.handle is not None:
                state.handle.cancel()
            previous = state.held
            state.held = self.hold(msg) if self._op2type != "nul" else None
            if previous is not None:
                previous.done()
            state.handle = self.call_later(self._wait(msg), self._second, key, state, msg)
        elif self._op2type == "payl":
            state.latest = clone(msg)
        return None

    def _arm(self, key: Any, state: _Topic | None, msg: Msg) -> Output:
        """First message of a topic (or every message in resend mode)."""
        if state is None:
            state = self._topics[key] = _Topic()
        try:
            if self._op2type == "pay":
                state.m2 = clone(msg.get("payload"))
            elif self._op2type == "payl":
                state.latest = clone(msg)
            elif self._op2 is not None:
                state.m2 = self._op2(msg, self)
            if self._op1 is not None:
                msg["payload"] = self._op1(msg, self)
        except PathError as exc:
            del self._topics[key]
            raise NodeError(str(exc)) from None
        wait = self._wait(msg)
        if wait == 0:
            pass  # Node-RED's "wait to be reset", also when msg.delay overrides the duration with 0
        elif self._loop:
            if state.handle is not None:
                state.handle.cancel()
            if self._op1type != "nul":
                self._repeat(state, clone(msg), wait)
        else:
            if self._op2type != "nul":
                state.held = self.hold(msg)
            state.handle = self.call_later(max(0.0, wait), self._second, key, state, msg)
        self._show_topics()
        return clone(msg) if self._op1type != "nul" else None

    def _wait(self, msg: Msg) -> float:
        """Seconds to wait (or between resends): `msg.delay` in ms when overriding is on, as Node-RED reads it."""
        if self.props.overrideDelay and "delay" in msg:
            ms = parse_float(msg["delay"])
            if not math.isnan(ms):
                return ms / 1000
        return self._duration

    def _repeat(self, state: _Topic, msg: Msg, every: float) -> None:
        every = max(0.001, every)  # a negative msg.delay: Node.js clamps an interval to 1 ms

        def resend() -> None:
            if self._op1type == "date" and self._op1 is not None:
                msg["payload"] = self._op1(msg, self)  # Node-RED stamps every resend afresh
            self.send(clone(msg))
            state.handle = self.call_later(every, resend)

        state.handle = self.call_later(every, resend)

    def _second(self, key: Any, state: _Topic, msg: Msg) -> None:
        """The wait is over: send the second message (if any) and forget the topic."""
        if self._topics.get(key) is not state:
            return
        del self._topics[key]
        held, state.held = state.held, None
        self._show_topics()
        if held is None:
            return
        if self._op2type in ("flow", "global") and self._op2 is not None:
            # A context getter raises PathError only without a node; this node is one.
            state.m2 = self._op2(msg, self)
        if self._op2type == "payl":
            second = state.latest
        else:
            second = clone(msg)
            second["payload"] = state.m2
        held.send([None, second] if self.props.outputs == 2 else second)
        held.done()

    def _show_topics(self) -> None:
        """Node-RED's status: a dot while any topic is triggered, with their count when more than one."""
        count = len(self._topics)
        if count:
            self.status("blue", "dot", count if count > 1 else None)
        else:
            self.status()

    @staticmethod
    def _cancel(state: _Topic) -> None:
        """Stop a topic's timer and finish its message; the caller forgets the topic."""
        if state.handle is not None:
            state.handle.cancel()
        if state.held is not None:
            state.held.done()

    async def stop(self) -> None:
        if self._loop:
            for state in self._topics.values():
                self._cancel(state)
            self._topics.clear()

    async def close(self) -> None:
        waiting = sum(1 for s in self._topics.values() if s.held is not None)
        if waiting:
            self.warn(f"closing with {waiting} second message(s) not yet sent; they are dropped")
        for state in self._topics.values():
            self._cancel(state)
        self._topics.clear()
        self.status()
