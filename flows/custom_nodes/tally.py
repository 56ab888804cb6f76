"""A config node shared by several nodes: one running total that every `tally-add` node adds to."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from runtime import ConfigNode, ConfigRef, Msg, Node, NodeProps, lenient, register


class TallyProps(NodeProps):
    start: lenient.Int = Field(0, description="the total before anything is added")


@register("tally")
class Tally(ConfigNode):
    """A running total shared by the tally-add nodes that name it (an example config node)."""

    Props = TallyProps
    props: TallyProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.total = self.props.start

    def add(self, amount: int) -> int:
        self.total += amount
        return self.total


class TallyAddProps(NodeProps):
    tally: Annotated[str, ConfigRef("tally")] = Field(description="id of the tally config node")
    amount: lenient.Int = Field(1, description="what each message adds")


@register("tally-add")
class TallyAdd(Node):
    """Adds `amount` to a shared tally and sets msg.total to the new total."""

    Props = TallyAddProps
    props: TallyAddProps

    async def start(self) -> None:
        self._tally: Tally = self.config_node(self.props.tally)   # config nodes start first

    def on_input(self, msg: Msg) -> Msg:
        msg["total"] = self._tally.add(self.props.amount)
        return msg
