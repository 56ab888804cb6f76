"""Small text helpers shared by the sequence, parser and file nodes.

JavaScript value rules (`String(x)`, `Number(x)`, comparisons) live in
`_jsvalues`; this module holds what Node-RED's editor and `RED.util` add on
top: escaped separators, random ids and `JSON.stringify` output.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ._jsvalues import UNDEFINED, to_string

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
    if indent:
        return json.dumps(value, indent=indent, ensure_ascii=False, default=default)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"type": "Buffer", "data": list(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_lenient(value: Any) -> Any:
    return {"type": "Buffer", "data": list(value)} if isinstance(value, (bytes, bytearray)) else repr(value)
