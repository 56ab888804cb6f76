"""What a join group builds: one class per kind (array, string, buffer, object, merged).

A group collects one sequence: the message merged so far, the values, and
the parts it holds. The kind is fixed when the group starts (by `build` in
custom mode, by `parts.type` in auto mode), so adding a message never asks
what is being built.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar

from runtime import Held, Msg, Node, NodeError, clone

from ._jsvalues import to_number, to_string
from ._text import js_join

#: A message without the collected property (Node-RED's undefined).
MISSING: Any = object()


def js_count(value: Any) -> int:
    """A `parts.count` as Node-RED compares it: any value through `Number()`, NaN counting as 0 (no target)."""
    number = to_number(value)
    return 0 if math.isnan(number) else int(number)


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return bytes(int(b) & 0xFF for b in value)
    return to_string(value).encode()


class Group:
    """A sequence being collected: the merged msg, the collected values, the held parts.

    This base class collects a plain list, as Node-RED does for a `parts.type`
    it does not know; the kinds below override how values go in and come out.
    `shape` is what the kind needs to finish: the join character for strings
    and buffers, the array chunk length (to flatten chunks back) for arrays.
    """

    __slots__ = ("count", "held", "items", "msg", "path", "shape", "target", "timer")
    #: Object groups need a key per message; a message without one is not collected.
    keyed: ClassVar[bool] = False
    #: Auto mode: the `msg.parts` field that gives `shape`.
    shape_field: ClassVar[str | None] = None

    def __init__(self, msg: Msg, target: int, path: tuple[Any, ...], shape: Any) -> None:
        self.msg = clone(msg)
        self.target = target
        self.path = path
        self.shape = shape
        self.count = 0
        self.items: Any = self._empty()
        self.held: list[Held] = []
        self.timer: asyncio.TimerHandle | None = None

    def _empty(self) -> Any:
        return []

    def add(self, node: Node, msg: Msg, value: Any, index: Any, key: Any) -> None:
        """Take one message's value (`MISSING` when it has none), placed by `index` when that is a number."""
        items = self.items
        if isinstance(index, (int, float)) and not isinstance(index, bool):
            position = int(index)
            item = None if value is MISSING else value
            if position == len(items):
                items.append(item)
            elif position > len(items):
                items.extend([None] * (position - len(items)))
                items.append(item)
            else:
                items[position] = item
            self.count += 1
        elif value is not MISSING:
            items.append(value)
            self.count += 1

    def result(self) -> Any:
        """The collected value, as the joined message carries it."""
        return list(self.items)


class _Array(Group):
    __slots__ = ()
    shape_field = "len"

    def result(self) -> Any:
        if isinstance(self.shape, (int, float)) and self.shape > 1:
            # A split in chunks (`arraySplt > 1`) is flattened back.
            flat: list[Any] = []
            for item in self.items:
                if isinstance(item, list):
                    flat.extend(item)
                else:
                    flat.append(item)
            return flat
        return super().result()


class _String(Group):
    __slots__ = ()
    shape_field = "ch"

    def result(self) -> Any:
        join_char = self.shape
        if isinstance(join_char, list):
            join_char = bytes(join_char).decode("utf-8", "replace")
        elif not isinstance(join_char, str):
            join_char = "" if join_char is None else to_string(join_char)
        return js_join(self.items, join_char)


class _Buffer(Group):
    __slots__ = ()
    shape_field = "ch"

    def add(self, node: Node, msg: Msg, value: Any, index: Any, key: Any) -> None:
        if value is not MISSING and value is not None and not isinstance(value, (bytes, bytearray, str, list)):
            raise NodeError(f"join: cannot join a {type(value).__name__} into a buffer", msg)
        super().add(node, msg, value, index, key)

    def result(self) -> Any:
        joiner = b"" if self.shape is None else _to_bytes(self.shape)
        return joiner.join(_to_bytes(item) for item in self.items if item is not None)


class _Object(Group):
    __slots__ = ()
    keyed = True

    def _empty(self) -> Any:
        return {}

    def add(self, node: Node, msg: Msg, value: Any, index: Any, key: Any) -> None:
        self.items[key] = None if value is MISSING else value
        self.count = len(self.items)

    def result(self) -> Any:
        return dict(self.items)


class _Merged(_Object):
    __slots__ = ()
    keyed = False

    def add(self, node: Node, msg: Msg, value: Any, index: Any, key: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k != "_msgid":
                    self.items[k] = v
            self.count = len(self.items)
        elif "complete" not in msg:
            node.warn("Cannot merge non-object types")


#: `build` in custom mode, `parts.type` in auto mode.
KINDS: dict[str, type[Group]] = {"array": _Array, "string": _String, "buffer": _Buffer, "object": _Object, "merged": _Merged}


def auto_kind(type_name: Any) -> type[Group]:
    """What `parts.type` builds: no type is an array; an unknown one collects a plain list (no chunks flattened)."""
    if not type_name:
        return _Array
    return KINDS.get(type_name, Group) if isinstance(type_name, str) else Group
