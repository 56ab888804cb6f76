"""sort: an array property of one message, or the messages of a `msg.parts` sequence.

Keys compare as Node-RED's comparator does (JavaScript `===` and `>`), and
the sort is stable. In sequence mode each message is held with `Node.hold`
until its whole sequence has arrived and been sent on in order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from runtime import Expression, Msg, NodeError, Output, compile_jsonata, lenient, register
from runtime.properties import PathError, get_path, parse_path, set_path

from ._jsvalues import less, strict_equals, to_number
from ._parts import HeldGroup
from ._settings import CompiledNode, CompiledProps, Invalid


class SortProps(CompiledProps):
    order: Literal["ascending", "descending"] = "ascending"
    as_num: lenient.Bool = Field(False, description="compare keys as numbers")
    target: lenient.Blank[str] = Field("payload", description="msg mode: the array property to sort")
    targetType: Literal["msg", "seq"] = Field("msg", description="msg: sort an array property; seq: sort a message sequence")
    msgKey: str = Field("payload", description="msg mode: JSONata key per element (msgKeyType jsonata)")
    msgKeyType: Literal["elem", "jsonata"] = "elem"
    seqKey: lenient.Blank[str] = Field("payload", description="seq mode: message property or JSONata giving the key")
    seqKeyType: Literal["msg", "jsonata"] = "msg"


@dataclass(frozen=True, slots=True)
class _SortSettings:
    target: tuple[Any, ...]
    #: The key as JSONata (msgKeyType / seqKeyType `jsonata`), else None.
    exp: Expression | None
    #: Sequence mode without an expression: the message property giving the key.
    seq_key: tuple[Any, ...]
    direction: int


def _compile(props: SortProps) -> _SortSettings:
    is_msg = props.targetType == "msg"
    key_name = "msgKey" if is_msg else "seqKey"
    key_is_exp = (props.msgKeyType if is_msg else props.seqKeyType) == "jsonata"
    found: list[tuple[str, str]] = []
    exp, paths = None, {"target": (), "seqKey": ()}
    try:
        exp = compile_jsonata(getattr(props, key_name)) if key_is_exp else None
    except PathError as exc:
        found.append((key_name, str(exc)))
    for name, used in (("target", is_msg), ("seqKey", not is_msg and not key_is_exp)):
        try:
            paths[name] = tuple(parse_path(getattr(props, name))) if used else ()
        except PathError as exc:
            found.append((name, str(exc)))
    if found:
        raise Invalid(found)
    return _SortSettings(target=paths["target"], exp=exp, seq_key=paths["seqKey"], direction=1 if props.order == "ascending" else -1)


@register("sort")
class Sort(CompiledNode):
    """Sorts an array property, or a sequence of messages by a key."""

    Props = SortProps
    props: SortProps
    compile_settings = staticmethod(_compile)
    _s: _SortSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[Any, HeldGroup] = {}
        self.on_input = self._sort_array if self.props.targetType == "msg" else self._sort_sequence  # type: ignore[method-assign]

    def _sorted(self, items: list[Any], keys: list[Any]) -> list[Any]:
        converted = [to_number(k) for k in keys] if self.props.as_num else keys
        direction = self._s.direction

        def compare(a: int, b: int) -> int:
            # Node-RED's comparator: equal (===) is 0, `x > y` is dir, anything else (NaN too) is -dir.
            x, y = converted[a], converted[b]
            if strict_equals(x, y):
                return 0
            return direction if less(y, x) else -direction

        order = sorted(range(len(items)), key=functools.cmp_to_key(compare))
        return [items[i] for i in order]

    def _sort_array(self, msg: Msg) -> Output:
        data = get_path(msg, self._s.target)
        if not isinstance(data, list):
            return None
        exp = self._s.exp
        try:
            keys = [exp.evaluate(elem, self) for elem in data] if exp is not None else data
        except PathError as exc:
            raise NodeError(f"sort: invalid key expression: {exc}", msg) from None
        set_path(msg, self._s.target, self._sorted(data, keys))
        return msg

    def _sort_sequence(self, msg: Msg) -> Output:
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
        exp = self._s.exp
        try:
            keys = [exp.evaluate(m, self) for m in msgs] if exp is not None else [get_path(m, self._s.seq_key) for m in msgs]
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
