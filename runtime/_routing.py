"""How a message moves: completion tokens, the run queue, fan-out copies.

Every message a source emits gets a `Token`. Each delivery of it (or of
anything derived from it) to a node holds the token once; the node releases
it when it is done. When the count reaches zero the whole tree is finished
and the source hears about it (MQTT acknowledges there; the source's window
frees a slot, which is how backpressure works).

Deliveries to synchronous handlers go through one FIFO run queue drained by
a plain loop, so a hop costs a deque append and a function call rather than
an asyncio task switch, and messages reach each node in the order they were
sent (breadth first, like Node-RED's deferred delivery). The loop yields to
the event loop every `_BUDGET` deliveries so I/O is never starved.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import FlowwireError

if TYPE_CHECKING:
    from ._node import Node

_BUDGET = 2048

#: The token of the message a handler is working on; `Node.send` reads it.
current_token: contextvars.ContextVar[Token | None] = contextvars.ContextVar("flowwire_token", default=None)


class Token:
    """Counts the unfinished deliveries of one source message and its descendants."""

    __slots__ = ("_on_complete", "_router", "_source", "pending")

    def __init__(self, router: Router, source: Node | None, on_complete: Callable[[], None] | None) -> None:
        self.pending = 1
        self._router = router
        self._source = source
        self._on_complete = on_complete

    def release(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self._finish()

    def _finish(self) -> None:
        self._router.token_done()
        source = self._source
        if source is not None:
            source._source_finished()
        if self._on_complete is not None:
            try:
                self._on_complete()
            except Exception:
                if source is not None:
                    source.log.exception("completion callback failed")


class Router:
    """The run queue shared by every node of one runtime."""

    def __init__(self) -> None:
        self._queue: deque[tuple[Node, dict[str, Any], Token]] = deque()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Tokens alive right now; shutdown waits for this to reach zero.
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        #: The token of the delivery a synchronous handler is running for.
        self.current: Token | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._idle = asyncio.Event()
        self._idle.set()

    def token(self, source: Node | None, on_complete: Callable[[], None] | None = None) -> Token:
        self.in_flight += 1
        if self._idle is not None:
            self._idle.clear()
        return Token(self, source, on_complete)

    def token_done(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self) -> None:
        assert self._idle is not None
        await self._idle.wait()

    def enqueue(self, node: Node, msg: dict[str, Any], token: Token) -> None:
        token.pending += 1
        self._queue.append((node, msg, token))
        if not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        """Drain the queue: synchronous handlers inline, async ones handed to their workers.

        This loop is the hot path of every flow (see bench/chain): the common
        case, one msg out to a single target, is inlined rather than going
        through `Node._route`.
        """
        current_token.set(None)
        queue = self._queue
        pop = queue.popleft
        append = queue.append
        budget = _BUDGET
        while queue and budget:
            budget -= 1
            node, msg, token = pop()
            if node._sync:
                self.current = token
                try:
                    out = node.on_input(msg)
                except Exception as exc:
                    # A failed message goes to catch nodes, not to complete nodes (Node-RED's done(err)).
                    node._report(exc, msg, token)
                    token.release()
                    continue
                # Inline twin of the result handling in Node._work, kept here for speed (a call per hop is measurable on bench/chain).
                if out is not None:
                    target = node._single
                    if target is not None and type(out) is dict and "_msgid" in out:
                        token.pending += 1
                        append((target, out, token))
                    else:
                        try:
                            node._route(out, token)
                        except FlowwireError as exc:
                            node._report(exc, msg, token)
                if node._complete_watchers:
                    node._completed(msg, token)
                token.pending -= 1
                if not token.pending:
                    token._finish()
            else:
                node._receive_async(msg, token)
        self.current = None
        if queue:
            assert self._loop is not None
            self._loop.call_soon(self._run)
        else:
            self._scheduled = False


_ATOMS = (str, int, float, bool, type(None), bytes)


def clone(value: Any) -> Any:
    """Deep copy tuned for JSON-like messages, falling back to `copy.deepcopy`.

    Fan-out copies every message but the first; most messages are dicts,
    lists and scalars, for which this is several times faster than deepcopy.
    """
    cls = type(value)
    if cls is dict:
        return {k: (v if type(v) in _ATOMS else clone(v)) for k, v in value.items()}
    if cls is list:
        return [v if type(v) in _ATOMS else clone(v) for v in value]
    if cls in _ATOMS:
        return value
    if cls is bytearray:
        return bytearray(value)
    return copy.deepcopy(value)
