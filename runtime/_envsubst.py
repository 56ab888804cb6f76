"""`${VAR}` and `${VAR:-default}` inside strings.

Node-RED only replaces a property whose whole value is `${VAR}`; we replace
anywhere in a string, which is what people writing YAML by hand expect.
`$${VAR}` escapes a literal `${VAR}`. A property whose whole value is one
`${VAR}` takes the variable's value as it is, as in Node-RED: a `num` or
`json` env entry of a tab or subflow gives a number or an object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PATTERN = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(KeyError):
    """A `${VAR}` with no value and no default."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def substitute(text: str, env: Mapping[str, Any]) -> Any:
    if "${" not in text:
        return text

    def value_of(m: re.Match[str]) -> Any:
        name, default = m.group(2), m.group(3)
        value = env.get(name)
        if value is None:
            if default is None:
                raise MissingVariable(name)
            return default
        return value

    whole = _PATTERN.fullmatch(text)
    if whole is not None and not whole.group(1):
        return value_of(whole)

    def replace(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(0)[1:]
        return _text(value_of(m))

    return _PATTERN.sub(replace, text)


def _text(value: Any) -> str:
    """A value as JavaScript's string conversion writes it, which is what Node-RED puts in the text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def variables(text: str) -> list[str]:
    """Names referenced by `text` (for messages about what is missing)."""
    return [m.group(2) for m in _PATTERN.finditer(text) if not m.group(1)]
