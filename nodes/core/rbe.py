"""rbe (filter): pass a message only when its value changed, or moved by more than a band.

Node-RED's "filter" node: `rbe` blocks unchanged values, `rbei` also blocks
the first; `deadband` passes values further than `gap` from the last one
(`deadbandEq`: or exactly `gap`), `narrowband` passes values closer than
`gap`. `gap` may be a percentage of the last value. Values are remembered
per topic unless `septopics` is false; `msg.reset` forgets them.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime import Msg, Node, NodeProps, clone, lenient, register
from runtime.properties import PathError, get_path, parse_path

from ._jsvalues import UNDEFINED, parse_float, strict_equals


class RbeProps(NodeProps):
    func: lenient.Blank[Literal["rbe", "rbei", "deadband", "deadbandEq", "narrowband", "narrowbandEq"]] = Field(
        "rbe", description="rbe: block unless changed; rbei: also ignore the first; deadband/narrowband: numeric bands"
    )
    gap: str = Field("0", description="band width; '10%' is a percentage of the last value")
    start: str = Field("", description="narrowband: the value to compare the first message against")
    inout: lenient.Blank[Literal["in", "out"]] = Field("out", description="compare with the last value received (in) or sent (out)")
    septopics: lenient.Bool = Field(True, description="remember values per topic")
    property: str = Field("payload", description="the msg property to watch")
    topi: str = Field("topic", description="the msg property that names the topic")

    @field_validator("gap", "start", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else str(value)


def _same(a: Any, b: Any) -> bool:
    """RED.util.compareObjects for objects, === for the rest (1 and True differ)."""
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return type(a) is type(b) and a == b
    return strict_equals(a, b)


@register("rbe")
class Rbe(Node):
    """Filter: passes a message only when its value changes (or moves outside/inside a band)."""

    Props = RbeProps
    props: RbeProps

    @classmethod
    def check(cls, props: RbeProps) -> list[tuple[str, str]]:
        problems = []
        if props.func not in ("rbe", "rbei"):
            if math.isnan(parse_float(props.gap.rstrip("%") or "0")):
                problems.append(("gap", f"{props.gap!r} is not a number (or a percentage)"))
            if props.start and math.isnan(parse_float(props.start)):
                problems.append(("start", f"{props.start!r} is not a number"))
        for name in ("property", "topi"):
            try:
                parse_path(getattr(props, name))
            except PathError as exc:
                problems.append((name, str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._percent = p.gap.endswith("%")
        gap = parse_float(p.gap.rstrip("%") or "0")
        self._gap = 0.0 if math.isnan(gap) else gap
        self._start = parse_float(p.start) if p.start != "" else None
        self._keys = parse_path(p.property)
        self._topic_keys = parse_path(p.topi)
        self._previous: dict[Any, Any] = {}

    def on_input(self, msg: Msg) -> Msg | None:
        p = self.props
        topic = get_path(msg, self._topic_keys)
        if "reset" in msg:
            if p.septopics and isinstance(topic, str) and topic:
                self._previous.pop(topic, None)
            else:
                self._previous.clear()
        value = get_path(msg, self._keys, UNDEFINED)
        if value is UNDEFINED:
            return None
        key = (topic or "_no_topic") if p.septopics else "_no_topic"
        if p.func in ("rbe", "rbei"):
            known = key in self._previous
            if known and _same(value, self._previous[key]):
                return None
            self._previous[key] = clone(value)
            return msg if (known or p.func == "rbe") else None
        return self._band(msg, key, value)

    def _band(self, msg: Msg, key: Any, value: Any) -> Msg | None:
        p, previous = self.props, self._previous
        n = parse_float(value)
        if math.isnan(n):
            self.warn(f"no number found in msg.{p.property} ({value!r}); message dropped")
            return None
        func = p.func
        if key not in previous and func in ("narrowband", "narrowbandEq"):
            previous[key] = n if self._start is None else self._start
        gap = abs(previous[key] * self._gap / 100) if self._percent and key in previous else (0.0 if self._percent else self._gap)
        if key not in previous:
            previous[key] = n - gap - 1
        distance = abs(n - previous[key])
        send = False
        if distance == gap:
            send = func in ("deadbandEq", "narrowband")
        elif distance > gap:
            send = func in ("deadband", "deadbandEq")
        else:
            send = func in ("narrowband", "narrowbandEq")
        if send and p.inout == "out" or p.inout == "in":
            previous[key] = n
        return msg if send else None
