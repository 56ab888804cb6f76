"""The node base class: what a node author writes against.

A node is a class with a pydantic `Props` model and an `on_input` handler
that returns its output. Queues, completion tokens and copies stay in
`_routing`; nothing of them leaks into node code except `hold()`, for nodes
that keep a message past the end of `on_input` (delay, join, timers).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import traceback
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict

from ._errors import NodeError
from ._routing import Token, clone, current_token
from .secrets import scrub

if TYPE_CHECKING:
    from ._context import Context
    from ._engine import Runtime

Msg = dict[str, Any]
#: None (nothing), a msg for port 0, or one entry per port (None, a msg, or a list of msgs).
Output = Union[None, Msg, list[Union[None, Msg, list[Msg]]]]

_ids = itertools.count(1)
_id_prefix = os.urandom(4).hex()


def new_msgid() -> str:
    """Unique per process and cheap: a random prefix and a counter."""
    return f"{_id_prefix}{next(_ids):08x}"


class NodeProps(BaseModel):
    """Base of every node type's property model.

    Unknown keys are ignored rather than rejected because Node-RED exports
    carry editor fields (x, y, info, ...) that vary between versions; the
    validator reports them as warnings instead.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, arbitrary_types_allowed=True, defer_build=True)


@dataclass(frozen=True, slots=True)
class ConfigRef:
    """Marks a property as the id of a config node: `Annotated[str, ConfigRef("mqtt-broker")]`."""

    types: tuple[str, ...]
    optional: bool = False

    def __init__(self, *types: str, optional: bool = False) -> None:
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "optional", optional)


@dataclass(frozen=True, slots=True)
class NodeRef:
    """Marks a property holding ids of other (non-config) nodes: `Annotated[list[str], NodeRef("link in")]`.

    The validator checks every id exists and has one of the types, so a
    dangling link is a flow-file error rather than a warning at start.
    """

    types: tuple[str, ...]

    def __init__(self, *types: str) -> None:
        object.__setattr__(self, "types", types)


class _NodeLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Prefixes every line with `[type:id]` so a log line always names its node."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(self.extra or {})
        kwargs.setdefault("extra", {}).update(extra)
        return f"[{extra['node_type']}:{extra['node_id']}] {msg}", kwargs


class Held:
    """A message whose completion stays open after `on_input` returned."""

    __slots__ = ("_done", "_msg", "_node", "_token")

    def __init__(self, node: Node, token: Token, msg: Msg | None) -> None:
        self._node, self._token, self._msg, self._done = node, token, msg, False

    def send(self, output: Output) -> None:
        if output is not None:
            self._node._route(output, self._token)

    def error(self, err: Exception | str, msg: Msg | None = None) -> None:
        """Finish the held message as failed: catch nodes hear of it, complete nodes do not."""
        if self._done:
            return
        self._done = True
        self._node._report(err, msg if msg is not None else self._msg, self._token)
        self._token.release()

    def done(self) -> None:
        if self._done:
            return
        self._done = True
        if self._node._complete_watchers and self._msg is not None:
            self._node.runtime._events.completed(self._node, self._msg, self._token)
        self._token.release()


class Node:
    """Base class of every node type (see docs/custom-nodes.md)."""

    Props: ClassVar[type[NodeProps]] = NodeProps
    #: Set by `register`: the type name flows use, and the first docstring line.
    type: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: Messages allowed inside an async `on_input` at once (I/O nodes raise it).
    concurrency: ClassVar[int] = 1
    #: Messages this node may have outstanding as a source before `emit` waits.
    window: ClassVar[int] = 1000
    #: Properties left alone by `${VAR}` substitution (code, templates).
    raw_fields: ClassVar[frozenset[str]] = frozenset()
    is_config: ClassVar[bool] = False
    #: "error", "status" or "complete" for catch/status/complete nodes (see `_events`).
    listens: ClassVar[str | None] = None

    props: Any

    def __init__(self, node_id: str, props: NodeProps, runtime: Runtime, *, name: str = "", z: str = "", g: str = "") -> None:
        self.id = node_id
        self.name = name
        self.z = z
        self.g = g
        self.props = props
        self.runtime = runtime
        self.log = _NodeLog(logging.getLogger(f"flowwire.nodes.{self.type}"), {"node_id": node_id, "node_type": self.type})
        self._router = runtime._router
        self._wires: list[list[Node]] = []
        self._complete_watchers = False
        #: ids of msgs held during `on_input` while complete nodes watch: `Held.done` reports those.
        self._held_ids: set[int] = set()
        self._outstanding = 0
        self._window_waiter: asyncio.Future[None] | None = None
        self._inbox: deque[tuple[Msg, Token]] = deque()
        self._active = 0
        #: Set by the engine when port 0 has exactly one target: the router's fast path.
        self._single: Node | None = None
        #: Synchronous handlers run inline in the router's loop; async ones in worker tasks.
        self._sync = not inspect.iscoroutinefunction(self.on_input)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}:{self.id}>"

    # -- what node authors override -------------------------------------------------

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        """Extra validation beyond the model: (field, problem) pairs; nothing is started when any exist."""
        return []

    def on_input(self, msg: Msg) -> Output:
        """Handle one message and return the output (sync or `async def`)."""
        return None

    async def start(self) -> None:
        """Begin work; config nodes are started before the nodes that use them."""

    async def stop(self) -> None:
        """Stop producing new messages (first step of shutdown, before the drain)."""

    async def close(self) -> None:
        """Release resources once in-flight messages have drained."""

    # -- what node authors call ----------------------------------------------------------

    def send(self, output: Output) -> None:
        """Send now. Inside `on_input` the output belongs to the message being handled."""
        if output is None:
            return
        token = self._current()
        if token is None:
            token = self._router.token(None)
            self._route(output, token)
            token.release()
        else:
            self._route(output, token)

    async def emit(self, output: Output, on_complete: Callable[[], None] | None = None) -> None:
        """Send a new message as a source; waits while `window` messages are outstanding.

        `on_complete` runs once everything derived from this message has finished
        (or was dropped or failed): the hook for at-least-once acknowledgement.
        """
        if self._outstanding >= self.window:
            loop = asyncio.get_running_loop()
            while self._outstanding >= self.window:
                self._window_waiter = loop.create_future()
                await self._window_waiter
        token = self._router.token(self, on_complete)
        self._outstanding += 1
        if output is not None:
            self._route(output, token)
        token.release()

    def hold(self, msg: Msg | None = None) -> Held:
        """Keep the current message's completion open after `on_input` returns."""
        token = self._current()
        if token is None:
            token = self._router.token(None)
        else:
            token.pending += 1
        if self._complete_watchers and msg is not None:
            self._held_ids.add(id(msg))
        return Held(self, token, msg)

    def error(self, err: Exception | str, msg: Msg | None = None) -> None:
        """Report an error to `catch` nodes (with `msg` intact), or log it when none catches it."""
        token = self._current()
        if token is None:
            token = self._router.token(None)
            self._report(err, msg, token)
            token.release()
        else:
            self._report(err, msg, token)

    def warn(self, text: str) -> None:
        self.log.warning(scrub(str(text)))

    def status(self, fill: str | dict[str, Any] | None = None, shape: str | None = None, text: Any = None) -> None:
        """Show a status (`status()` clears it); `status` nodes in scope receive it."""
        if isinstance(fill, dict):
            status = {k: v for k, v in fill.items() if k in ("fill", "shape", "text") and v is not None}
        else:
            status = {k: v for k, v in (("fill", fill), ("shape", shape), ("text", text)) if v is not None}
        if "text" in status:
            status["text"] = scrub(str(status["text"]))
        self.runtime._events.status(self, status)

    def config_node(self, node_id: str) -> Any:
        """The config node with that id (validated to exist before start)."""
        return self.runtime.nodes[node_id]

    @property
    def context(self) -> Context:
        return self.runtime.contexts.node(self)

    @property
    def flow_context(self) -> Context:
        return self.runtime.contexts.flow(self)

    @property
    def global_context(self) -> Context:
        return self.runtime.contexts.global_()

    # -- runtime internals ----------------------------------------------------------------

    def _current(self) -> Token | None:
        """The token of the message being handled here and now, if any and still open."""
        token = current_token.get() or self._router.current
        return token if token is not None and token.pending > 0 else None

    def _set_handler(self, handler: Callable[[Msg], Any]) -> None:
        """Swap `on_input` after construction (nodes that compile their handler)."""
        self.on_input = handler  # type: ignore[method-assign]
        self._sync = not inspect.iscoroutinefunction(handler)

    def _connect(self, wires: list[list[Node]]) -> None:
        self._wires = wires
        self._single = wires[0][0] if len(wires) == 1 and len(wires[0]) == 1 else None

    def _receive_async(self, msg: Msg, token: Token) -> None:
        self._inbox.append((msg, token))
        if self._active < max(1, self.concurrency):
            self._active += 1
            self.runtime._spawn(self._work())

    async def _work(self) -> None:
        inbox = self._inbox
        try:
            while inbox:
                msg, token = inbox.popleft()
                current_token.set(token)
                try:
                    out = await self.on_input(msg)  # type: ignore[misc]
                except asyncio.CancelledError:
                    token.release()
                    raise
                except Exception as exc:
                    self._report(exc, msg, token)
                else:
                    # Router._run handles synchronous handlers' results the same way, inlined for speed.
                    if out is not None:
                        try:
                            self._route(out, token)
                        except NodeError as exc:
                            self._report(exc, msg, token)
                    if self._complete_watchers:
                        self._completed(msg, token)
                token.release()
        finally:
            self._active -= 1
            current_token.set(None)

    def _completed(self, msg: Msg, token: Token) -> None:
        """`on_input` finished `msg`: tell complete nodes, unless it was held (then `Held.done` does)."""
        if id(msg) in self._held_ids:
            self._held_ids.discard(id(msg))
            return
        self.runtime._events.completed(self, msg, token)

    def _route(self, out: Output, token: Token) -> None:
        wires = self._wires
        if type(out) is dict:
            if "_msgid" not in out:
                out["_msgid"] = new_msgid()
            if wires:
                targets = wires[0]
                if len(targets) == 1:
                    self._router.enqueue(targets[0], out, token)
                    return
                first = True
                for target in targets:
                    self._router.enqueue(target, out if first else clone(out), token)
                    first = False
            return
        self._route_ports(out, token)

    def _route_ports(self, out: Any, token: Token) -> None:
        if isinstance(out, dict):
            out = [out]
        if not isinstance(out, (list, tuple)):
            raise NodeError(f"a node's output must be a msg dict or a list per output port, not {type(out).__name__}")
        sent: set[int] = set()
        wires = self._wires
        enqueue = self._router.enqueue
        for port, entry in enumerate(out):
            if entry is None:
                continue
            msgs = entry if isinstance(entry, (list, tuple)) else (entry,)
            targets = wires[port] if port < len(wires) else ()
            for m in msgs:
                if m is None:
                    continue
                if not isinstance(m, dict):
                    raise NodeError(f"output port {port} got {type(m).__name__}; messages must be dicts")
                if "_msgid" not in m:
                    m["_msgid"] = new_msgid()
                for target in targets:
                    if id(m) in sent:
                        enqueue(target, clone(m), token)
                    else:
                        sent.add(id(m))
                        enqueue(target, m, token)

    def _report(self, err: Exception | str, msg: Msg | None, token: Token) -> None:
        if isinstance(err, NodeError):
            text, stack, details = str(err), None, err.details
            if msg is None:
                msg = err.msg
        elif isinstance(err, Exception):
            text = f"{type(err).__name__}: {err}"
            stack = "".join(traceback.format_exception(err))
            details = {}
        else:
            text, stack, details = str(err), None, {}
        self.runtime._events.error(self, scrub(text), msg, token, scrub(stack) if stack else None, details)

    def _source_finished(self) -> None:
        self._outstanding -= 1
        waiter = self._window_waiter
        if waiter is not None and self._outstanding <= self.window // 2:
            self._window_waiter = None
            if not waiter.done():
                waiter.set_result(None)


class ConfigNode(Node):
    """A node other nodes refer to by id (a broker, an API client); started first, closed last."""

    is_config = True
