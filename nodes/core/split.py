"""split: one message into a sequence of messages carrying `msg.parts`.

A sequence is a run of messages sharing `msg.parts.id`, each with its
`index` and (once known) the `count`. Splitting a message that already has
parts pushes the old parts onto a stack (`parts.parts`) and `join` pops it,
so nested split/join pairs round-trip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from runtime import Msg, Output, clone, lenient, register
from runtime.properties import PathError, get_path, parse_path, set_path

from ._settings import CompiledNode, CompiledProps, Invalid, json_bytes
from ._text import generate_id, unescape

_MISSING: Any = object()


class SplitProps(CompiledProps):
    splt: str = Field("\\n", description="separator for strings and buffers (escapes like \\n allowed), or the chunk length")
    spltType: Literal["str", "bin", "len"] = Field("str", description="str: a string separator; bin: a JSON byte array; len: fixed-length chunks")
    arraySplt: int | str = Field(1, description="array chunk length")
    arraySpltType: str = "len"
    stream: lenient.Bool = Field(False, description="treat successive string/buffer messages as one stream (no parts.count)")
    addname: lenient.Blank[str] = Field("", description="when splitting an object, copy each key into this message property")
    property: lenient.Blank[str] = Field("payload", description="the message property to split (Node-RED 4)")


@dataclass(frozen=True, slots=True)
class _Elements:
    """What differs between splitting a string and a buffer: the element type and Node-RED's bookkeeping for it."""

    type: str
    empty: str | bytes
    #: The separator as this element type (separator mode).
    sep: str | bytes
    #: Length mode: strings get `ch: ""` and `len` before `count`; buffers only `len`, after it.
    ch_in_len_mode: bool
    #: Separator mode without streaming: a buffer's empty last piece is not sent (strings send it).
    drop_empty_tail: bool


@dataclass(frozen=True, slots=True)
class _SplitSettings:
    path: tuple[Any, ...]
    property: str
    addname: tuple[Any, ...] | None
    stream: bool
    #: Length mode: the chunk length; None in separator mode.
    size: int | None
    #: `parts.ch` in separator mode: the separator text, or the byte list for a binary separator.
    ch: Any
    text: _Elements
    buffer: _Elements
    array_len: int


def _length(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


def _compile(props: SplitProps) -> _SplitSettings:
    found: list[tuple[str, str]] = []
    size, sep, ch = None, "", None
    if props.spltType == "len":
        size = _length(props.splt)
        if size is None:
            found.append(("splt", f"invalid split length {props.splt!r}"))
    elif props.spltType == "bin":
        try:
            raw = json_bytes("splt", props.splt)
        except ValueError as exc:
            found.append(("splt", str(exc)))
        else:
            sep, ch = raw.decode("utf-8", "replace"), list(raw)
    else:
        sep = ch = unescape(props.splt if props.splt != "" else "\\n")
    bytes_sep = bytes(ch) if isinstance(ch, list) else sep.encode()
    array_len = _length(props.arraySplt)
    if array_len is None:
        found.append(("arraySplt", f"invalid array split length {props.arraySplt!r}"))
    paths: dict[str, tuple[Any, ...] | None] = {}
    for name in ("property", "addname"):
        text = getattr(props, name)
        try:
            paths[name] = tuple(parse_path(text)) if text else None
        except PathError as exc:
            found.append((name, str(exc)))
    if found:
        raise Invalid(found)
    assert paths["property"] is not None and array_len is not None
    return _SplitSettings(
        path=paths["property"],
        property=props.property,
        addname=paths["addname"],
        stream=props.stream,
        size=size,
        ch=ch,
        text=_Elements("string", "", sep, ch_in_len_mode=True, drop_empty_tail=False),
        buffer=_Elements("buffer", b"", bytes_sep, ch_in_len_mode=False, drop_empty_tail=True),
        array_len=array_len,
    )


@register("split")
class Split(CompiledNode):
    """Splits a string, array, object or buffer into a sequence of messages with `msg.parts`."""

    Props = SplitProps
    props: SplitProps
    compile_settings = staticmethod(_compile)
    _s: _SplitSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: stream mode: the running index, and what is left of the previous string or buffer.
        self._c = 0
        self._rest: dict[str, Any] = {"string": "", "buffer": b""}

    def on_input(self, msg: Msg) -> Output:
        s = self._s
        value = get_path(msg, s.path, _MISSING)
        if value is _MISSING:
            return None
        parts: dict[str, Any] = {"parts": msg["parts"]} if "parts" in msg else {}
        parts["id"] = generate_id()
        if s.property != "payload":
            parts["property"] = s.property
        msg.pop("_msgid", None)
        # Placeholders rather than deletes: Node-RED overwrites both in place, so the
        # pieces keep the input's key order (visible in JSON output), without cloning the value per piece.
        msg["parts"] = None
        set_path(msg, s.path, None)
        if isinstance(value, str):
            return [self._split_elements(msg, parts, value, s.text)]
        if isinstance(value, list):
            return [self._split_array(msg, parts, value)]
        if isinstance(value, dict):
            return [self._split_object(msg, parts, value)]
        if isinstance(value, (bytes, bytearray)):
            return [self._split_elements(msg, parts, bytes(value), s.buffer)]
        return None

    def _piece(self, base: Msg, parts: dict[str, Any], value: Any, **extra: Any) -> Msg:
        out = clone(base)
        path = self._s.path
        if len(path) == 1:
            out[path[0]] = value
        else:
            set_path(out, path, value)
        piece = clone(parts) if "parts" in parts or type(parts.get("ch")) is list else parts.copy()
        piece.update(extra)
        out["parts"] = piece
        return out

    def _split_elements(self, msg: Msg, parts: dict[str, Any], data: Any, el: _Elements) -> list[Msg]:
        """A string or buffer, by length or separator; in stream mode the unfinished tail waits for the next message."""
        s = self._s
        stream, size = s.stream, s.size
        data = self._rest[el.type] + data
        parts["type"] = el.type
        if size is not None:
            if el.ch_in_len_mode:
                parts.update(ch="", len=size)
            pieces = [data[pos : pos + size] for pos in range(0, len(data), size)]
            count = len(pieces)
            if not stream:
                parts["count"] = count
            parts["len"] = size
            pieces = pieces or [data]
            keep_tail = len(pieces[-1]) != size
        else:
            parts["ch"] = s.ch
            pieces = data.split(el.sep) if el.sep else [data[pos : pos + 1] for pos in range(len(data))]
            count = len(pieces)
            if not stream and el.drop_empty_tail:
                parts["count"] = count
            pieces = pieces or [el.empty]
            keep_tail = True
        self._rest[el.type] = pieces.pop() if stream and keep_tail else el.empty
        if not stream:
            self._c = 0
            if size is None and el.drop_empty_tail and not pieces[-1]:
                pieces.pop()
        out = []
        for piece in pieces:
            # Where parts already has `count` (set above), update keeps its place: Node-RED's key order.
            out.append(self._piece(msg, parts, piece, index=self._c) if stream else self._piece(msg, parts, piece, index=self._c, count=count))
            self._c += 1
        return out

    def _split_array(self, msg: Msg, parts: dict[str, Any], items: list[Any]) -> list[Msg]:
        size = self._s.array_len
        count = math.ceil(len(items) / size)
        parts.update(type="array", count=count, len=size)
        out = []
        for i in range(count):
            chunk: Any = items[i * size : (i + 1) * size]
            if size == 1:
                chunk = chunk[0]
            out.append(self._piece(msg, parts, chunk, index=i))
        return out

    def _split_object(self, msg: Msg, parts: dict[str, Any], obj: dict[str, Any]) -> list[Msg]:
        parts["type"] = "object"
        count = len(obj)
        addname = self._s.addname
        out = []
        for index, (key, value) in enumerate(obj.items()):
            piece = self._piece(msg, parts, value, key=key, index=index, count=count)
            if addname is not None:
                set_path(piece, addname, key)
            out.append(piece)
        return out
