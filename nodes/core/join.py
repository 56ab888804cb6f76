"""join: a sequence of messages back into one, by `msg.parts`, by count/timeout, or by a JSONata reduce.

The mode picks the handler once, when the node is built; what a group
builds (array, string, buffer, object, merged) is one class per kind
(`_join_groups`), fixed by the `build` setting in custom mode and by the
first part's `parts.type` in auto mode.

Each part is held with `Node.hold` until the joined message is sent or its
group is dropped (`msg.reset`, shutdown), so the runtime's completion
tracking stays open for it meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime import Expression, Msg, NodeError, Output, clone, compile_jsonata, lenient, register
from runtime.properties import PathError, compile_value, get_path, parse_path, set_path

from ._join_groups import KINDS, MISSING, Group, auto_kind, js_count
from ._parts import HeldGroup
from ._settings import CompiledNode, CompiledProps, Invalid, json_bytes
from ._text import unescape


class JoinProps(CompiledProps):
    mode: Literal["auto", "custom", "reduce"] = Field("auto", description="auto: reverse a split using msg.parts; custom: build by count/timeout/msg.complete; reduce: JSONata reduce")
    build: Literal["array", "object", "string", "buffer", "merged"] = Field("array", description="custom mode: what to build")
    property: lenient.Blank[str] = Field("payload", description="the message property to collect")
    propertyType: Literal["msg", "full"] = Field("msg", description="full: collect whole messages")
    key: lenient.Blank[str] = Field("topic", description="object build: the message property giving each key")
    joiner: str = Field("\\n", description="string/buffer build: separator")
    joinerType: Literal["str", "bin"] = "str"
    accumulate: lenient.Bool = Field(False, description="object/merged build: keep building after each send")
    timeout: lenient.Float = Field(0, description="custom mode: seconds after the first message to send what there is ('' = none)")
    count: lenient.OptInt = Field(None, description="custom mode: send after this many messages ('' = use msg.parts.count)")
    useparts: bool | None = Field(None, description="custom mode: false drops incoming msg.parts (keeping an outer level) so the output carries none; absent (flows before Node-RED 4) keeps them")
    reduceRight: lenient.Bool = False
    reduceExp: str = Field("", description="reduce: JSONata evaluated per message with $A (accumulator), $I (index), $N (count)")
    reduceInit: Any = ""
    reduceInitType: str = "str"
    reduceFixup: str | None = Field(None, description="reduce: JSONata applied to the result with $A and $N")

    @field_validator("joiner", mode="before")
    @classmethod
    def _none_joiner(cls, value: Any) -> Any:
        # Not lenient.Blank: an empty joiner is a real setting (join with nothing between).
        return "" if value is None else value


# -- settings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reduce:
    exp: Expression
    fixup: Expression | None
    init: Callable[[Any, Any], Any]
    right: bool


@dataclass(frozen=True, slots=True)
class _JoinSettings:
    #: The property collected (`payload` when whole messages are collected).
    path: tuple[Any, ...]
    full: bool
    key: tuple[Any, ...]
    kind: type[Group]
    #: Custom mode: the joiner (strings and buffers), else None.
    shape: Any
    timeout: float
    #: Custom mode: None takes the count from `msg.parts.count`.
    count: int | None
    accumulate: bool
    #: Custom mode with `useparts: false`: incoming `msg.parts` are dropped (an outer level kept).
    strip_parts: bool
    reduce: _Reduce | None


def _compile_reduce(props: JoinProps, found: list[tuple[str, str]]) -> _Reduce | None:
    exps: dict[str, Expression | None] = {}
    for name in ("reduceExp", "reduceFixup"):
        text = getattr(props, name)
        try:
            exps[name] = compile_jsonata(text) if text else None
        except PathError as exc:
            found.append((name, str(exc)))
    if not props.reduceExp:
        found.append(("reduceExp", "reduce mode needs a reduce expression"))
    try:
        init = compile_value(props.reduceInit, props.reduceInitType)
    except PathError as exc:
        found.append(("reduceInit", str(exc)))
        return None
    exp = exps.get("reduceExp")
    return None if exp is None else _Reduce(exp, exps.get("reduceFixup"), init, props.reduceRight)


def _compile(props: JoinProps) -> _JoinSettings:
    found: list[tuple[str, str]] = []
    full = props.propertyType == "full"
    paths: dict[str, tuple[Any, ...]] = {}
    for name, text in (("property", "payload" if full else props.property), ("key", props.key)):
        try:
            paths[name] = tuple(parse_path(text))
        except PathError as exc:
            found.append((name, str(exc)))
    joiner: Any = unescape(props.joiner)
    if props.joinerType == "bin":
        try:
            joiner = json_bytes("joiner", props.joiner or "[]")
        except ValueError as exc:
            found.append(("joiner", str(exc)))
    if props.timeout < 0:
        found.append(("timeout", "timeout must not be negative"))
    reduce = _compile_reduce(props, found) if props.mode == "reduce" else None
    if found:
        raise Invalid(found)
    kind = KINDS[props.build]
    return _JoinSettings(
        path=paths["property"],
        full=full,
        key=paths["key"],
        kind=kind,
        shape=joiner if kind.shape_field == "ch" else None,
        timeout=props.timeout if props.mode == "custom" else 0.0,
        count=props.count,
        accumulate=props.accumulate,
        strip_parts=props.mode == "custom" and props.useparts is False,
        reduce=reduce,
    )


def _parts_property(parts: dict[str, Any]) -> tuple[Any, ...] | None:
    """The path a split took its values from when not payload (Node-RED 4's `msg.parts.property`)."""
    name = parts.get("property")
    if not isinstance(name, str) or not name or name == "payload":
        return None
    try:
        return tuple(parse_path(name))
    except PathError:
        return None


# -- the node ------------------------------------------------------------------------------


@register("join")
class Join(CompiledNode):
    """Joins a sequence of messages (from split, or by count/timeout) into one message."""

    Props = JoinProps
    props: JoinProps
    compile_settings = staticmethod(_compile)
    _s: _JoinSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._groups: dict[Any, Group] = {}
        self._reduce_groups: dict[Any, HeldGroup] = {}
        handlers = {"auto": self._on_auto, "custom": self._on_custom, "reduce": self._on_reduce}
        self.on_input = handlers[self.props.mode]  # type: ignore[method-assign]

    def _on_auto(self, msg: Msg) -> Output:
        """Groups by `parts.id`; each group builds what its first part's `parts.type` says."""
        parts = msg.get("parts")
        if not isinstance(parts, dict) or "id" not in parts:
            self.warn("Message missing msg.parts property - cannot join in 'auto' mode")
            return None
        gid = parts["id"]
        if "reset" in msg:
            self._drop(gid)
            return None
        kind = auto_kind(parts.get("type"))
        key = parts.get("key")
        if kind.keyed and key in (None, ""):
            self.warn("Message missing 'msg.parts.key' property - cannot add to object")
            return None
        group = self._groups.get(gid)
        if group is None:
            shape = parts.get(kind.shape_field) if kind.shape_field else None
            group = self._start(gid, kind, msg, parts.get("count"), _parts_property(parts) or self._s.path, shape)
        return self._collect(gid, group, msg, parts, parts.get("index"), key)

    def _on_custom(self, msg: Msg) -> Output:
        """One group at a time, sent on its count, `msg.complete` or the timeout."""
        s = self._s
        parts = msg.get("parts")
        if s.strip_parts and isinstance(parts, dict):
            if "parts" in parts:
                parts = msg["parts"] = {"parts": parts["parts"]}
            else:
                del msg["parts"]
                parts = None
        if "reset" in msg:
            self._drop("_")
            return None
        key = None
        if s.kind.keyed:
            key = get_path(msg, s.key)
            if key in (None, ""):
                return self._keyless(msg)
        group = self._groups.get("_")
        if group is None:
            target: Any = s.count or 0
            if s.count is None and isinstance(parts, dict):
                target = parts.get("count") or 0
            group = self._start("_", s.kind, msg, target, s.path, s.shape)
        return self._collect("_", group, msg, parts, None, key)

    def _keyless(self, msg: Msg) -> Output:
        """An object build's message without a key: only its `msg.complete` counts."""
        group = self._groups.get("_")
        if "complete" not in msg:
            self.warn(f"Message missing key property 'msg.{self.props.key}' - cannot add to object")
        elif group is not None:
            group.msg["complete"] = msg["complete"]
            return self._finish("_", group)
        return None

    def _start(self, gid: Any, kind: type[Group], msg: Msg, target: Any, path: tuple[Any, ...], shape: Any) -> Group:
        group = kind(msg, js_count(target) if target is not None else 0, path, shape)
        if self._s.timeout > 0:
            group.timer = self.call_later(self._s.timeout, self._on_timeout, gid, group)
        self._groups[gid] = group
        return group

    def _collect(self, gid: Any, group: Group, msg: Msg, parts: Any, index: Any, key: Any) -> Output:
        if self._s.full:
            value: Any = msg
        else:
            path = group.path
            value = msg.get(path[0], MISSING) if len(path) == 1 else get_path(msg, path, MISSING)
        group.add(self, msg, value, index, key)
        group.msg.update(msg)
        group.held.append(self.hold(msg))
        target = group.target
        if not target and isinstance(parts, dict):
            target = js_count(parts.get("count"))
        if (target > 0 and group.count >= target) or "complete" in msg:
            return self._finish(gid, group)
        return None

    def _on_timeout(self, gid: Any, group: Group) -> None:
        group.timer = None
        if self._groups.get(gid) is not group:
            return
        live = [held for held in group.held if not held.is_done]
        out = self._joined(gid, group)
        if live:
            live[-1].send(out)
        else:
            self.send(out)
        self._release(group)

    def _finish(self, gid: Any, group: Group) -> Msg:
        """The joined message, returned to be sent with the current message; the parts are let go."""
        out = self._joined(gid, group)
        self._release(group)
        return out

    def _joined(self, gid: Any, group: Group) -> Msg:
        """The joined message: the last message merged over the first, the result in the property, parts popped."""
        if group.timer is not None:
            group.timer.cancel()
            group.timer = None
        if not self._s.accumulate or "complete" in group.msg:
            self._groups.pop(gid, None)
        out = clone(group.msg) if self._s.full else group.msg
        set_path(out, group.path, group.result())
        parts = out.get("parts")
        if isinstance(parts, dict) and "parts" in parts:
            out["parts"] = parts["parts"]
        else:
            out.pop("parts", None)
        out.pop("complete", None)
        return clone(out)

    @staticmethod
    def _release(group: Group) -> None:
        for held in group.held:
            held.done()
        group.held = []

    def _drop(self, gid: Any) -> None:
        group = self._groups.pop(gid, None)
        if group is not None:
            if group.timer is not None:
                group.timer.cancel()
            self._release(group)

    # reduce mode: messages are processed strictly in order, one group at a time per id.

    def _on_reduce(self, msg: Msg) -> Output:
        parts = msg.get("parts")
        if not isinstance(parts, dict):
            return msg
        reduce = self._s.reduce
        assert reduce is not None
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
        entries = sorted(group.entries, key=lambda e: e[0]["parts"].get("index", 0), reverse=reduce.right)
        try:
            accumulator = reduce.init({}, self)
            for entry_msg, _ in entries:
                bindings = {"I": entry_msg["parts"].get("index"), "N": group.count, "A": accumulator}
                accumulator = reduce.exp.evaluate(entry_msg, self, bindings)
            if reduce.fixup is not None:
                accumulator = reduce.fixup.evaluate({}, self, {"N": group.count, "A": accumulator})
        except PathError as exc:
            raise NodeError(f"join: invalid reduce expression: {exc}", msg) from None
        finally:
            group.release()
        return {"payload": accumulator}

    async def stop(self) -> None:
        """Groups that can only complete with more input let go of their parts so the drain can finish.

        The collected values stay: a part arriving during the drain still completes its group.
        """
        for group in self._groups.values():
            if group.timer is None:
                self._release(group)
        for rgroup in self._reduce_groups.values():
            rgroup.release()

    async def close(self) -> None:
        for gid in list(self._groups):
            self._drop(gid)
        self._reduce_groups.clear()
