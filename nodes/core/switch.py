"""switch: route a message to the outputs whose rule matches, with Node-RED's rule set.

Comparisons follow JavaScript (`"5" == 5`, string vs number ordering) because
Node-RED's flows were written against them. With `repair`, messages that are
part of a sequence (`msg.parts`) are collected until the sequence is
complete, then sent with new `parts` per output so a downstream `join` still
works; the rule `tail` needs the whole sequence too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runtime import Msg, Node, NodeError, NodeProps, Output, clone, compile_jsonata, lenient, register
from runtime.properties import Getter, PathError, compile_value, get_path, parse_path

from ._jsvalues import UNDEFINED, less, less_or_equal, loose_equals, regex, to_number, to_string
from ._parts import HeldGroup
from ._text import generate_id

RULE_TYPES = (
    "eq",
    "neq",
    "lt",
    "lte",
    "gt",
    "gte",
    "btwn",
    "cont",
    "regex",
    "true",
    "false",
    "null",
    "nnull",
    "empty",
    "nempty",
    "istype",
    "hask",
    "head",
    "tail",
    "index",
    "jsonata_exp",
    "else",
)
_SEQUENCE_RULES = ("head", "tail", "index")


class SwitchRule(BaseModel):
    """One rule: operator `t`, first value `v` of type `vt`, second `v2`/`v2t` (btwn, index)."""

    model_config = ConfigDict(extra="ignore")

    t: str
    v: Any = None
    vt: str | None = None
    v2: Any = None
    v2t: str | None = None
    case: lenient.Bool = Field(False, description="regex: ignore case")


class SwitchProps(NodeProps):
    property: str = Field("payload", description="what to test: a msg path, context key, env name or JSONata expression")
    propertyType: str = Field("msg", description="msg, flow, global, env or jsonata")
    rules: list[SwitchRule] = Field(default_factory=list)
    checkall: lenient.Bool = Field(True, description='"true": send to every matching output; "false": stop at the first match')
    repair: lenient.Bool = Field(False, description="rebuild msg.parts per output for sequences")
    outputs: int | None = None


Value = Callable[[Msg, "Switch", bool], Any]
Test = Callable[[Any, Any, Any, Msg], bool]


def _constant_value(value: Any, vt: str | None) -> Any:
    """Node-RED's guess when `vt` is missing: a number if it looks like one, else a string."""
    if vt is None:
        number = to_number(value) if isinstance(value, str) and value.strip() else math.nan
        return number if not math.isnan(number) else ("" if value is None else value)
    return value


def _value(rule: SwitchRule, second: bool) -> Value:
    """The getter for `v` (or `v2`), with switch's own types (prev, and raw values for istype)."""
    raw, vt = (rule.v2, rule.v2t) if second else (rule.v, rule.vt)
    if second and raw is None:
        return lambda msg, node, parts: None
    if vt == "prev":
        return lambda msg, node, parts: node._previous
    if rule.t == "istype" and not second:
        return lambda msg, node, parts: raw
    if vt in ("json", "null") and not second:
        # Node-RED hands the type name itself to the operator here (its istype values).
        return lambda msg, node, parts: vt
    if vt is None or vt == "num":
        const = _constant_value(raw, None)
        if vt == "num" and isinstance(const, str):
            raise PathError(f"{raw!r} is not a number")
        return lambda msg, node, parts: const
    if vt == "jsonata":

        expression = compile_jsonata(str(raw))
        if rule.t == "jsonata_exp" and not second:

            def sequence_aware(msg: Msg, node: Switch, has_parts: bool) -> Any:
                bindings = {"I": msg["parts"].get("index"), "N": msg["parts"].get("count")} if has_parts else None
                return expression.evaluate(msg, node, bindings)

            return sequence_aware
        return lambda msg, node, parts: expression.evaluate(msg, node)
    getter: Getter = compile_value(raw, vt)

    def typed(msg: Msg, node: Switch, has_parts: bool) -> Any:
        try:
            return getter(msg, node)
        except PathError:
            return UNDEFINED

    return typed


def _is_empty(a: Any) -> bool | None:
    if isinstance(a, (str, list, bytes, bytearray, dict)):
        return len(a) == 0
    return None


def _istype(a: Any, kind: Any) -> bool:
    if kind == "array":
        return isinstance(a, list)
    if kind == "buffer":
        return isinstance(a, (bytes, bytearray))
    if kind == "json":
        import json

        if a is UNDEFINED:
            return False
        try:
            json.loads(a if isinstance(a, str) else to_string(a))
        except (ValueError, TypeError):
            return False
        return True
    if kind == "null":
        return a is None
    if kind == "string":
        return isinstance(a, str)
    if kind == "number":
        return isinstance(a, (int, float)) and not isinstance(a, bool)
    if kind == "boolean":
        return isinstance(a, bool)
    if kind == "object":
        return isinstance(a, dict)
    if kind == "undefined":
        return a is UNDEFINED
    return False


def _has_key(a: Any, key: Any) -> bool:
    if a is None or a is UNDEFINED or isinstance(key, (dict, list)):
        return False
    name = to_string(key)
    if isinstance(a, dict):
        return name in a
    if isinstance(a, (list, str)):
        return name == "length" or (name.isdigit() and int(name) < len(a))
    return False


def _parts(msg: Msg, rule: str) -> dict[str, Any]:
    parts = msg.get("parts")
    if not isinstance(parts, dict):
        raise NodeError(f"rule {rule!r} tests the position in a sequence, but the message has no msg.parts")
    return parts


def _operator(rule: SwitchRule, index: int) -> Test | None:
    """The test for one rule: (property, v, v2, msg) -> matched; None for `else` (the rules before it decide)."""
    t = rule.t
    if t == "eq":
        return lambda a, b, c, msg: loose_equals(a, b)
    if t == "neq":
        return lambda a, b, c, msg: not loose_equals(a, b)
    if t == "lt":
        return lambda a, b, c, msg: less(a, b)
    if t == "lte":
        return lambda a, b, c, msg: less_or_equal(a, b)
    if t == "gt":
        return lambda a, b, c, msg: less(b, a)
    if t == "gte":
        return lambda a, b, c, msg: less_or_equal(b, a)
    if t == "btwn":
        return lambda a, b, c, msg: (less_or_equal(b, a) and less_or_equal(a, c)) or (less_or_equal(a, b) and less_or_equal(c, a))
    if t == "cont":
        return lambda a, b, c, msg: to_string(b) in to_string(a)
    if t == "regex":
        if rule.vt in (None, "str", "string"):
            pattern = regex(to_string(rule.v if rule.v is not None else ""), rule.case)
            return lambda a, b, c, msg: pattern.search(to_string(a)) is not None
        case = rule.case

        def dynamic_regex(a: Any, b: Any, c: Any, msg: Msg) -> bool:
            try:
                pattern = regex(to_string(b), case)
            except re.error as exc:
                raise NodeError(f"rule {index + 1} (regex): invalid regular expression {b!r}: {exc}") from None
            return pattern.search(to_string(a)) is not None

        return dynamic_regex
    if t == "true":
        return lambda a, b, c, msg: a is True
    if t == "false":
        return lambda a, b, c, msg: a is False
    if t == "null":
        return lambda a, b, c, msg: a is None or a is UNDEFINED
    if t == "nnull":
        return lambda a, b, c, msg: a is not None and a is not UNDEFINED
    if t == "empty":
        return lambda a, b, c, msg: _is_empty(a) is True
    if t == "nempty":
        return lambda a, b, c, msg: _is_empty(a) is False
    if t == "istype":
        return lambda a, b, c, msg: _istype(a, b)
    if t == "hask":
        return lambda a, b, c, msg: _has_key(a, b)
    if t == "head":
        return lambda a, b, c, msg: less(_parts(msg, t).get("index", UNDEFINED), to_number(b))
    if t == "tail":
        return lambda a, b, c, msg: less_or_equal(to_number(_parts(msg, t).get("count", UNDEFINED)) - to_number(b), _parts(msg, t).get("index", UNDEFINED))
    if t == "index":
        return lambda a, b, c, msg: less_or_equal(to_number(b), _parts(msg, t).get("index", UNDEFINED)) and less_or_equal(
            _parts(msg, t).get("index", UNDEFINED), to_number(c)
        )
    if t == "jsonata_exp":
        return lambda a, b, c, msg: b is True
    return None  # else (`_compile_rule` turned away unknown types)


@dataclass(slots=True)
class _Rule:
    test: Test | None
    v1: Value
    v2: Value


def _compile_rule(rule: SwitchRule, index: int, problems: list[tuple[str, str]]) -> _Rule | None:
    """The rule as callables, or None with its problems added (located at the rule's field)."""
    where = f"rule {index + 1} ({rule.t})"
    if rule.t not in RULE_TYPES:
        problems.append((f"rules.{index}.t", f"rule {index + 1}: unknown rule type {rule.t!r} (expected one of {', '.join(RULE_TYPES)})"))
        return None
    try:
        test = _operator(rule, index)
    except re.error as exc:
        problems.append((f"rules.{index}.v", f"{where}: invalid regular expression {rule.v!r}: {exc}"))
        return None
    values: list[Value] = []
    for second in (False, True):
        try:
            values.append(_value(rule, second))
        except Exception as exc:
            problems.append((f"rules.{index}.{'v2' if second else 'v'}", f"{where}: {exc}"))
    if len(values) < 2:
        return None
    return _Rule(test, values[0], values[1])


@dataclass(slots=True)
class _Compiled:
    """The settings turned into callables by one step, so `check` reports exactly what `__init__` would build."""

    get: Callable[[Msg, Node], Any]
    rules: list[_Rule]
    problems: list[tuple[str, str]]


def _undefined(msg: Msg, node: Node) -> Any:
    """Stands in for the property getter when the property is invalid (the problem is reported instead)."""
    return UNDEFINED


def _compile(props: SwitchProps) -> _Compiled:
    problems: list[tuple[str, str]] = []
    get: Callable[[Msg, Node], Any] = _undefined
    try:
        get = _property_getter(props)
    except Exception as exc:
        problems.append(("propertyType" if "property type" in str(exc) else "property", str(exc)))
    rules = [_compile_rule(rule, index, problems) for index, rule in enumerate(props.rules)]
    return _Compiled(get, [rule for rule in rules if rule is not None], problems)


def _property_getter(props: SwitchProps) -> Callable[[Msg, Node], Any]:
    kind = props.propertyType
    if kind == "msg":
        keys = parse_path(props.property)
        if len(keys) == 1:
            head = keys[0]
            return lambda msg, node: msg.get(head, UNDEFINED)  # type: ignore[call-overload]
        return lambda msg, node: get_path(msg, keys, UNDEFINED)
    if kind not in ("flow", "global", "env", "jsonata"):
        raise PathError(f"unknown property type {kind!r} (expected msg, flow, global, env or jsonata)")
    getter = compile_value(props.property, kind)
    if kind == "jsonata":
        return getter

    def context(msg: Msg, node: Node) -> Any:
        value = getter(msg, node)
        return UNDEFINED if value is None and kind != "env" else value

    return context


@register("switch")
class Switch(Node):
    """Routes each message to the outputs whose rules match (one output per rule)."""

    Props = SwitchProps
    props: SwitchProps

    @classmethod
    def check(cls, props: SwitchProps) -> list[tuple[str, str]]:
        return _compile(props).problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        props = self.props
        compiled = _compile(props)
        if compiled.problems:
            raise NodeError("; ".join(f"{field}: {problem}" for field, problem in compiled.problems))
        self._get = compiled.get
        self._rules = compiled.rules
        self._checkall = props.checkall
        self._repair = props.repair
        self._needs_count = props.repair or any(rule.t == "tail" for rule in props.rules)
        self._previous: Any = None
        self._pending_in: dict[Any, HeldGroup] = {}
        self._pending_out: dict[Any, list[list[Msg | None]]] = {}
        self._pending_count = 0
        self._max_kept = int(self.settings.get("nodeMessageBufferMaxLength", 0) or 0)

    def on_input(self, msg: Msg) -> Output:
        parts = msg.get("parts")
        has_parts = isinstance(parts, dict) and "id" in parts and "index" in parts
        if has_parts and self._needs_count:
            self._collect(msg, parts)  # type: ignore[arg-type]
            return None
        return self._apply(msg, has_parts)

    def _apply(self, msg: Msg, has_parts: bool) -> list[Msg | None] | None:
        """Evaluate the rules; the list per output (None where a rule did not match)."""
        try:
            value = self._get(msg, self)
        except PathError as exc:
            self.warn(f"invalid property expression: {exc}")
            return None
        onward: list[Msg | None] = []
        no_match_yet = True
        checkall = self._checkall
        for rule in self._rules:
            b = rule.v1(msg, self, has_parts)
            c = rule.v2(msg, self, has_parts)
            if rule.test is None:
                matched = no_match_yet
                no_match_yet = True
            else:
                matched = rule.test(value, b, c, msg)
            if matched:
                onward.append(msg)
                no_match_yet = False
                if not checkall:
                    break
            else:
                onward.append(None)
        self._previous = value
        return onward

    # -- sequences (repair / tail) --------------------------------------------------------

    def _collect(self, msg: Msg, parts: dict[str, Any]) -> None:
        """Hold a sequence's messages until its count is known and all have arrived."""
        group = self._pending_in.setdefault(parts["id"], HeldGroup())
        group.add(self, msg)
        self._pending_count += 1
        if self._max_kept and self._pending_count > self._max_kept:
            self._clear_pending()
            raise NodeError("too many pending messages (nodeMessageBufferMaxLength)")
        if "count" in parts:
            group.count = parts["count"]
        if not group.complete:
            return
        del self._pending_in[parts["id"]]
        self._pending_count -= len(group.entries)
        for queued, held in group.entries:
            queued["parts"]["count"] = group.count
            try:
                onward = self._apply(queued, True)
            except Exception as exc:
                held.error(exc, queued)
                onward = None
            if self._repair:
                # A message that failed leaves the repaired sequence; the others are still sent, renumbered.
                self._regroup(onward, queued)
            elif onward:
                self.send(onward)
            held.done()  # no effect after `error`: a held message finishes once

    def _regroup(self, onward: list[Msg | None] | None, msg: Msg) -> None:
        """Once a whole sequence is routed, send it with fresh parts per output port."""
        parts = msg["parts"]
        gid = parts["id"]
        onwards = self._pending_out.setdefault(gid, [])
        onwards.append(onward or [])
        if len(onwards) != parts.get("count"):
            return
        del self._pending_out[gid]
        ports = max((len(o) for o in onwards), default=0)
        counts = [sum(1 for o in onwards if j < len(o) and o[j] is not None) for j in range(ports)]
        ids = [generate_id() for _ in range(ports)]
        indexes = [0] * ports
        for entry in onwards:
            out: list[Msg | None] = []
            for j in range(ports):
                m = entry[j] if j < len(entry) else None
                if m is None:
                    out.append(None)
                    continue
                copy = clone(m)
                copy["parts"] = {**copy["parts"], "id": ids[j], "index": indexes[j], "count": counts[j]}
                indexes[j] += 1
                out.append(copy)
            self.send(out)

    def _clear_pending(self) -> None:
        for group in self._pending_in.values():
            group.release()
        self._pending_in.clear()
        self._pending_out.clear()
        self._pending_count = 0

    async def close(self) -> None:
        if self._pending_in:
            waiting = sum(len(g.entries) for g in self._pending_in.values())
            self.warn(f"closing with {waiting} message(s) of incomplete sequences; they are dropped")
        self._clear_pending()
