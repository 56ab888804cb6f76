"""`${VAR}` and `${VAR:-default}` inside strings.

Node-RED only replaces a property whose whole value is `${VAR}`; we replace
anywhere in a string, which is what people writing YAML by hand expect.
`$${VAR}` escapes a literal `${VAR}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PATTERN = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(KeyError):
    """A `${VAR}` with no value and no default."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def substitute(text: str, env: Mapping[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(0)[1:]
        name, default = m.group(2), m.group(3)
        value = env.get(name)
        if value is None:
            if default is None:
                raise MissingVariable(name)
            return default
        return value

    return _PATTERN.sub(replace, text) if "${" in text else text


def variables(text: str) -> list[str]:
    """Names referenced by `text` (for messages about what is missing)."""
    return [m.group(2) for m in _PATTERN.finditer(text) if not m.group(1)]
