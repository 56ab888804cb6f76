"""Small text helpers shared by the sequence, parser and file nodes.

JavaScript value rules (`String(x)`, `Number(x)`, comparisons) live in
`_jsvalues`; this module holds what Node-RED's editor and `RED.util` add on
top: escaped separators, random ids and `JSON.stringify` output.
"""

from __future__ import annotations

import json
import json.encoder
import math
import os
import re
from typing import Any

from ._jsvalues import UNDEFINED, format_number, to_string

_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t", "\\e": "\x1b", "\\f": "\f", "\\0": "\0"}
_ESCAPE_RE = re.compile(r"\\[nrtef0]")


def unescape(text: str) -> str:
    """The editor stores a typed newline as the two characters `\\n`; nodes turn them back."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def generate_id() -> str:
    """`RED.util.generateId()`: 8 random bytes as hex."""
    return os.urandom(8).hex()


def js_join(items: list[Any], sep: str) -> str:
    """`Array.prototype.join`: null and undefined become empty strings."""
    return sep.join("" if item is None or item is UNDEFINED else to_string(item) for item in items)


def json_text(value: Any, indent: int | None = None, *, lenient: bool = False) -> str:
    """`JSON.stringify(value, null, indent)`: compact by default, non-ASCII kept, bytes as Node's Buffer JSON.

    `lenient` (for display, e.g. debug output) writes what JSON cannot hold as
    its `repr` instead of raising TypeError.
    """
    default = _json_lenient if lenient else _json_default
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(value, indent=indent or None, separators=separators, ensure_ascii=False, default=default)
    if _PYTHON_FLOAT.search(text):
        text = _js_float_dumps(value, indent or None, separators, default)
    return text


#: Where Python's float text can differ from JavaScript's (`1.0`, `1e-07`, `1e+16`, `NaN`, `Infinity`);
#: a false hit inside a string only costs the slower exact encoding below.
_PYTHON_FLOAT = re.compile(r"\d(?:\.0(?![0-9])|e[-+])|NaN|Infinity")


def _js_float(value: float) -> str:
    """A float as JSON.stringify writes it: JavaScript's number text, `null` for NaN and infinities."""
    return format_number(value) if math.isfinite(value) else "null"


def _js_float_dumps(value: Any, indent: int | None, separators: tuple[str, str], default: Any) -> str:
    # The json module offers no hook for float text; its pure-Python encoder takes one (_floatstr), so use that.
    encode = json.encoder._make_iterencode(  # type: ignore[attr-defined]
        {}, default, json.encoder.py_encode_basestring, " " * indent if indent else None, _js_float, separators[1], separators[0], False, False, True
    )
    return "".join(encode(value, 0))


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"type": "Buffer", "data": list(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_lenient(value: Any) -> Any:
    return {"type": "Buffer", "data": list(value)} if isinstance(value, (bytes, bytearray)) else repr(value)
