"""The node contract: what a node implements and what it may call.

A node is a class with a pydantic `Props` model and an `on_input` handler
that returns its output. Everything a node may call is a public method
here; queues, completion tokens and copies stay with the router, which owns
each node's delivery state (`_routing.Delivery`). docs/custom-nodes.md lists
the whole contract, and a test keeps that page and this class in step.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ._messages import Msg, Output
from ._routing import Delivery, Router, Token
from .secrets import scrub

if TYPE_CHECKING:
    from ._context import Context
    from ._engine import Runtime
    from ._http import HttpServer

#: Timer callbacks run in this empty context, so they never inherit the token of the message that set them.
_NO_MESSAGE = contextvars.Context()


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
    """A message whose completion stays open after `on_input` returned (delay, join, timers).

    Finish it exactly once, with `done()` or `error()`; until then the
    source that emitted it counts it as in flight (at-least-once MQTT does
    not acknowledge it, and shutdown waits for it).
    """

    __slots__ = ("_finished", "_msg", "_node", "_token")

    def __init__(self, node: Node, token: Token, msg: Msg | None) -> None:
        self._node, self._token, self._msg, self._finished = node, token, msg, False

    @property
    def is_done(self) -> bool:
        return self._finished

    def send(self, output: Output) -> None:
        """Send output that belongs to the held message (it stays held)."""
        if output is not None:
            self._node._route(output, self._token)

    def error(self, err: Exception | str, msg: Msg | None = None) -> None:
        """Finish the held message as failed: catch nodes hear of it, complete nodes do not."""
        if self._finished:
            return
        self._finished = True
        self._node._router.report(self._node, err, msg if msg is not None else self._msg, self._token)
        self._token.release()

    def done(self) -> None:
        """Finish the held message: complete nodes hear of it, its source may acknowledge it."""
        if self._finished:
            return
        self._finished = True
        node = self._node
        if node._delivery.watched and self._msg is not None:
            node._router.events.completed(node, self._msg, self._token)  # type: ignore[union-attr]
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
        self.log = _NodeLog(logging.getLogger(f"flowwire.nodes.{self.type}"), {"node_id": node_id, "node_type": self.type})
        self._runtime = runtime
        self._router: Router = runtime._router
        #: Replaced by the router's own when the runtime is built (after `__init__`, so nodes may rebind `on_input`).
        self._delivery = Delivery(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}:{self.id}>"

    # -- what a node implements ------------------------------------------------------------

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

    # -- sending ---------------------------------------------------------------------------

    def send(self, output: Output) -> None:
        """Send now. Inside `on_input` the output belongs to the message being handled."""
        if output is None:
            return
        token = self._router.current_token()
        if token is None:
            token = self._router.token()
            self._route(output, token)
            token.release()
        else:
            self._route(output, token)

    def send_to(self, targets: Node | Sequence[Node], msg: Msg) -> None:
        """Deliver `msg` to other nodes' inputs, bypassing wires (link nodes, calls and returns).

        As on a wire, the first target gets `msg` and the others copies.
        """
        deliveries = [targets._delivery] if isinstance(targets, Node) else [t._delivery for t in targets]
        if not deliveries:
            return
        token = self._router.current_token()
        own = token is None
        if token is None:
            token = self._router.token()
        try:
            self._router.send_to(deliveries, msg, token)
        except Exception as exc:
            self._router.report(self, exc, msg, token)
        if own:
            token.release()

    async def emit(self, output: Output, on_complete: Callable[[], None] | None = None) -> None:
        """Send a new message as a source; waits while `window` messages are outstanding.

        `on_complete` runs once everything derived from this message has finished
        (or was dropped or failed): the hook for at-least-once acknowledgement.
        """
        delivery = self._delivery
        if delivery.outstanding >= self.window:
            loop = asyncio.get_running_loop()
            waited_from = loop.time()
            while delivery.outstanding >= self.window:
                delivery.window_waiter = loop.create_future()
                await delivery.window_waiter
            delivery.backpressure += loop.time() - waited_from
        token = self._router.token(delivery, on_complete)
        delivery.outstanding += 1
        if output is not None:
            self._route(output, token)
        token.release()

    def hold(self, msg: Msg | None = None) -> Held:
        """Keep the current message's completion open after `on_input` returns."""
        token = self._router.current_token()
        if token is None:
            token = self._router.token()
        else:
            token.pending += 1
        if self._delivery.watched and msg is not None:
            self._delivery.held_ids.add(id(msg))
        return Held(self, token, msg)

    def _route(self, output: Output, token: Token) -> None:
        try:
            self._router.route(self._delivery, output, token)
        except Exception as exc:
            self._router.report(self, exc, output if isinstance(output, dict) else None, token)

    # -- reporting -------------------------------------------------------------------------

    def error(self, err: Exception | str, msg: Msg | None = None) -> None:
        """Report an error to `catch` nodes (with `msg` intact), or log it when none catches it."""
        token = self._router.current_token()
        if token is None:
            token = self._router.token()
            self._router.report(self, err, msg, token)
            token.release()
        else:
            self._router.report(self, err, msg, token)

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
        events = self._router.events
        if events is not None:
            events.status(self, status)

    # -- where the node lives --------------------------------------------------------------

    @property
    def context(self) -> Context:
        return self._runtime.contexts.node(self)

    @property
    def flow_context(self) -> Context:
        return self._runtime.contexts.flow(self)

    @property
    def global_context(self) -> Context:
        return self._runtime.contexts.global_()

    def config_node(self, node_id: str) -> Any:
        """The config node with that id (validated to exist before start)."""
        return self._runtime.nodes[node_id]

    def node_by_id(self, node_id: str) -> Node | None:
        """Any node of the running flows by id; None when there is none (or it is disabled)."""
        return self._runtime.nodes.get(node_id)

    def nodes_of_type(self, type_name: str) -> list[Node]:
        """Every running node of one type, in document order."""
        return [n for n in self._runtime.nodes.values() if n.type == type_name]

    def env(self, name: str) -> Any:
        """An environment value as Node-RED's `env.get` finds it: node, group, subflow instance, tab, global-config, process; None if unset."""
        return self._runtime.graph.env.get(self.id, name)

    @property
    def settings(self) -> Mapping[str, Any]:
        """The flow documents' `settings:` (Node-RED's settings.js names), read-only."""
        return self._runtime.settings

    @property
    def http(self) -> HttpServer:
        """The runtime's one HTTP server: add node routes and websocket paths in `start` (docs/http.md)."""
        return self._runtime.http

    @property
    def ready(self) -> bool:
        """False while the node cannot do its work (a config node not connected): `/health/ready` fails then."""
        return True

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in properties are taken from: the first flow file's."""
        return self._runtime.base_dir

    # -- time and background work ----------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run background work owned by the runtime: kept alive, its failure logged, cancelled at the end."""
        return self._runtime._spawn(coro)

    def time(self) -> float:
        """The event loop's clock (monotonic seconds); tests may fast-forward it."""
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Run `callback(*args)` after `delay` seconds, outside any message's context."""
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback, *args, context=_NO_MESSAGE)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        """Run `callback(*args)` at `when` on the `time()` clock, outside any message's context."""
        return asyncio.get_running_loop().call_at(when, callback, *args, context=_NO_MESSAGE)


class ConfigNode(Node):
    """A node other nodes refer to by id (a broker, an API client); started first, closed last."""

    is_config = True
