"""Node-RED's typed values and message paths, in one place.

Every node that reads or writes "a property of the message" (inject, change,
switch, template, the OpenAI nodes ...) goes through here, so `payload.a[0]["b"]`
and the value types `str/num/bool/json/date/env/msg/flow/global/jsonata/bin/re`
mean the same thing everywhere. Values are *compiled* once per node into small
callables so the per-message path does no parsing.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._errors import FlowwireError

if TYPE_CHECKING:
    from ._node import Node

Key = str | int
Getter = Callable[[dict[str, Any], "Node | None"], Any]

__all__ = [
    "PathError",
    "compile_setter",
    "compile_value",
    "delete_path",
    "evaluate",
    "get_path",
    "parse_path",
    "set_path",
    "split_store",
]


class PathError(FlowwireError, ValueError):
    """A message path or a typed value that cannot be understood."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>[^.\[\]'"\s][^.\[\]]*)      # bare name, up to . or [
      | \[\s*(?P<index>-?\d+)\s*\]            # [0]
      | \[\s*(?P<q>['"])(?P<quoted>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\]  # ["a.b"]
    )""",
    re.VERBOSE,
)


@lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[Key, ...]:
    """Split `a.b[0]["c d"]` into keys; a leading `msg.` is accepted and dropped."""
    if not isinstance(path, str) or not path.strip():
        raise PathError(f"empty property path {path!r}")
    text = path.strip()
    if text.startswith("msg.") and len(text) > 4:
        text = text[4:]
    keys: list[Key] = []
    pos = 0
    expect_name = True
    while pos < len(text):
        if text[pos] == "." and not expect_name:
            pos += 1
            expect_name = True
            if pos >= len(text):
                raise PathError(f"property path {path!r} ends with '.'")
            continue
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise PathError(f"cannot parse property path {path!r} at position {pos}")
        if m.group("ident") is not None:
            if not expect_name:
                raise PathError(f"missing '.' in property path {path!r} at position {pos}")
            keys.append(m.group("ident").strip())
        elif m.group("index") is not None:
            keys.append(int(m.group("index")))
        else:
            keys.append(m.group("quoted").replace("\\" + m.group("q"), m.group("q")))
        pos = m.end()
        expect_name = False
    if expect_name:
        raise PathError(f"property path {path!r} ends with '.'")
    return tuple(keys)


_MISSING = object()


def get_path(obj: Any, path: str | tuple[Key, ...], default: Any = None) -> Any:
    """The value at `path`, or `default` when any step is missing (Node-RED gives undefined)."""
    keys = parse_path(path) if isinstance(path, str) else path
    for key in keys:
        try:
            obj = obj[key]
        except (KeyError, IndexError, TypeError):
            return default
    return obj


def set_path(obj: dict[str, Any], path: str | tuple[Key, ...], value: Any, create: bool = True) -> None:
    """Set the value at `path`, creating intermediate dicts (or lists before an index)."""
    keys = parse_path(path) if isinstance(path, str) else path
    target: Any = obj
    for i, key in enumerate(keys[:-1]):
        try:
            nxt = target[key]
        except (KeyError, IndexError, TypeError):
            nxt = _MISSING
        if not isinstance(nxt, (dict, list)):
            if not create:
                return
            nxt = [] if isinstance(keys[i + 1], int) else {}
            _assign(target, key, nxt)
        target = nxt
    _assign(target, keys[-1], value)


def _assign(container: Any, key: Key, value: Any) -> None:
    if isinstance(container, list) and isinstance(key, int):
        if key < 0:
            key += len(container)
        if key >= len(container):
            container.extend([None] * (key - len(container) + 1))
    container[key] = value


def compile_setter(path: str | tuple[Key, ...]) -> Callable[[dict[str, Any], Any], None]:
    """`set_path` specialised for one path: the per-hop cost of a change node is mostly this."""
    keys = parse_path(path) if isinstance(path, str) else path
    if not all(isinstance(k, str) for k in keys):
        return lambda obj, value: set_path(obj, keys, value)
    last = keys[-1]
    if len(keys) == 1:

        def set_top(obj: dict[str, Any], value: Any) -> None:
            obj[last] = value  # type: ignore[index]

        return set_top
    if len(keys) == 2:
        first = keys[0]

        def set_two(obj: dict[str, Any], value: Any) -> None:
            inner = obj.get(first)
            if type(inner) is dict:
                inner[last] = value
            else:
                set_path(obj, keys, value)

        return set_two
    head = keys[:-1]

    def set_deep(obj: dict[str, Any], value: Any) -> None:
        target: Any = obj
        for key in head:
            target = target.get(key) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                set_path(obj, keys, value)
                return
        target[last] = value

    return set_deep


def delete_path(obj: dict[str, Any], path: str | tuple[Key, ...]) -> None:
    """Remove the value at `path`; a missing path is not an error."""
    keys = parse_path(path) if isinstance(path, str) else path
    parent = get_path(obj, keys[:-1]) if len(keys) > 1 else obj
    try:
        del parent[keys[-1]]
    except (KeyError, IndexError, TypeError):
        pass


_STORE_KEY = re.compile(r"^#:\((?P<store>[^)]+)\)::(?P<key>.+)$")


def split_store(key: str) -> tuple[str | None, str]:
    """Node-RED names a context store inline as `#:(file)::counter`."""
    m = _STORE_KEY.match(key)
    return (m.group("store"), m.group("key")) if m else (None, key)


def _number(text: Any) -> int | float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text
    s = str(text).strip()
    try:
        return int(s, 0) if s.lower().startswith(("0x", "0o", "0b")) else int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            raise PathError(f"{text!r} is not a number") from None


def _boolean(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    s = str(text).strip().lower()
    if s in ("true", "1"):
        return True
    if s in ("false", "0", ""):
        return False
    raise PathError(f"{text!r} is not a boolean (true or false)")


def _json_value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text) if text.strip() else ""
    except json.JSONDecodeError as exc:
        raise PathError(f"invalid JSON: {exc}") from None


def _bin_value(text: Any) -> bytes:
    data = _json_value(text)
    if isinstance(data, list):
        return bytes(data)
    if isinstance(data, str):
        return data.encode()
    raise PathError("a bin value is a JSON array of bytes or a string")


def _iso_now() -> str:
    """JavaScript's `new Date().toISOString()`: UTC, milliseconds, from one reading of the clock."""
    millis = int(time.time() * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"


def _context_getter(scope: str, key: str) -> Getter:
    store, name = split_store(key)
    if name == "$parent" or name.startswith("$parent."):
        # The context walks `$parent.` levels itself; the path after them is parsed there.
        def get_up(msg: dict[str, Any], node: Node | None) -> Any:
            if node is None:
                raise PathError(f"{scope} context needs a node")
            return (node.flow_context if scope == "flow" else node.global_context).get(name, store=store)

        return get_up
    keys = parse_path(name)
    head, rest = keys[0], keys[1:]

    def get(msg: dict[str, Any], node: Node | None) -> Any:
        if node is None:
            raise PathError(f"{scope} context needs a node")
        ctx = node.flow_context if scope == "flow" else node.global_context
        value = ctx.get(str(head), store=store)
        return get_path(value, rest) if rest else value

    return get


def _jsonata_getter(expression: str) -> Getter:
    from . import _jsonata

    compiled = _jsonata.compile(expression)
    return lambda msg, node: compiled.evaluate(msg, node)


def compile_value(value: Any, value_type: str | None) -> Getter:
    """Turn a Node-RED (value, type) pair into `getter(msg, node)`.

    Constant types are evaluated now (so errors surface at validation time);
    only msg/flow/global/env-with-substitution/date/jsonata stay dynamic.
    """
    vt = (value_type or "str").lower()
    if vt in ("str", "string"):
        const: Any = "" if value is None else str(value)
    elif vt == "num":
        const = _number(value)
    elif vt == "bool":
        const = _boolean(value)
    elif vt == "json":
        const = _json_value(value)
        if isinstance(const, (dict, list)):
            text = json.dumps(const)
            return lambda msg, node: json.loads(text)
    elif vt == "bin":
        const = _bin_value(value)
    elif vt == "re":
        const = re.compile(str(value))
    elif vt == "null":
        const = None
    elif vt == "date":
        fmt = str(value or "")
        if fmt == "iso":
            return lambda msg, node: _iso_now()
        return lambda msg, node: int(time.time() * 1000)
    elif vt == "env":
        name = str(value or "")

        def env(msg: dict[str, Any], node: Node | None) -> Any:
            # Node-RED's evaluateEnvProperty: `NAME`, `${NAME}` or text with `${NAME}` in it, unknown names "".
            from ._env import resolve_text

            return resolve_text(name, node.env if node is not None else os.environ.get)

        return env
    elif vt == "msg":
        keys = parse_path(str(value))
        return lambda msg, node: get_path(msg, keys)
    elif vt in ("flow", "global"):
        return _context_getter(vt, str(value))
    elif vt == "jsonata":
        return _jsonata_getter(str(value))
    else:
        raise PathError(f"unknown value type {value_type!r}")
    return lambda msg, node: const


def evaluate(value: Any, value_type: str | None, msg: dict[str, Any], node: Node | None = None) -> Any:
    """One-off evaluation of a typed value; prefer `compile_value` in a handler's hot path."""
    return compile_value(value, value_type)(msg, node)
