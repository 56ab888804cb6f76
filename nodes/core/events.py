"""catch, status and complete: listeners the runtime feeds (see runtime/_events.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from runtime import Msg, Node, NodeProps, lenient, register


class CatchProps(NodeProps):
    scope: list[str] | Literal["group"] | None = None
    uncaught: lenient.Bool = False


@register("catch")
class Catch(Node):
    """Receives errors raised by nodes in its scope, with the failed msg and `msg.error`."""

    Props = CatchProps
    listens: ClassVar[str | None] = "error"

    def on_input(self, msg: Msg) -> Msg:
        return msg


class StatusProps(NodeProps):
    scope: list[str] | Literal["group"] | None = None


@register("status")
class Status(Node):
    """Receives status changes of nodes in its scope as `msg.status`."""

    Props = StatusProps
    listens: ClassVar[str | None] = "status"

    def on_input(self, msg: Msg) -> Msg:
        return msg


class CompleteProps(NodeProps):
    scope: list[str] = []
    uncaught: lenient.Bool = False


@register("complete")
class Complete(Node):
    """Receives each msg that a listed node has finished handling."""

    Props = CompleteProps
    listens: ClassVar[str | None] = "complete"

    def on_input(self, msg: Msg) -> Msg:
        return msg
