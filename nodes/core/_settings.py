"""Compiling a node's settings once, for both `check` and `__init__`.

The runtime validates a node's Props, passes that object to `check`, then
builds the node with the same object. A node whose settings need more than
the model (paths, separators, JSONata) compiles them with one function;
`compiled` keeps the result on the props, so `check` reports exactly what
`__init__` would fail on and nothing is parsed twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import PrivateAttr

from runtime import Node, NodeProps

S = TypeVar("S")


class Invalid(ValueError):
    """Settings that cannot be compiled: (field, problem) pairs, as `check` returns them."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems))
        self.problems = problems


class CompiledProps(NodeProps):
    """Props that carry their compiled settings once `compiled` has built them."""

    _compiled: Any = PrivateAttr(None)


def compiled(props: CompiledProps, build: Callable[[Any], S]) -> S:
    """`build(props)`, once per props object; raises `Invalid`."""
    if props._compiled is None:
        props._compiled = build(props)
    result: S = props._compiled
    return result


def problems(props: CompiledProps, build: Callable[[Any], Any]) -> list[tuple[str, str]]:
    """What `check` returns: the problems `compiled` would raise, or none."""
    try:
        compiled(props, build)
    except Invalid as exc:
        return exc.problems
    return []


class CompiledNode(Node):
    """A node whose `compile_settings` function builds its settings from its props: `check` reports its problems, `self._s` holds the result.

    Subclasses set `compile_settings = staticmethod(_compile)` and annotate `_s` with the settings type.
    """

    compile_settings: ClassVar[Callable[[Any], Any]]

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        return problems(props, cls.compile_settings)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._s = compiled(self.props, self.compile_settings)


def json_bytes(name: str, text: str) -> bytes:
    """Bytes the editor stores as a JSON array of numbers (`[13, 10]`); ValueError naming the field otherwise."""
    try:
        arr = json.loads(text)
    except ValueError:
        arr = None
    if not isinstance(arr, list) or not all(isinstance(b, int) and 0 <= b < 256 for b in arr):
        raise ValueError(f"{name} {text!r} is not a JSON array of bytes")
    return bytes(arr)
