"""Nodes that shape the editor's picture rather than the flow of messages."""

from __future__ import annotations

from typing import Any

from runtime import Msg, Node, NodeProps, lenient, register


class TabProps(NodeProps):
    label: str = ""
    disabled: lenient.Bool = False
    info: str = ""
    env: list[dict[str, Any]] = []


@register("tab")
class Tab(Node):
    """A flow tab: nodes name it in `z`; a disabled tab disables its nodes."""

    Props = TabProps


class GroupProps(NodeProps):
    nodes: list[str] = []


@register("group")
class Group(Node):
    """A visual group: nodes name it in `g`; catch/status scope `group` uses it."""

    Props = GroupProps


class CommentProps(NodeProps):
    info: str = ""


@register("comment")
class Comment(Node):
    """A note in the flow; does nothing."""

    Props = CommentProps


@register("junction")
class Junction(Node):
    """A wiring point: passes every message on unchanged."""

    def on_input(self, msg: Msg) -> Msg:
        return msg
