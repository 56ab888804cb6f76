"""How a message moves: completion tokens, the run queue, fan-out copies.

Every message a source emits gets a `Token`. Each delivery of it (or of
anything derived from it) to a node holds the token once; the node releases
it when it is done. When the count reaches zero the whole tree is finished
and the source hears about it (MQTT acknowledges there; the source's window
frees a slot, which is how backpressure works).

The router owns each node's delivery state (a `Delivery`: wires, inbox,
window); a node keeps a reference to its own and nothing else. Deliveries to
synchronous handlers go through one FIFO run queue drained by a plain loop,
so a hop costs a deque append and a function call rather than an asyncio
task switch, and messages reach each node in the order they were sent
(breadth first, like Node-RED's deferred delivery). The loop yields to the
event loop every `_BUDGET` deliveries so I/O is never starved.

`Router.settle` is the one place a finished delivery is routed, reported,
completed and released, for synchronous and asynchronous handlers alike.
The run loop short-cuts only the commonest case before it: one msg out to a
single target, where the token simply moves on with the message.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ._errors import NodeError
from ._messages import Msg, clone, new_msgid

if TYPE_CHECKING:
    from ._events import Events
    from ._node import Node

log = logging.getLogger("flowwire.routing")

_BUDGET = 2048
#: Deliveries one source message may have unfinished at once before a send fails (setting `messageTreeLimit`).
TREE_LIMIT = 100_000

#: The token of the message a handler is working on; `Node.send` reads it.
current_token: contextvars.ContextVar[Token | None] = contextvars.ContextVar("flowwire_token", default=None)


class Token:
    """Counts the unfinished deliveries of one source message and its descendants."""

    __slots__ = ("_on_complete", "_router", "_source", "pending")

    def __init__(self, router: Router, source: Delivery | None, on_complete: Callable[[], None] | None) -> None:
        self.pending = 1
        self._router = router
        self._source = source
        self._on_complete = on_complete

    def release(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self._finish()

    def _finish(self) -> None:
        self._router._token_done()
        source = self._source
        if source is not None:
            source.source_finished()
        if self._on_complete is not None:
            try:
                self._on_complete()
            except Exception:
                log.exception("completion callback of %r failed", source.node if source is not None else None)


class Delivery:
    """One node's routing state, owned by the router: handler, wires, inbox, source window."""

    __slots__ = (
        "active",
        "backpressure",
        "errors",
        "handler",
        "held_ids",
        "inbox",
        "node",
        "outstanding",
        "received",
        "sent",
        "shortcuts",
        "single",
        "sync",
        "watched",
        "window_waiter",
        "wires",
    )

    def __init__(self, node: Node) -> None:
        self.node = node
        #: `on_input` as it is once the node is built (nodes may rebind it in `__init__`).
        self.handler: Callable[[Msg], Any] = node.on_input
        self.sync = not asyncio.iscoroutinefunction(self.handler)
        self.wires: list[list[Delivery]] = []
        #: Set when port 0 has exactly one target: the run loop's short cut.
        self.single: Delivery | None = None
        self.inbox: deque[tuple[Msg, Token]] = deque()
        self.active = 0
        #: complete nodes watch this node: finished messages are reported to them.
        self.watched = False
        #: ids of msgs held during `on_input` while complete nodes watch: `Held.done` reports those.
        self.held_ids: set[int] = set()
        self.outstanding = 0
        self.window_waiter: asyncio.Future[None] | None = None
        # Plain counters for /metrics, read only at scrape time (runtime/_metrics.py). A hop through the
        # run loop's short cut counts once, at the sender (`shortcuts`): its target's input is derived.
        self.received = 0
        self.sent = 0
        self.shortcuts = 0
        self.errors = 0
        #: Seconds `emit` waited for a full window (the node as a source was slowed by its flow).
        self.backpressure = 0.0

    def connect(self, wires: list[list[Delivery]]) -> None:
        self.wires = wires
        self.single = wires[0][0] if len(wires) == 1 and len(wires[0]) == 1 else None

    def source_finished(self) -> None:
        self.outstanding -= 1
        waiter = self.window_waiter
        if waiter is not None and self.outstanding <= self.node.window // 2:
            self.window_waiter = None
            if not waiter.done():
                waiter.set_result(None)


class Router:
    """The run queue shared by every node of one runtime."""

    def __init__(self, spawn: Callable[[Coroutine[Any, Any, Any]], Any], tree_limit: int = TREE_LIMIT) -> None:
        self._queue: deque[tuple[Delivery, Msg, Token]] = deque()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._spawn = spawn
        self.tree_limit = tree_limit
        #: Tokens alive right now; shutdown waits for this to reach zero.
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        #: The token of the delivery a synchronous handler is running for.
        self.current: Token | None = None
        self.events: Events | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._idle = asyncio.Event()
        self._idle.set()

    def token(self, source: Delivery | None = None, on_complete: Callable[[], None] | None = None) -> Token:
        self.in_flight += 1
        if self._idle is not None:
            self._idle.clear()
        return Token(self, source, on_complete)

    def _token_done(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self) -> None:
        assert self._idle is not None
        await self._idle.wait()

    def halt(self) -> int:
        """Drop every queued delivery: the drain timed out and the runtime is closing.

        Their tokens are not released, so no source acknowledges what never
        finished (at-least-once MQTT gets those messages again after a restart).
        """
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    def current_token(self) -> Token | None:
        """The token of the message being handled here and now, if any and still open."""
        token = current_token.get() or self.current
        return token if token is not None and token.pending > 0 else None

    def enqueue(self, target: Delivery, msg: Msg, token: Token) -> None:
        target.received += 1
        token.pending += 1
        self._queue.append((target, msg, token))
        if not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        """Drain the queue: synchronous handlers inline, async ones handed to their workers.

        This loop is the hot path of every flow (see bench/chain). Nothing a
        handler does may end it early: every outcome goes through `settle`,
        which never raises.
        """
        current_token.set(None)
        queue = self._queue
        pop = queue.popleft
        append = queue.append
        settle = self.settle
        budget = _BUDGET
        try:
            while queue and budget:
                budget -= 1
                delivery, msg, token = pop()
                if not delivery.sync:
                    self._to_worker(delivery, msg, token)
                    continue
                self.current = token
                try:
                    out = delivery.handler(msg)
                except BaseException as exc:  # a node body's SystemExit must not end the runtime either
                    settle(delivery, msg, token, None, exc if isinstance(exc, Exception) else NodeError(f"{type(exc).__name__} raised"))
                    continue
                if type(out) is dict and delivery.single is not None and not delivery.watched and "_msgid" in out:
                    # One msg to one target: this delivery's hold on the token passes to the next one.
                    delivery.shortcuts += 1
                    append((delivery.single, out, token))
                else:
                    settle(delivery, msg, token, out, None)
        finally:
            self.current = None
            if queue:
                assert self._loop is not None
                self._loop.call_soon(self._run)
            else:
                self._scheduled = False

    def _to_worker(self, delivery: Delivery, msg: Msg, token: Token) -> None:
        delivery.inbox.append((msg, token))
        if delivery.active < max(1, delivery.node.concurrency):
            delivery.active += 1
            self._spawn(self._work(delivery))

    async def _work(self, delivery: Delivery) -> None:
        inbox = delivery.inbox
        try:
            while inbox:
                msg, token = inbox.popleft()
                current_token.set(token)
                try:
                    out = await delivery.handler(msg)
                except asyncio.CancelledError:
                    token.release()
                    raise
                except BaseException as exc:
                    self.settle(delivery, msg, token, None, exc if isinstance(exc, Exception) else NodeError(f"{type(exc).__name__} raised"))
                else:
                    self.settle(delivery, msg, token, out, None)
        finally:
            delivery.active -= 1
            current_token.set(None)

    def settle(self, delivery: Delivery, msg: Msg, token: Token, out: Any, failure: Exception | None) -> None:
        """Route a handler's output, report its failure, tell complete nodes, release the token.

        A failure reaches catch nodes, not complete nodes (Node-RED's done(err)).
        Routing can fail too (a msg that cannot be copied, a runaway fan-out):
        that becomes a node error on the sending node and delivery goes on.
        """
        try:
            if failure is None and out is not None:
                try:
                    self.route(delivery, out, token)
                except Exception as exc:
                    failure = exc
            if failure is not None:
                self.report(delivery.node, failure, msg, token)
            elif delivery.watched:
                self.completed(delivery, msg, token)
        except Exception:
            log.exception("[%s:%s] could not settle a message; it is dropped", delivery.node.type, delivery.node.id)
        token.release()

    def route(self, delivery: Delivery, out: Any, token: Token) -> None:
        """Put a handler's output on its wires: the first target gets each msg, the others copies."""
        wires = delivery.wires
        if type(out) is dict:
            delivery.sent += 1
            if "_msgid" not in out:
                out["_msgid"] = new_msgid()
            if wires:
                self._fan_out(wires[0], out, token)
            return
        if isinstance(out, dict):
            out = [out]
        elif not isinstance(out, (list, tuple)):
            raise NodeError(f"a node's output must be a msg dict or a list per output port, not {type(out).__name__}")
        sent: set[int] = set()
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
                delivery.sent += 1
                if "_msgid" not in m:
                    m["_msgid"] = new_msgid()
                if targets:
                    # A msg already sent on another port is copied for every target of this one.
                    self._fan_out(targets, m, token, copy_first=id(m) in sent)
                    sent.add(id(m))

    def send_to(self, targets: list[Delivery], msg: Msg, token: Token) -> None:
        if "_msgid" not in msg:
            msg["_msgid"] = new_msgid()
        self._fan_out(targets, msg, token)

    def _fan_out(self, targets: list[Delivery], msg: Msg, token: Token, copy_first: bool = False) -> None:
        if len(targets) == 1 and not copy_first:
            self.enqueue(targets[0], msg, token)
            return
        if token.pending + len(targets) > self.tree_limit:
            raise NodeError(
                f"message not sent: its message tree already has {token.pending} unfinished deliveries "
                f"(limit {self.tree_limit}, setting messageTreeLimit); a loop that multiplies messages?"
            )
        # Copies are made before anything is sent, so a msg that cannot be copied is sent nowhere.
        msgs = [msg if i == 0 and not copy_first else clone(msg) for i in range(len(targets))]
        for target, m in zip(targets, msgs):
            self.enqueue(target, m, token)

    def report(self, node: Node, err: Exception | str, msg: Msg | None, token: Token) -> None:
        node._delivery.errors += 1
        assert self.events is not None
        self.events.error(node, err, msg, token)

    def completed(self, delivery: Delivery, msg: Msg, token: Token) -> None:
        """`on_input` finished `msg`: tell complete nodes, unless it was held (then `Held.done` does)."""
        if id(msg) in delivery.held_ids:
            delivery.held_ids.discard(id(msg))
            return
        assert self.events is not None
        self.events.completed(delivery.node, msg, token)
