"""link in / link out / link call: virtual wires, and calls that return.

A `link out` in `link` mode is wired, at start, straight to the `link in`
nodes it names, so a message crosses a link exactly as it crosses a wire
(one delivery per target, copies only for the second target onwards).

`link call` pushes a frame `{id, node}` onto `msg._linkSource` and delivers
the message to its target `link in`; a `link out` in `return` mode pops the
frame and hands the message back to that `link call`, which sends it on.
Frames nest, so called flows may call others. The call keeps the message's
completion open (`Node.hold`) until the reply arrives or `timeout` seconds
pass; a timeout is an error (`"timeout"`) that `catch` nodes receive with
the message as it was when called.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from runtime import Held, Msg, Node, NodeError, NodeProps, NodeRef, Output, clone, lenient, register




def _ids(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value]


#: Node-RED stores link ids as a list; hand-written flows may give one id or a comma list.
LinkIds = Annotated[list[str], BeforeValidator(_ids)]


class LinkInProps(NodeProps):
    links: LinkIds = Field(default_factory=list, description="link out ids (editor information; link out decides)")


@register("link in")
class LinkIn(Node):
    """Receives messages from link out and link call nodes and passes them on."""

    Props = LinkInProps

    def on_input(self, msg: Msg) -> Msg:
        return msg


class LinkOutProps(NodeProps):
    mode: lenient.Blank[Literal["link", "return"]] = Field("link", description="link: send to the link in nodes in links; return: reply to the calling link call")
    links: Annotated[LinkIds, NodeRef("link in")] = Field(default_factory=list, description="ids of link in nodes (mode link)")


@register("link out")
class LinkOut(Node):
    """Sends messages to link in nodes (mode link) or back to the calling link call (mode return)."""

    Props = LinkOutProps
    props: LinkOutProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._targets: list[Node] = []

    async def start(self) -> None:
        if self.props.mode != "link":
            return
        for target_id in self.props.links:
            node = self.node_by_id(target_id)
            if node is None:
                self.warn(f"linked node {target_id!r} does not exist (or is disabled); messages are not sent there")
            elif node.type != "link in":
                self.warn(f"linked node {target_id!r} is a {node.type!r}, not a 'link in'; messages are not sent there")
            else:
                self._targets.append(node)

    def on_input(self, msg: Msg) -> Output:
        # Node-RED tags every message leaving a link out with the event it is emitted on.
        msg["_event"] = f"node:{self.id}"
        if self.props.mode == "link":
            self.send_to(self._targets, msg)
            return None
        frames = msg.get("_linkSource")
        if not isinstance(frames, list) or not frames:
            self.warn("a return-mode link out received a message that no link call is waiting for (no msg._linkSource); dropped")
            return None
        frame = frames.pop()
        caller = self.node_by_id(str(frame.get("node"))) if isinstance(frame, dict) else None
        if not isinstance(caller, LinkCall):
            self.warn(f"the link call {frame!r} this message should return to does not exist; dropped")
            return None
        caller._returned(str(frame.get("id")), msg)
        return None


class LinkCallProps(NodeProps):
    links: Annotated[LinkIds, NodeRef("link in")] = Field(default_factory=list, description="the link in node to call (static); the first one is used")
    linkType: lenient.Blank[Literal["static", "dynamic"]] = Field("static", description="dynamic: msg.target names the link in (by id or name)")
    timeout: lenient.Float = Field(30, description="seconds to wait for the return; 0 or less waits forever")


@dataclass(slots=True)
class _Call:
    held: Held
    msg: Msg
    handle: asyncio.TimerHandle | None


@register("link call")
class LinkCall(Node):
    """Calls a flow that starts at a link in and sends on what its return-mode link out replies."""

    Props = LinkCallProps
    props: LinkCallProps

    @classmethod
    def check(cls, props: LinkCallProps) -> list[tuple[str, str]]:
        if props.linkType == "static" and not props.links:
            return [("links", "a static link call needs the id of the link in node to call")]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._calls: dict[str, _Call] = {}

    def _target(self, msg: Msg) -> Node:
        if self.props.linkType == "static":
            target = self.props.links[0]
            node = self.node_by_id(target)
            if node is None or node.type != "link in":
                raise NodeError(f"target link in node {target!r} not found")
            return node
        target = msg.get("target")
        if not isinstance(target, str) or not target:
            raise NodeError("dynamic link call: msg.target must name a link in node (its id or name)")
        node = self.node_by_id(target)
        if node is not None and node.type == "link in":
            return node
        named = [n for n in self.nodes_of_type("link in") if n.name == target]
        local = [n for n in named if n.z == self.z]
        candidates = local or named
        if len(candidates) > 1:
            raise NodeError(f"Multiple link-in nodes named {target!r} found")
        if not candidates:
            raise NodeError(f"target link in node {target!r} not found")
        return candidates[0]

    def on_input(self, msg: Msg) -> None:
        target = self._target(msg)
        call_id = os.urandom(14).hex()
        frames = msg.get("_linkSource")
        if not isinstance(frames, list):
            frames = msg["_linkSource"] = []
        snapshot = clone(msg)
        frames.append({"id": call_id, "node": self.id})
        handle = None
        if self.props.timeout > 0:
            handle = self.call_later(self.props.timeout, self._timed_out, call_id)
        self._calls[call_id] = _Call(self.hold(msg), snapshot, handle)
        self.send_to(target, msg)

    def _returned(self, call_id: str, msg: Msg) -> None:
        if msg.get("_linkSource") == []:
            del msg["_linkSource"]
        call = self._calls.pop(call_id, None)
        if call is None:
            # The call already timed out: Node-RED still sends the late reply on.
            self.send(msg)
            return
        if call.handle is not None:
            call.handle.cancel()
        call.held.send(msg)
        call.held.done()

    def _timed_out(self, call_id: str) -> None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            call.held.error(NodeError("timeout"), call.msg)

    async def close(self) -> None:
        if self._calls:
            self.warn(f"closing with {len(self._calls)} call(s) still waiting for a return; they are dropped")
        for call in self._calls.values():
            if call.handle is not None:
                call.handle.cancel()
            call.held.done()
        self._calls.clear()
