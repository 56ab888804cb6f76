"""An example custom node type, loaded by flows/custom-node.yaml through `modules:`.

docs/custom-nodes.md walks through it line by line.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime import Msg, Node, NodeError, NodeProps, register
from runtime.properties import PathError, get_path, parse_path, set_path


class UppercaseProps(NodeProps):
    property: str = Field("payload", description="the message property to upper-case")


@register("uppercase")
class Uppercase(Node):
    """Upper-cases a string property of each message (an example custom node)."""

    Props = UppercaseProps
    props: UppercaseProps

    @classmethod
    def check(cls, props: UppercaseProps) -> list[tuple[str, str]]:
        try:
            parse_path(props.property)
        except PathError as exc:
            return [("property", str(exc))]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._path = parse_path(self.props.property)

    def on_input(self, msg: Msg) -> Msg:
        value = get_path(msg, self._path)
        if not isinstance(value, str):
            raise NodeError(f"msg.{self.props.property} is {type(value).__name__}, not a string")
        set_path(msg, self._path, value.upper())
        return msg
