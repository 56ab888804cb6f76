"""split, join, sort and batch: Node-RED's message sequences and `msg.parts`.

A sequence is a run of messages sharing `msg.parts.id`, each with its
`index` and (once known) the `count`. Splitting a message that already has
parts pushes the old parts onto a stack (`parts.parts`) and joining pops it,
so nested split/join pairs round-trip.

Messages a node keeps (a join waiting for the rest of a group, a batch being
filled, a sort waiting for its sequence) are held with `Node.hold`, so the
runtime's completion tracking stays open until the node lets go of them: a
part absorbed into a join is done when the joined message is sent, or when
the group is dropped (`msg.reset`, shutdown).
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime import Held, Msg, Node, NodeError, NodeProps, Output, clone, compile_jsonata, new_msgid, register
from runtime.properties import PathError, compile_value, get_path, parse_path, set_path

from ._jsvalues import less, strict_equals, to_number, to_string
from ._parts import HeldGroup
from ._props import blank_is_default
from ._text import generate_id, js_join, unescape

_MISSING: Any = object()


def _int_or(value: Any, default: int) -> int:
    if value in ("", None):
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _float_or(value: Any, default: float) -> float:
    if value in ("", None):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


# -- split -------------------------------------------------------------------------------


class SplitProps(NodeProps):
    splt: str = Field("\\n", description="separator for strings and buffers (escapes like \\n allowed), or the chunk length")
    spltType: Literal["str", "bin", "len"] = Field("str", description="str: a string separator; bin: a JSON byte array; len: fixed-length chunks")
    arraySplt: int | str = Field(1, description="array chunk length")
    arraySpltType: str = "len"
    stream: bool = Field(False, description="treat successive string/buffer messages as one stream (no parts.count)")
    addname: str = Field("", description="when splitting an object, copy each key into this message property")
    property: str = Field("payload", description="the message property to split (Node-RED 4)")

    _blanks = blank_is_default("addname", "property")


def _json_bytes(name: str, text: str) -> bytes:
    """Bytes the editor stores as a JSON array of numbers (`[13, 10]`); ValueError naming the field otherwise."""
    try:
        arr = json.loads(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a JSON array of bytes") from None
    if not isinstance(arr, list) or not all(isinstance(b, int) and 0 <= b < 256 for b in arr):
        raise ValueError(f"{name} {text!r} is not a JSON array of bytes")
    return bytes(arr)


def _split_setup(props: SplitProps) -> tuple[Any, list[int] | None, int]:
    """(separator or length, separator bytes for bin, array chunk length); raises ValueError."""
    spltbytes: list[int] | None = None
    if props.spltType == "str":
        sep: Any = unescape(props.splt if props.splt != "" else "\\n")
    elif props.spltType == "bin":
        sep = _json_bytes("splt", props.splt)
        spltbytes = list(sep)
    else:
        try:
            sep = int(props.splt)
        except (TypeError, ValueError):
            raise ValueError(f"invalid split length {props.splt!r}") from None
        if sep < 1:
            raise ValueError(f"invalid split length {props.splt!r}")
    try:
        array_len = int(props.arraySplt)
    except (TypeError, ValueError):
        raise ValueError(f"invalid array split length {props.arraySplt!r}") from None
    if array_len < 1:
        raise ValueError(f"invalid array split length {props.arraySplt!r}")
    return sep, spltbytes, array_len


@register("split")
class Split(Node):
    """Splits a string, array, object or buffer into a sequence of messages with `msg.parts`."""

    Props = SplitProps
    props: SplitProps

    @classmethod
    def check(cls, props: SplitProps) -> list[tuple[str, str]]:
        try:
            _split_setup(props)
        except ValueError as exc:
            return [("arraySplt" if "array" in str(exc) else "splt", str(exc))]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sep, self._sep_bytes, self._array_len = _split_setup(self.props)
        self._keys = parse_path(self.props.property)
        self._addname = parse_path(self.props.addname) if self.props.addname else None
        #: stream mode: the running index, and what is left of the previous message.
        self._c = 0
        self._remainder = ""
        self._buffer = b""

    def on_input(self, msg: Msg) -> Output:
        value = get_path(msg, self._keys, _MISSING)
        if value is _MISSING:
            return None
        parts: dict[str, Any] = {"parts": msg["parts"]} if "parts" in msg else {}
        parts["id"] = generate_id()
        if self.props.property != "payload":
            parts["property"] = self.props.property
        msg.pop("_msgid", None)
        # Placeholders rather than deletes: Node-RED overwrites both in place, so the
        # pieces keep the input's key order (visible in JSON output), without cloning the value per piece.
        msg["parts"] = None
        set_path(msg, self._keys, None)
        if isinstance(value, str):
            return self._split_string(msg, parts, value)
        if isinstance(value, list):
            return self._split_array(msg, parts, value)
        if isinstance(value, dict):
            return self._split_object(msg, parts, value)
        if isinstance(value, (bytes, bytearray)):
            return self._split_buffer(msg, parts, bytes(value))
        return None

    def _piece(self, base: Msg, parts: dict[str, Any], value: Any, **extra: Any) -> Msg:
        out = clone(base)
        if len(self._keys) == 1:
            out[self._keys[0]] = value
        else:
            set_path(out, self._keys, value)
        piece = clone(parts) if "parts" in parts or type(parts.get("ch")) is list else parts.copy()
        piece.update(extra)
        out["parts"] = piece
        return out

    def _split_string(self, msg: Msg, parts: dict[str, Any], text: str) -> Output:
        stream = self.props.stream
        text = self._remainder + text
        parts["type"] = "string"
        if self.props.spltType == "len":
            size: int = self._sep
            parts["ch"] = ""
            parts["len"] = size
            count = math.ceil(len(text) / size)
            if not stream:
                parts["count"] = count
                self._c = 0
            out = []
            pos = 0
            for _ in range(count - 1):
                out.append(self._piece(msg, parts, text[pos : pos + size], index=self._c))
                self._c += 1
                pos += size
            self._remainder = text[pos:]
            if not stream or len(self._remainder) == size:
                out.append(self._piece(msg, parts, self._remainder, index=self._c))
                self._c += 1
                self._remainder = ""
            return [out]
        if self.props.spltType == "bin":
            sep = bytes(self._sep).decode("utf-8", "replace")
            parts["ch"] = self._sep_bytes
        else:
            sep = self._sep
            parts["ch"] = sep
        pieces = text.split(sep) if sep else list(text)
        return [self._send_array(msg, parts, pieces)]

    def _send_array(self, msg: Msg, parts: dict[str, Any], pieces: list[Any]) -> list[Msg]:
        """Node-RED's sendArray: in stream mode the last piece waits for the next message."""
        stream = self.props.stream
        out = []
        for piece in pieces[:-1]:
            extra = {"index": self._c} if stream else {"index": self._c, "count": len(pieces)}
            out.append(self._piece(msg, parts, piece, **extra))
            self._c += 1
        if stream:
            self._remainder = pieces[-1] if pieces else ""
        else:
            out.append(self._piece(msg, parts, pieces[-1] if pieces else "", index=self._c, count=len(pieces)))
            self._c = 0
        return out

    def _split_array(self, msg: Msg, parts: dict[str, Any], items: list[Any]) -> Output:
        size = self._array_len
        count = math.ceil(len(items) / size)
        parts.update(type="array", count=count, len=size)
        out = []
        for i in range(count):
            chunk: Any = items[i * size : (i + 1) * size]
            if size == 1:
                chunk = chunk[0]
            out.append(self._piece(msg, parts, chunk, index=i))
        return [out]

    def _split_object(self, msg: Msg, parts: dict[str, Any], obj: dict[str, Any]) -> Output:
        parts["type"] = "object"
        count = len(obj)
        out = []
        for index, (key, value) in enumerate(obj.items()):
            piece = self._piece(msg, parts, value, key=key, index=index, count=count)
            if self._addname is not None:
                set_path(piece, self._addname, key)
            out.append(piece)
        return [out]

    def _split_buffer(self, msg: Msg, parts: dict[str, Any], data: bytes) -> Output:
        buff = self._buffer + data
        stream = self.props.stream
        parts["type"] = "buffer"
        out = []
        if self.props.spltType == "len":
            size: int = self._sep
            count = math.ceil(len(buff) / size)
            if not stream:
                parts["count"] = count
                self._c = 0
            parts["len"] = size
            pos = 0
            for _ in range(count - 1):
                out.append(self._piece(msg, parts, buff[pos : pos + size], index=self._c))
                self._c += 1
                pos += size
            self._buffer = buff[pos:]
            if not stream or len(self._buffer) == size:
                out.append(self._piece(msg, parts, self._buffer, index=self._c))
                self._c += 1
                self._buffer = b""
            return [out]
        sep = self._sep if isinstance(self._sep, bytes) else str(self._sep).encode()
        parts["ch"] = self._sep_bytes if self.props.spltType == "bin" else self._sep
        pieces = buff.split(sep) if sep else [buff[i : i + 1] for i in range(len(buff))]
        if not stream:
            parts["count"] = len(pieces)
            self._c = 0
        for piece in pieces[:-1]:
            out.append(self._piece(msg, parts, piece, index=self._c))
            self._c += 1
        tail = pieces[-1]
        if not stream and tail:
            # Node-RED sets count to index + 1 on the last piece (and so skips an empty tail).
            out.append(self._piece(msg, parts, tail, index=self._c, count=self._c + 1))
            self._c += 1
            self._buffer = b""
        else:
            self._buffer = tail
        return [out]


# -- join --------------------------------------------------------------------------------


class JoinProps(NodeProps):
    mode: Literal["auto", "custom", "reduce"] = Field("auto", description="auto: reverse a split using msg.parts; custom: build by count/timeout/msg.complete; reduce: JSONata reduce")
    build: Literal["array", "object", "string", "buffer", "merged"] = Field("array", description="custom mode: what to build")
    property: str = Field("payload", description="the message property to collect")
    propertyType: Literal["msg", "full"] = Field("msg", description="full: collect whole messages")
    key: str = Field("topic", description="object build: the message property giving each key")
    joiner: str = Field("\\n", description="string/buffer build: separator")
    joinerType: Literal["str", "bin"] = "str"
    accumulate: bool | str = Field(False, description="object/merged build: keep building after each send")
    timeout: float | str = Field("", description="custom mode: seconds after the first message to send what there is")
    count: int | str = Field("", description="custom mode: send after this many messages ('' = use msg.parts.count)")
    useparts: bool | None = Field(None, description="custom mode: false drops incoming msg.parts (keeping an outer level) so the output carries none; absent (flows before Node-RED 4) keeps them")
    reduceRight: bool = False
    reduceExp: str = Field("", description="reduce: JSONata evaluated per message with $A (accumulator), $I (index), $N (count)")
    reduceInit: Any = ""
    reduceInitType: str = "str"
    reduceFixup: str | None = Field(None, description="reduce: JSONata applied to the result with $A and $N")

    _blanks = blank_is_default("property", "key")

    @field_validator("joiner", mode="before")
    @classmethod
    def _none_joiner(cls, value: Any) -> Any:
        return "" if value is None else value


@dataclass
class _Group:
    """A sequence being collected: the merged msg, the collected values, the held parts."""

    kind: str
    msg: Msg
    target: int
    payload: Any
    join_char: Any = None
    array_len: Any = None
    count: int = 0
    #: auto mode: the path split took the values from (`msg.parts.property`); None = the node's property
    prop: list[Any] | None = None
    held: list[Held] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


def _parts_property(parts: Any) -> list[Any] | None:
    """The path a split took its values from when not payload (Node-RED 4's `msg.parts.property`)."""
    name = parts.get("property") if isinstance(parts, dict) else None
    if not isinstance(name, str) or not name or name == "payload":
        return None
    try:
        return parse_path(name)
    except PathError:
        return None


def _js_truthy_count(value: Any) -> int:
    number = to_number(value)
    return 0 if math.isnan(number) else int(number)


@register("join")
class Join(Node):
    """Joins a sequence of messages (from split, or by count/timeout) into one message."""

    Props = JoinProps
    props: JoinProps

    @classmethod
    def check(cls, props: JoinProps) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if props.mode == "reduce":

            for name in ("reduceExp", "reduceFixup"):
                text = getattr(props, name)
                if text:
                    try:
                        compile_jsonata(text)
                    except PathError as exc:
                        problems.append((name, str(exc)))
            if not props.reduceExp:
                problems.append(("reduceExp", "reduce mode needs a reduce expression"))
            try:
                compile_value(props.reduceInit, props.reduceInitType)
            except PathError as exc:
                problems.append(("reduceInit", str(exc)))
        if props.joinerType == "bin":
            try:
                _bin_joiner(props.joiner)
            except ValueError as exc:
                problems.append(("joiner", str(exc)))
        if _float_or(props.timeout, 0) < 0:
            problems.append(("timeout", "timeout must not be negative"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._full = p.propertyType == "full"
        self._property = parse_path("payload" if self._full else p.property)
        self._prop_key = self._property[0] if len(self._property) == 1 and not self._full else None
        self._key = parse_path(p.key)
        self._timer = 0.0 if p.mode == "auto" else _float_or(p.timeout, 0)
        self._count = _int_or(p.count, 0)
        self._count_from_parts = p.count in ("", None)
        self._accumulate = p.accumulate is True or p.accumulate == "true"
        self._joiner: Any = _bin_joiner(p.joiner) if p.joinerType == "bin" else unescape(p.joiner)
        self._inflight: dict[Any, _Group] = {}
        self._reduce_groups: dict[Any, HeldGroup] = {}
        if p.mode == "reduce":

            self._reduce_exp = compile_jsonata(p.reduceExp)
            self._fixup_exp = compile_jsonata(p.reduceFixup) if p.reduceFixup else None
            self._reduce_init = compile_value(p.reduceInit, p.reduceInitType)
        if p.mode == "auto":
            self.on_input = self._on_auto  # type: ignore[method-assign]

    def _on_auto(self, msg: Msg) -> Output:
        """Auto mode's common case, kept short: the next part of a string/array group already started."""
        parts = msg.get("parts")
        if type(parts) is dict and "reset" not in msg and "complete" not in msg:
            group = self._inflight.get(parts.get("id"))
            index = parts.get("index")
            if group is not None and type(index) is int and group.kind in ("string", "array") and group.prop is None:
                prop_key = self._prop_key
                value = msg.get(prop_key) if prop_key is not None else get_path(msg, self._property)
                items = group.payload
                if index == len(items):
                    items.append(value)
                elif index > len(items):
                    items.extend([None] * (index - len(items)))
                    items.append(value)
                else:
                    items[index] = value
                group.count += 1
                group.msg.update(msg)
                group.held.append(self.hold(msg))
                target = group.target or _js_truthy_count(parts.get("count"))
                if target > 0 and group.count >= target:
                    out = self._complete(parts["id"], group)
                    self._release(group)
                    return out
                return None
        return self._on_any(msg)

    def on_input(self, msg: Msg) -> Output:
        return self._on_any(msg)

    def _on_any(self, msg: Msg) -> Output:
        mode = self.props.mode
        parts = msg.get("parts")
        if mode == "reduce":
            return self._reduce(msg)
        if mode == "auto" and not (isinstance(parts, dict) and "id" in parts):
            self.warn("Message missing msg.parts property - cannot join in 'auto' mode")
            return None
        if mode == "custom" and self.props.useparts is False and isinstance(parts, dict):
            if "parts" in parts:
                parts = msg["parts"] = {"parts": parts["parts"]}
            else:
                del msg["parts"]
                parts = None
        prop = _parts_property(parts) if mode == "auto" else None
        value = msg if self._full else get_path(msg, prop or self._property, _MISSING)
        if mode == "auto":
            assert isinstance(parts, dict)
            part_id = parts["id"]
            kind = parts.get("type")
            target = parts.get("count")
            join_char = parts.get("ch")
            key = parts.get("key")
            array_len = parts.get("len")
            index = parts.get("index")
        else:
            part_id = "_"
            kind = self.props.build
            target = self._count
            join_char = self._joiner
            if self._count_from_parts and isinstance(parts, dict):
                target = parts.get("count") or 0
            key = get_path(msg, self._key) if kind == "object" else None
            array_len = None
            index = None

        if "reset" in msg:
            group = self._inflight.pop(part_id, None)
            if group is not None:
                self._drop(group)
            return None

        if kind == "object" and key in (None, ""):
            if mode == "auto":
                self.warn("Message missing 'msg.parts.key' property - cannot add to object")
            elif "complete" in msg:
                group = self._inflight.get(part_id)
                if group is not None:
                    group.msg["complete"] = msg["complete"]
                    out = self._complete(part_id, group)
                    self._release(group)
                    return out
            else:
                self.warn(f"Message missing key property 'msg.{self.props.key}' - cannot add to object")
            return None

        group = self._inflight.get(part_id)
        if group is None:
            group = self._new_group(part_id, kind, msg, target, join_char, array_len)
            group.prop = prop

        if kind == "buffer" and value is not _MISSING and value is not None:
            if not isinstance(value, (bytes, bytearray, str, list)):
                raise NodeError(f"join: cannot join a {type(value).__name__} into a buffer", msg)

        if kind == "object":
            group.payload[key] = None if value is _MISSING else value
            group.count = len(group.payload)
        elif kind == "merged":
            if isinstance(value, dict):
                for k, v in value.items():
                    if k != "_msgid":
                        group.payload[k] = v
                group.count = len(group.payload)
            elif "complete" not in msg:
                self.warn("Cannot merge non-object types")
        elif isinstance(index, (int, float)) and not isinstance(index, bool):
            items = group.payload
            position = int(index)
            if position >= len(items):
                items.extend([None] * (position + 1 - len(items)))
            items[position] = None if value is _MISSING else value
            group.count += 1
        elif value is not _MISSING:
            group.payload.append(value)
            group.count += 1

        group.msg.update(msg)
        group.held.append(self.hold(msg))
        target_count = group.target
        if isinstance(parts, dict):
            target_count = group.target or _js_truthy_count(parts.get("count"))
        if (target_count > 0 and group.count >= target_count) or "complete" in msg:
            out = self._complete(part_id, group)
            self._release(group)
            return out
        return None

    def _new_group(self, part_id: Any, kind: Any, msg: Msg, target: Any, join_char: Any, array_len: Any) -> _Group:
        target_count = _js_truthy_count(target) if target is not None else 0
        if kind in ("object", "merged"):
            group = _Group(kind=kind, msg=clone(msg), target=target_count, payload={})
        else:
            group = _Group(kind=kind or "array", msg=clone(msg), target=target_count, payload=[], join_char=join_char, array_len=array_len)
        if self._timer > 0:
            group.timer = self.call_later(self._timer, lambda: self._on_timeout(part_id, group))
        self._inflight[part_id] = group
        return group

    def _on_timeout(self, part_id: Any, group: _Group) -> None:
        group.timer = None
        if self._inflight.get(part_id) is not group:
            return
        live = [held for held in group.held if not held.is_done]
        out = self._complete(part_id, group)
        if live:
            live[-1].send(out)
        else:
            self.send(out)
        self._release(group)

    def _complete(self, part_id: Any, group: _Group) -> Msg:
        """The joined message; sent by the caller, after which `_release` lets go of the parts."""
        if group.timer is not None:
            group.timer.cancel()
            group.timer = None
        if not self._accumulate or "complete" in group.msg:
            self._inflight.pop(part_id, None)
        payload = group.payload
        kind = group.kind
        if kind == "array" and isinstance(group.array_len, (int, float)) and group.array_len > 1:
            flat: list[Any] = []
            for item in payload:
                if isinstance(item, list):
                    flat.extend(item)
                else:
                    flat.append(item)
            payload = flat
        elif kind == "buffer":
            chunks = [_to_bytes(item) for item in payload if item is not None]
            joiner = b"" if group.join_char is None else _to_bytes(group.join_char)
            payload = joiner.join(chunks)
        elif kind in ("object", "merged"):
            payload = dict(payload)
        else:
            payload = list(payload)
        out = group.msg
        if kind == "string":
            join_char = group.join_char
            if isinstance(join_char, list):
                join_char = bytes(join_char).decode("utf-8", "replace")
            elif not isinstance(join_char, str):
                join_char = "" if join_char is None else to_string(join_char)
            set_path(out, group.prop or self._property, js_join(payload, join_char))
        else:
            if self._full:
                out = clone(out)
            set_path(out, group.prop or self._property, payload)
        parts = out.get("parts")
        if isinstance(parts, dict) and "parts" in parts:
            out["parts"] = parts["parts"]
        else:
            out.pop("parts", None)
        out.pop("complete", None)
        return clone(out)

    @staticmethod
    def _release(group: _Group) -> None:
        for held in group.held:
            held.done()
        group.held = []

    def _drop(self, group: _Group) -> None:
        if group.timer is not None:
            group.timer.cancel()
        self._release(group)

    # reduce mode: messages are processed strictly in order, one group at a time per id.

    def _reduce(self, msg: Msg) -> Output:
        parts = msg.get("parts")
        if not isinstance(parts, dict):
            return msg
        gid = parts.get("id")
        group = self._reduce_groups.get(gid)
        if group is None:
            group = self._reduce_groups[gid] = HeldGroup(count=parts.get("count"))
        if group.count is None and "count" in parts:
            group.count = parts["count"]
        group.add(self, msg)
        if not group.complete:
            return None
        del self._reduce_groups[gid]
        entries = sorted(group.entries, key=lambda e: e[0]["parts"].get("index", 0), reverse=self.props.reduceRight)
        try:
            accumulator = self._reduce_init({}, self)
            for entry_msg, _ in entries:
                bindings = {"I": entry_msg["parts"].get("index"), "N": group.count, "A": accumulator}
                accumulator = self._reduce_exp.evaluate(entry_msg, self, bindings)
            if self._fixup_exp is not None:
                accumulator = self._fixup_exp.evaluate({}, self, {"N": group.count, "A": accumulator})
        except PathError as exc:
            raise NodeError(f"join: invalid reduce expression: {exc}", msg) from None
        finally:
            group.release()
        return {"payload": accumulator}

    async def stop(self) -> None:
        """Groups that can only complete with more input let go of their parts so the drain can finish.

        The collected values stay: a part arriving during the drain still completes its group.
        """
        for group in self._inflight.values():
            if group.timer is None:
                for held in group.held:
                    held.done()
        for rgroup in self._reduce_groups.values():
            rgroup.release()

    async def close(self) -> None:
        for group in self._inflight.values():
            self._drop(group)
        self._inflight.clear()
        self._reduce_groups.clear()


def _bin_joiner(text: str) -> bytes:
    return _json_bytes("joiner", text or "[]")


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return bytes(int(b) & 0xFF for b in value)
    return to_string(value).encode()


# -- sort --------------------------------------------------------------------------------


class SortProps(NodeProps):
    order: Literal["ascending", "descending"] = "ascending"
    as_num: bool = Field(False, description="compare keys as numbers")
    target: str = Field("payload", description="msg mode: the array property to sort")
    targetType: Literal["msg", "seq"] = Field("msg", description="msg: sort an array property; seq: sort a message sequence")
    msgKey: str = Field("payload", description="msg mode: JSONata key per element (msgKeyType jsonata)")
    msgKeyType: Literal["elem", "jsonata"] = "elem"
    seqKey: str = Field("payload", description="seq mode: message property or JSONata giving the key")
    seqKeyType: Literal["msg", "jsonata"] = "msg"

    _blanks = blank_is_default("target", "seqKey")


@register("sort")
class Sort(Node):
    """Sorts an array property, or a sequence of messages by a key."""

    Props = SortProps
    props: SortProps

    @classmethod
    def check(cls, props: SortProps) -> list[tuple[str, str]]:
        is_msg = props.targetType == "msg"
        if (props.msgKeyType if is_msg else props.seqKeyType) == "jsonata":

            name = "msgKey" if is_msg else "seqKey"
            try:
                compile_jsonata(getattr(props, name))
            except PathError as exc:
                return [(name, str(exc))]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._is_msg = p.targetType == "msg"
        key_is_exp = (p.msgKeyType if self._is_msg else p.seqKeyType) == "jsonata"
        self._exp = None
        if key_is_exp:

            self._exp = compile_jsonata(p.msgKey if self._is_msg else p.seqKey)
        self._target = parse_path(p.target)
        self._seq_key = parse_path(p.seqKey) if not key_is_exp else ()
        self._dir = 1 if p.order == "ascending" else -1
        self._pending: dict[Any, HeldGroup] = {}

    def _sorted(self, items: list[Any], keys: list[Any]) -> list[Any]:
        converted = [to_number(k) for k in keys] if self.props.as_num else keys
        direction = self._dir

        def compare(a: int, b: int) -> int:
            # Node-RED's comparator: equal (===) is 0, `x > y` is dir, anything else (NaN too) is -dir.
            x, y = converted[a], converted[b]
            if strict_equals(x, y):
                return 0
            return direction if less(y, x) else -direction

        order = sorted(range(len(items)), key=functools.cmp_to_key(compare))
        return [items[i] for i in order]

    def on_input(self, msg: Msg) -> Output:
        if self._is_msg:
            data = get_path(msg, self._target)
            if not isinstance(data, list):
                return None
            try:
                keys = [self._exp.evaluate(elem, self) for elem in data] if self._exp is not None else data
            except PathError as exc:
                raise NodeError(f"sort: invalid key expression: {exc}", msg) from None
            set_path(msg, self._target, self._sorted(data, keys))
            return msg
        parts = msg.get("parts")
        if not isinstance(parts, dict) or "id" not in parts or "index" not in parts:
            return None
        gid = parts["id"]
        group = self._pending.get(gid)
        if group is None:
            group = self._pending[gid] = HeldGroup()
        group.add(self, msg)
        if "count" in parts:
            group.count = parts["count"]
        if not group.complete:
            return None
        del self._pending[gid]
        msgs = [m for m, _ in group.entries]
        try:
            keys = [self._exp.evaluate(m, self) for m in msgs] if self._exp is not None else [get_path(m, self._seq_key) for m in msgs]
        except PathError as exc:
            group.release()
            raise NodeError(f"sort: invalid key expression: {exc}", msg) from None
        helds = {id(m): held for m, held in group.entries}
        for index, m in enumerate(self._sorted(msgs, keys)):
            m["parts"]["index"] = index
            held = helds[id(m)]
            held.send(m)
            held.done()
        return None

    async def stop(self) -> None:
        for group in self._pending.values():
            group.release()

    async def close(self) -> None:
        self._pending.clear()


# -- batch -------------------------------------------------------------------------------


class BatchTopic(BaseModel):
    model_config = ConfigDict(extra="ignore")
    topic: str = ""


class BatchProps(NodeProps):
    mode: Literal["count", "interval", "concat"] = Field("count", description="count: groups of N; interval: whatever arrived in each period; concat: one sequence per topic, concatenated")
    count: int | str = Field(1, description="count mode: messages per sequence")
    overlap: int | str = Field(0, description="count mode: messages repeated at the start of the next sequence")
    interval: float | str = Field(0, description="interval mode: seconds")
    allowEmptySequence: bool = Field(False, description="interval mode: send {payload: null} when nothing arrived")
    topics: list[BatchTopic] = Field(default_factory=list, description="concat mode: topics, in output order")
    honourParts: bool = False


@register("batch")
class Batch(Node):
    """Groups messages into sequences by count, by time interval, or by concatenating topic sequences."""

    Props = BatchProps
    props: BatchProps

    @classmethod
    def check(cls, props: BatchProps) -> list[tuple[str, str]]:
        if props.mode == "count":
            count, overlap = _int_or(props.count, 1), _int_or(props.overlap, 0)
            if count < 1:
                return [("count", "count must be at least 1")]
            if count <= overlap:
                return [("overlap", f"overlap ({overlap}) must be smaller than count ({count})")]
        if props.mode == "interval" and _float_or(props.interval, 0) < 0:
            return [("interval", "interval must not be negative")]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        self._count = _int_or(p.count, 1)
        self._overlap = _int_or(p.overlap, 0)
        self._interval = _float_or(p.interval, 0)
        self._topics = [t.topic for t in p.topics]
        self._queue: list[tuple[Msg, Held | None]] = []
        self._by_topic: dict[str, dict[Any, HeldGroup]] = {}
        self._ticker: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        if self.props.mode == "interval" and self._interval > 0:
            self._schedule()

    def _schedule(self) -> None:
        self._ticker = self.call_later(self._interval, self._tick)

    def _tick(self) -> None:
        self._schedule()
        queue, self._queue = self._queue, []
        if queue:
            self._send_sequence(queue, copy=False)
        elif self.props.allowEmptySequence:
            self.send({"payload": None, "parts": {"id": generate_id(), "index": 0, "count": 1}})

    def _send_sequence(self, entries: list[tuple[Msg, Held | None]], copy: bool, emit: Callable[[Msg], None] | None = None) -> None:
        """Node-RED's send_msgs: parts.id is the first message's _msgid.

        With `emit` (inside `on_input`) the sequence goes out in order with the
        current message; otherwise each message is sent with its own held
        completion. Either way the held messages are done once sent.
        """
        count = len(entries)
        seq_id = entries[0][0].setdefault("_msgid", new_msgid())
        for index, (m, held) in enumerate(entries):
            out = clone(m) if copy else m
            parts = out.get("parts")
            if not isinstance(parts, dict):
                parts = out["parts"] = {}
            parts.update(id=seq_id, index=index, count=count)
            if emit is not None:
                emit(out)
            elif held is not None and not held.is_done:
                held.send(out)
            else:
                self.send(out)
        for _, held in entries:
            if held is not None:
                held.done()

    def on_input(self, msg: Msg) -> Output:
        mode = self.props.mode
        if mode == "count":
            return self._on_count(msg)
        if mode == "interval":
            if "reset" in msg:
                self._drop()
                if self._ticker is not None:
                    self._ticker.cancel()
                    self._schedule()
                return None
            self._queue.append((msg, self.hold(msg)))
            return None
        return self._on_concat(msg)

    def _on_count(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._drop()
            return None
        out: list[Msg] = []
        if len(self._queue) + 1 < self._count:
            self._queue.append((msg, self.hold(msg)))
            return None
        entries = [*self._queue, (msg, None)]
        overlap = self._overlap
        self._send_sequence(entries, copy=overlap > 0, emit=out.append)
        if overlap > 0:
            kept = entries[-overlap:]
            self._queue = [(m, None) for m, _ in kept]
        else:
            self._queue = []
        return [out]

    def _on_concat(self, msg: Msg) -> Output:
        if "reset" in msg:
            self._drop()
            return None
        topic = msg.get("topic")
        if topic not in self._topics:
            return None
        parts = msg.get("parts")
        if not (isinstance(parts, dict) and "id" in parts and "index" in parts and "count" in parts):
            raise NodeError("batch: a message for concatenation needs msg.parts with id, index and count", msg)
        groups = self._by_topic.setdefault(topic, {})
        group = groups.get(parts["id"])
        if group is None:
            group = groups[parts["id"]] = HeldGroup()
        group.add(self, msg)
        if group.count is None:
            group.count = parts["count"]
        firsts: list[HeldGroup] = []
        for t in self._topics:
            t_groups = self._by_topic.get(t)
            if not t_groups:
                return None
            first = next(iter(t_groups.values()))
            if not first.complete:
                return None
            firsts.append(first)
        entries: list[tuple[Msg, Held | None]] = []
        for t, first in zip(self._topics, firsts, strict=False):
            entries.extend(first.entries)
            t_groups = self._by_topic[t]
            del t_groups[next(iter(t_groups))]
        self._send_sequence(entries, copy=True)
        return None

    def _release_held(self) -> None:
        """Let go of every kept message (the queue in count/interval mode, topic groups in concat mode); what was collected stays."""
        for _, held in self._queue:
            if held is not None:
                held.done()
        for groups in self._by_topic.values():
            for group in groups.values():
                group.release()

    def _drop(self) -> None:
        self._release_held()
        self._queue = []
        self._by_topic = {}

    async def stop(self) -> None:
        if self.props.mode != "interval":
            self._release_held()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._drop()
