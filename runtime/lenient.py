"""Reading node properties as Node-RED's editor writes them.

The editor stores an unset field as `""` or `null`, checkboxes sometimes as
the text "true"/"false", numbers as text, and JSON as a string. Every node
family declares such fields with these annotated types, so a property means
the same thing in every node:

    class DelayProps(NodeProps):
        timeout: lenient.Float = 5          # "5", 5, "" (→ 5), "2.5s" (→ 2.5, JavaScript's parseFloat)
        drop: lenient.Bool = False          # True, "true", "1", "on", "" (→ False)
        topic: lenient.Blank[str] = "x"     # "" or null → the default

A blank value (`""`, `null`, only white space) always takes the field's
declared default; text that cannot be read is a validation error naming the
field, never a silent guess.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticUseDefault

T = TypeVar("T")

_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))
#: JavaScript's parseFloat: the longest numeric prefix.
_FLOAT_PREFIX = re.compile(r"\s*[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_bool(value: Any, default: bool = False) -> bool:
    """Node-RED's booleans: a bool, a number, or true/false, 1/0, yes/no, on/off in any case."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return default
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {str(value)[:40]!r}")


def parse_float(value: Any) -> float:
    """JavaScript's `parseFloat`: the number a text starts with, else NaN."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    match = _FLOAT_PREFIX.match(str(value))
    if match is None:
        return math.nan
    return float(match.group(0).strip().replace("Infinity", "inf"))


def as_number(value: Any, default: float | None = None) -> float | None:
    """A number from a number or text (JavaScript's parseFloat); blank or unreadable → `default`."""
    if is_blank(value):
        return default
    number = parse_float(value)
    return default if math.isnan(number) else number


def json_in_string(value: Any) -> Any:
    """A JSON value the editor stored as text; other values pass unchanged."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in ("{", "[", '"') or text in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    return value


def _blank_is_default(value: Any) -> Any:
    if is_blank(value):
        raise PydanticUseDefault()
    return value


def _bool(value: Any) -> Any:
    if is_blank(value):
        raise PydanticUseDefault()
    return as_bool(value)


def _number(value: Any) -> Any:
    if is_blank(value) or isinstance(value, bool):
        raise PydanticUseDefault() if is_blank(value) else ValueError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        return value
    number = parse_float(value)
    if math.isnan(number):
        raise ValueError(f"expected a number, got {str(value)[:40]!r}")
    return int(number) if number.is_integer() and "." not in str(value) and "e" not in str(value).lower() else number


def _json(value: Any) -> Any:
    if is_blank(value):
        raise PydanticUseDefault()
    return json_in_string(value)


BlankIsDefault = BeforeValidator(_blank_is_default)

#: What the JSON schema (`flowwire schema`) accepts for each type: the forms the editor writes, not only the result.
def _any_case(word: str) -> str:
    """JSON Schema patterns have no case-insensitive flag."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_BOOL_TEXT = r"^\s*(" + "|".join(_any_case(w) for w in sorted(_TRUE | _FALSE)) + r")?\s*$"
_NUMBER_TEXT = r"^\s*$|^\s*[+-]?(Infinity|\d|\.\d)"
_BOOL_INPUT: Any = Union[bool, float, Annotated[str, StringConstraints(pattern=_BOOL_TEXT)], None]
_NUMBER_INPUT: Any = Union[float, Annotated[str, StringConstraints(pattern=_NUMBER_TEXT)], None]

if TYPE_CHECKING:
    Blank = Annotated[T, BlankIsDefault]
else:

    class _Blank:
        """`Blank[T]`: T, where `""`/null/white space take the default (the schema accepts those too)."""

        def __getitem__(self, tp: Any) -> Any:
            return Annotated[tp, BeforeValidator(_blank_is_default, json_schema_input_type=Union[tp, Literal[""], None])]

    Blank = _Blank()

Bool = Annotated[bool, BeforeValidator(_bool, json_schema_input_type=_BOOL_INPUT)]
Int = Annotated[int, BeforeValidator(_number, json_schema_input_type=_NUMBER_INPUT)]
Float = Annotated[float, BeforeValidator(_number, json_schema_input_type=_NUMBER_INPUT)]
OptInt = Annotated[int | None, BeforeValidator(_number, json_schema_input_type=_NUMBER_INPUT)]
OptFloat = Annotated[float | None, BeforeValidator(_number, json_schema_input_type=_NUMBER_INPUT)]
Json = Annotated[Any, BeforeValidator(_json)]

__all__ = [
    "Blank",
    "BlankIsDefault",
    "Bool",
    "Float",
    "Int",
    "Json",
    "OptFloat",
    "OptInt",
    "as_bool",
    "as_number",
    "is_blank",
    "json_in_string",
    "parse_float",
]
