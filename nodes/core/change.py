"""change: set, change, delete or move properties, with Node-RED's rule format."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime import Msg, Node, NodeError, NodeProps, clone, lenient, register
from runtime.properties import Getter, compile_setter, compile_value, delete_path, get_path, parse_path, set_path, split_store

from ._jsvalues import is_number, regex, to_string
from ._jsvalues import replacement as js_replacement

Apply = Callable[[Msg, Node], None]


class ChangeRule(BaseModel):
    """One rule: `t` action on property `p` (of `pt`), with `to`/`tot` and `from`/`fromt`."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    t: Literal["set", "change", "delete", "move"]
    p: str
    pt: Literal["msg", "flow", "global"] = "msg"
    to: Any = ""
    tot: str = "str"
    from_: Any = Field("", alias="from")
    fromt: str = "str"
    dc: lenient.Bool = Field(False, description="deep-copy a value taken from msg")


class ChangeProps(NodeProps):
    rules: list[ChangeRule] = Field(default_factory=list)
    # The editor still writes the pre-`rules` single-rule fields; accepted and ignored so exports validate quietly.
    action: str = Field("", description="legacy Node-RED field, ignored (use rules)")
    property: str = Field("", description="legacy Node-RED field, ignored (use rules)")
    legacy_from: Any = Field("", alias="from", description="legacy Node-RED field, ignored (use rules)")
    legacy_to: Any = Field("", alias="to", description="legacy Node-RED field, ignored (use rules)")
    reg: lenient.Bool = Field(False, description="legacy Node-RED field, ignored (use rules)")


def _target(scope: str, path: str) -> tuple[Callable[[Msg, Node], Any], Callable[[Msg, Node, Any], None], Callable[[Msg, Node], None]]:
    """get/set/delete for a property of msg, flow or global context."""
    if scope == "msg":
        keys = parse_path(path)
        return (lambda msg, node: get_path(msg, keys)), (lambda msg, node, v: set_path(msg, keys, v)), (lambda msg, node: delete_path(msg, keys))
    store, key = split_store(path)
    parse_path(key)

    def ctx(node: Node) -> Any:
        return node.flow_context if scope == "flow" else node.global_context

    return (
        lambda msg, node: ctx(node).get(key, store),
        lambda msg, node, v: ctx(node).set(key, v, store),
        lambda msg, node: ctx(node).set(key, None, store),
    )


def _compile(rule: ChangeRule) -> Apply:
    get, put, remove = _target(rule.pt, rule.p)
    if rule.t == "delete":
        return lambda msg, node: remove(msg, node)
    if rule.t == "move":
        if rule.tot not in ("msg", "flow", "global"):
            raise ValueError(f"move needs a msg/flow/global destination, not {rule.tot!r}")
        _, put_to, _ = _target(rule.tot, str(rule.to))

        def move(msg: Msg, node: Node) -> None:
            value = get(msg, node)
            remove(msg, node)
            put_to(msg, node, value)

        return move
    value: Getter = compile_value(rule.to, rule.tot)
    if rule.t == "set" and rule.tot in ("flow", "global"):
        # A context holds no None, so None is a missing key: Node-RED sets `undefined`, which its
        # setMessageProperty turns into a delete, so the target goes rather than becoming null.
        def set_from_context(msg: Msg, node: Node) -> None:
            found = value(msg, node)
            if found is None:
                remove(msg, node)
            else:
                put(msg, node, found)

        return set_from_context
    if rule.t == "set":
        if rule.pt == "msg" and rule.tot != "msg":
            setter = compile_setter(rule.p)
            return lambda msg, node: setter(msg, value(msg, node))
        if rule.tot == "msg" and rule.dc:
            return lambda msg, node: put(msg, node, clone(value(msg, node)))
        return lambda msg, node: put(msg, node, value(msg, node))
    return _compile_change(rule, get, put, value)


def _compile_change(rule: ChangeRule, get: Callable[[Msg, Node], Any], put: Callable[[Msg, Node, Any], None], value: Getter) -> Apply:
    """Node-RED's search and replace: the kind of the `from` value decides what matches.

    A string property has every occurrence replaced (a regex with JavaScript's
    `$1`/`$&`), unless it equals a str/num/bool `from` exactly: then the whole
    value becomes the typed replacement. A number or boolean property changes
    only when it equals a `from` of its own kind.
    """
    from_value: Getter = (lambda msg, node, p=regex(str(rule.from_)): p) if rule.fromt == "re" else compile_value(rule.from_, rule.fromt)

    def change(msg: Msg, node: Node) -> None:
        target = from_value(msg, node)
        if isinstance(target, re.Pattern):
            kind, text, pattern = "re", "", target
        elif isinstance(target, bool):
            kind, text, pattern = "bool", to_string(target), None
        elif is_number(target):
            kind, text, pattern = "num", to_string(target), None
        elif isinstance(target, str):
            kind, text, pattern = "str", target, None
        else:
            raise NodeError(f"change rule on {rule.pt}.{rule.p}: cannot search for a {type(target).__name__} value")
        current = get(msg, node)
        if isinstance(current, str):
            replacement = value(msg, node)
            if kind != "re" and current == text:
                put(msg, node, replacement)
            else:
                regex_ = pattern if pattern is not None else re.compile(re.escape(text))
                put(msg, node, regex_.sub(js_replacement(to_string(replacement)), current))
        elif is_number(current) and kind == "num":
            if current == float(text):
                put(msg, node, value(msg, node))
        elif isinstance(current, bool) and kind == "bool" and to_string(current) == text:
            put(msg, node, value(msg, node))

    return change


@register("change")
class Change(Node):
    """Sets, changes (search and replace), deletes or moves message and context properties."""

    Props = ChangeProps
    props: ChangeProps

    @classmethod
    def check(cls, props: ChangeProps) -> list[tuple[str, str]]:
        problems = []
        for index, rule in enumerate(props.rules):
            try:
                _target(rule.pt, rule.p)
            except Exception as exc:
                problems.append((f"rules.{index}.p", f"{rule.t} rule: {exc}"))
                continue
            try:
                _compile(rule)
            except Exception as exc:
                field = "to" if "from" not in str(exc) and rule.fromt != "re" else "from"
                problems.append((f"rules.{index}.{field}", f"{rule.t} rule on {rule.pt}.{rule.p}: {exc}"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = [_compile(rule) for rule in self.props.rules]
        if len(rules) == 1:
            only = rules[0]

            def on_input(msg: Msg) -> Msg:
                only(msg, self)
                return msg

            self.on_input = on_input  # type: ignore[method-assign]
        self._rules = rules

    def on_input(self, msg: Msg) -> Msg:
        for apply in self._rules:
            apply(msg, self)
        return msg
