"""One running flow: start order, running, draining and closing.

Shutdown is Node-RED's close sequence with a drain in the middle: sources
stop producing, in-flight messages finish (up to `drain_timeout`), then
every node's `close` runs (up to `close_timeout` each; config nodes last).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._context import Contexts
from ._errors import FlowError, FlowwireError, Problem
from ._events import Events
from ._http import HttpServer
from ._http_settings import read_config
from ._node import Node
from ._routing import TREE_LIMIT, Delivery, Router
from ._validation import Graph, flow_dir

log = logging.getLogger("flowwire.runtime")

DRAIN_TIMEOUT = 30.0
CLOSE_TIMEOUT = 15.0


class Runtime:
    """Holds the nodes of a checked graph and runs them on the current event loop."""

    def __init__(self, graph: Graph, *, base_dir: Path | None = None, drain_timeout: float | None = None, close_timeout: float | None = None) -> None:
        self.graph = graph
        settings = graph.settings
        self.drain_timeout = float(drain_timeout if drain_timeout is not None else settings.get("drainTimeout", DRAIN_TIMEOUT))
        self.close_timeout = float(close_timeout if close_timeout is not None else settings.get("nodeCloseTimeout", CLOSE_TIMEOUT))
        self.base_dir = base_dir or flow_dir(graph.files)
        self.settings: Mapping[str, Any] = MappingProxyType(settings)
        self._router = Router(self._spawn, int(settings.get("messageTreeLimit", TREE_LIMIT)))
        self.contexts = Contexts(settings, self.base_dir)
        self.nodes: dict[str, Node] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._router.events = Events({}, self._router)
        self._started = False
        #: The HTTP server (node routes, health, metrics, admin); it listens only when something needs it.
        self.http = HttpServer(self)
        #: True from the moment shutdown or a deploy begins until new flows run: `/health/ready` fails.
        self.draining = False
        self._deploying = asyncio.Lock()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a task owned by the runtime: kept alive, its failure logged, cancelled at the end."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    def _build(self) -> None:
        problems: list[Problem] = []
        ordered = sorted(self.graph.nodes.values(), key=lambda c: not c.cls.is_config)
        for checked in ordered:
            spec = checked.spec
            try:
                node = checked.cls(spec.id, checked.props, self, name=spec.name, z=spec.z, g=spec.g)
            except Exception as exc:
                problems.append(Problem(f"cannot create node: {type(exc).__name__}: {exc}", file=spec.file, line=spec.line, node_id=spec.id))
                continue
            self.nodes[spec.id] = node
        if problems:
            raise FlowError(problems)
        for node in self.nodes.values():
            # Made after construction: a node may choose its `on_input` in `__init__`.
            node._delivery = Delivery(node)
        for checked in self.graph.nodes.values():
            node = self.nodes[checked.spec.id]
            node._delivery.connect([[self.nodes[t]._delivery for t in port if t in self.nodes] for port in checked.spec.wires])
        self._router.events = Events(self.nodes, self._router)

    async def start(self) -> None:
        self._router.bind(asyncio.get_running_loop())
        self._build()
        await self.contexts.open()
        self._started = True
        await self._start_nodes()
        await self._start_http()

    async def _start_nodes(self) -> None:
        for group in (True, False):
            for node in self.nodes.values():
                if node.is_config is group:
                    await node.start()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no message is in flight; False on timeout."""
        try:
            await asyncio.wait_for(self._router.wait_idle(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def in_flight(self) -> int:
        return self._router.in_flight

    async def stop(self) -> None:
        """Stop sources, drain, close every node, flush context."""
        if not self._started:
            return
        self._started = False
        self.draining = True
        async with self._deploying:  # a deploy under way finishes first
            await self._stop_nodes()
        await self.contexts.close()
        await self.http.stop()

    async def _stop_nodes(self) -> None:
        """Node-RED's close sequence with the drain in the middle; background tasks are cancelled last."""
        regular = [n for n in self.nodes.values() if not n.is_config]
        config = [n for n in self.nodes.values() if n.is_config]
        await self._each(regular, "stop")
        log.info("sources stopped: draining %d message(s) in flight", self._router.in_flight)
        if not await self.wait_idle(self.drain_timeout):
            log.warning("drain timed out after %.1f s with %d message(s) still in flight; %d queued deliveries dropped",
                        self.drain_timeout, self._router.in_flight, self._router.halt())
        await self._each(regular, "close")
        await self._each(config, "stop")
        await self._each(config, "close")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _each(self, nodes: list[Node], hook: str) -> None:
        async def call(node: Node) -> None:
            try:
                await asyncio.wait_for(getattr(node, hook)(), self.close_timeout)
            except TimeoutError:
                log.error("[%s:%s] %s did not finish within %.0f s", node.type, node.id, hook, self.close_timeout)
            except Exception:
                log.exception("[%s:%s] %s failed", node.type, node.id, hook)

        await asyncio.gather(*(call(n) for n in nodes))

    # -- HTTP server, readiness and deploys (docs/http.md) ---------------------------------------

    async def _start_http(self) -> None:
        """Listen once every node has started, if a node added a route or a setting asks for the server."""
        if self.http.running or not self.http.needed:
            return
        # Imported only now: aiohttp is a quarter of a cold start, and most flows serve no HTTP.
        from . import _admin, _monitor

        _monitor.install(self)
        _admin.install(self)
        await self.http.start()

    @property
    def ready(self) -> bool:
        """Started, not draining, and every node (config nodes: connected) says it is ready."""
        return self._started and not self.draining and all(node.ready for node in self.nodes.values())

    async def deploy(self, graph: Graph) -> None:
        """Replace the running flows with `graph` (already checked): Node-RED's full deploy.

        Sources stop, in-flight messages drain, every node closes, then the
        new nodes are built and started; context stores and the HTTP server
        stay. If the new flows fail to start, the old ones are started again
        and the error is raised. Server settings that do not parse change nothing.
        """
        read_config(graph.settings, self.base_dir, graph.files[-1] if graph.files else None)
        async with self._deploying:
            if not self._started:
                raise FlowwireError("the runtime is stopping; nothing was deployed")
            old = self.graph
            self.draining = True
            try:
                await self._stop_nodes()
                try:
                    await self._replace(graph)
                except Exception:
                    log.exception("the new flows failed to start; starting the previous flows again")
                    await self._stop_nodes()
                    await self._replace(old)
                    raise
            finally:
                self.draining = False
            log.info("deployed %d node(s)", len(self.nodes))

    async def _replace(self, graph: Graph) -> None:
        settings = graph.settings
        same_store = settings.get("contextStorage") == self.graph.settings.get("contextStorage")
        self.graph = graph
        self.settings = MappingProxyType(settings)
        self._router.tree_limit = int(settings.get("messageTreeLimit", TREE_LIMIT))
        if not same_store:
            await self.contexts.close()
            self.contexts = Contexts(settings, self.base_dir)
        await self.contexts.open()
        self.http.reload()
        self.nodes = {}
        self._build()
        await self._start_nodes()
        await self._start_http()
