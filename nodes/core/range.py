"""range: map a number from one range to another (scale, clamp, roll, or drop outside)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime import Msg, Node, NodeProps, lenient, register
from runtime.properties import PathError, get_path, parse_path, set_path

from ._jsvalues import UNDEFINED, normalise_number, round_half_up, to_number


class RangeProps(NodeProps):
    action: Literal["scale", "clamp", "roll", "drop"] = Field(
        "scale", description="scale: map linearly; clamp: limit the input to minin..maxin first; roll: wrap it; drop: discard values outside"
    )
    minin: float = Field(description="input range start")
    maxin: float = Field(description="input range end")
    minout: float = Field(description="output range start")
    maxout: float = Field(description="output range end")
    round: lenient.Bool = Field(False, description="round the result to the nearest integer (halves up, as Math.round)")
    property: str = Field("payload", description="the msg property to map")

    @field_validator("minin", "maxin", "minout", "maxout", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        number = to_number(value)
        if isinstance(number, float) and math.isnan(number):
            raise ValueError(f"{value!r} is not a number")
        return number


@register("range")
class Range(Node):
    """Maps a numeric property from one range to another."""

    Props = RangeProps
    props: RangeProps

    @classmethod
    def check(cls, props: RangeProps) -> list[tuple[str, str]]:
        problems = []
        if props.minin == props.maxin:
            problems.append(("maxin", "the input range is empty (minin equals maxin)"))
        try:
            parse_path(props.property)
        except PathError as exc:
            problems.append(("property", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys = parse_path(self.props.property)

    def on_input(self, msg: Msg) -> Msg | None:
        p = self.props
        value = get_path(msg, self._keys, UNDEFINED)
        if value is UNDEFINED:
            return msg
        n = to_number(value)
        if math.isnan(n):
            self.warn(f"not a number: msg.{p.property} = {value!r}; message dropped")
            return None
        if p.action == "drop" and (n < p.minin or n > p.maxin):
            return None
        if p.action == "clamp":
            n = min(max(n, p.minin), p.maxin)
        elif p.action == "roll":
            span = p.maxin - p.minin
            n = ((n - p.minin) % span + span) % span + p.minin
        result = (n - p.minin) / (p.maxin - p.minin) * (p.maxout - p.minout) + p.minout
        set_path(msg, self._keys, round_half_up(result) if p.round else normalise_number(result))
        return msg
