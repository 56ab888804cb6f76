"""JavaScript value semantics that Node-RED's nodes rely on.

Flows exported from Node-RED compare and print values the JavaScript way:
`"5" == 5` is true, `true` prints as `true`, `[1,2]` as `1,2`, `Math.round`
rounds halves up. No maintained Python library reproduces these rules, so the
few the core nodes need live here, small and tested through the nodes.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any


class _Undefined:
    """JavaScript's `undefined`: a property that is not there, as opposed to `null` (None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FLOAT_PREFIX = re.compile(r"\s*[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_string(value: Any) -> str:
    """`String(value)`."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else to_string(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def format_number(value: float) -> str:
    """A number as JavaScript prints it: `1` not `1.0`, `1e-7`, `Infinity`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    exponent = int(text.split("e")[1])
    if -7 < exponent < 21:
        return format(Decimal(text), "f")
    mantissa, _, exp = text.partition("e")
    sign = "-" if exp.startswith("-") else "+"
    return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"


def normalise_number(value: float) -> int | float:
    """An integral float as an int, so it serialises as JavaScript would (`5`, not `5.0`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def to_number(value: Any) -> int | float:
    """`Number(value)`: NaN when it is not a number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, list):
        value = to_string(value)
    if not isinstance(value, str):
        return math.nan
    text = value.strip()
    if not text:
        return 0
    lower = text.lower()
    try:
        if lower.startswith("0x"):
            return int(text[2:], 16)
        if lower.startswith("0o"):
            return int(text[2:], 8)
        if lower.startswith("0b"):
            return int(text[2:], 2)
    except ValueError:
        return math.nan
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    if not _DECIMAL.fullmatch(text):
        return math.nan
    number = float(text)
    return int(text) if number.is_integer() and text.lstrip("+-").isdigit() else number


def parse_float(value: Any) -> float:
    """`parseFloat(value)`: the longest numeric prefix of its string form, else NaN."""
    if is_number(value):
        return float(value)
    m = _FLOAT_PREFIX.match(to_string(value))
    if m is None:
        return math.nan
    text = m.group(0).strip()
    return float(text.replace("Infinity", "inf"))


def _primitive(value: Any) -> Any:
    return to_string(value) if isinstance(value, (dict, list, bytes, bytearray)) else value


def loose_equals(a: Any, b: Any) -> bool:
    """`a == b`."""
    a_nullish = a is None or a is UNDEFINED
    b_nullish = b is None or b is UNDEFINED
    if a_nullish or b_nullish:
        return a_nullish and b_nullish
    if isinstance(a, bool):
        a = int(a)
    if isinstance(b, bool):
        b = int(b)
    a_obj = isinstance(a, (dict, list, bytes, bytearray))
    b_obj = isinstance(b, (dict, list, bytes, bytearray))
    if a_obj and b_obj:
        return a is b
    if a_obj or b_obj:
        return loose_equals(_primitive(a), _primitive(b))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, str):
        a = to_number(a)
    if isinstance(b, str):
        b = to_number(b)
    return bool(a == b)


def _relational(a: Any, b: Any) -> tuple[Any, Any] | None:
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    x, y = to_number(a), to_number(b)
    if math.isnan(x) or math.isnan(y):
        return None
    return x, y


def less(a: Any, b: Any) -> bool:
    """`a < b`."""
    pair = _relational(a, b)
    return pair is not None and pair[0] < pair[1]


def less_or_equal(a: Any, b: Any) -> bool:
    """`a <= b`."""
    pair = _relational(a, b)
    return pair is not None and pair[0] <= pair[1]


def strict_equals(a: Any, b: Any) -> bool:
    """`a === b` for primitives (numbers of either Python type compare by value)."""
    if is_number(a) and is_number(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return a is b
    return bool(a == b)


def round_half_up(value: float) -> int | float:
    """`Math.round`: halves go towards +infinity (Python's round() goes to even)."""
    if math.isnan(value) or math.isinf(value):
        return value
    return math.floor(value + 0.5)


_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_BACKREF = re.compile(r"\\k<([A-Za-z_][A-Za-z0-9_]*)>")


@lru_cache(maxsize=512)
def regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A JavaScript regular expression as a compiled Python one (named groups translated)."""
    text = _BACKREF.sub(r"(?P=\1)", _NAMED_GROUP.sub("(?P<", pattern))
    return re.compile(text, re.IGNORECASE if ignore_case else 0)


def replacement(text: str) -> str:
    """A JavaScript replacement string (`$1`, `$&`, `$<name>`, `$$`) in `re.sub` terms."""

    def convert(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "$":
            return "$"
        if token == "&":
            return r"\g<0>"
        if token.startswith("<"):
            return rf"\g{token}"
        return rf"\g<{token}>"

    return re.sub(r"\$(\$|&|\d+|<[A-Za-z_][A-Za-z0-9_]*>)", convert, text.replace("\\", "\\\\"))
