"""The one HTTP server a runtime owns: node routes, websocket paths, health, metrics and the admin API.

It starts only when something needs it (a node added a route, or a setting
turns on metrics, health probes or the admin API) and keeps its port across
deploys, so `POST /flows` can replace the flows that registered the routes.
aiohttp freezes its router once the app runs, and routes come and go with
the flows, so the app has one catch-all route and the table here dispatches:
built-in endpoints by exact path, node routes by Express-style patterns
(`/users/:id`, `*`) in the order they were added, as Express does.

The settings (Node-RED's names: `uiPort`, `httpNodeRoot`, ...) are read
and checked by `_http_settings`, which `flowwire validate` uses too.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from ._errors import FlowError, FlowwireError, Problem
from ._http_settings import Cors, HttpConfig, read_config

if TYPE_CHECKING:
    from aiohttp import web
    from prometheus_client.registry import Collector

    from ._engine import Runtime
    from ._metrics import Metrics

log = logging.getLogger("flowwire.http")

#: What a node route's handler is given: the request and the path's `:params`; it returns the response.
RouteHandler = Callable[["web.Request", Mapping[str, str]], Awaitable["web.StreamResponse"]]
_Builtin = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


def _compile(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """An Express 4 path (`:name` segments, `:name?` optional, `*`) as a regex, case-insensitive, trailing slash optional."""
    names: list[str] = []
    out = []
    wildcard = 0
    for piece in re.split(r"(/:[A-Za-z_$][\w$]*\??|\*)", path):
        if piece == "*":
            names.append(str(wildcard))
            wildcard += 1
            out.append("(.*)")
        elif piece.startswith("/:"):
            optional = piece.endswith("?")
            names.append(piece[2:].rstrip("?"))
            out.append(r"(?:/([^/]+?))?" if optional else r"/([^/]+?)")
        else:
            out.append(re.escape(piece))
    body = "".join(out).rstrip("/") if path != "/" else ""
    return re.compile(f"^{body}/?$", re.IGNORECASE), tuple(names)


class Route:
    """A route a node added; give it back to `HttpServer.remove_route` when the node closes."""

    __slots__ = ("handler", "method", "names", "path", "pattern", "websocket")

    def __init__(self, method: str, path: str, handler: RouteHandler, websocket: bool) -> None:
        self.method = method
        self.path = path
        self.handler = handler
        self.websocket = websocket
        self.pattern, self.names = _compile(path)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {name: value for name, value in zip(self.names, found.groups(), strict=True) if value is not None}

    def __repr__(self) -> str:
        return f"<Route {self.method} {self.path}>"


class HttpServer:
    """The runtime's HTTP server as node families see it (through `Node.http`).

    Routes are added in a node's `start` and removed in its `close`; the
    server itself is started by the runtime once every node has started.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._owner = runtime
        self._config: HttpConfig | None = None
        self._routes: list[Route] = []
        self._builtins: dict[str, _Builtin] = {}
        self._prefixes: dict[str, _Builtin] = {}
        self._runner: web.AppRunner | None = None
        self._bound: str | None = None
        #: Requests answered by (method, status), for /metrics.
        self.requests: Counter[tuple[str, int]] = Counter()
        self.metrics: Metrics | None = None
        self.collectors: list[Collector] = []

    # -- what node families use ------------------------------------------------------------

    @property
    def config(self) -> HttpConfig:
        """The server's settings, read on first use (raises FlowError naming the bad `settings.` field)."""
        if self._config is None:
            files = self._owner.graph.files
            self._config = read_config(self._owner.settings, self._owner.base_dir, files[-1] if files else None)
        return self._config

    @property
    def max_body(self) -> int:
        """`apiMaxLength` in bytes: larger request bodies are answered 413 before any flow runs."""
        return self.config.max_body

    @property
    def response_timeout(self) -> float:
        """`httpResponseTimeout` in seconds: a request not answered by then gets a 504."""
        return self.config.response_timeout

    @property
    def url(self) -> str | None:
        """The base URL the server listens on (with the real port when `uiPort` is 0); None until started."""
        return self._bound

    def add_route(self, method: str, path: str, handler: RouteHandler) -> Route:
        """Serve `method` (lower case, or "all") requests for an Express-style path under `httpNodeRoot`."""
        return self._add(method.lower(), path, handler, websocket=False)

    def add_websocket(self, path: str, handler: RouteHandler) -> Route:
        """Hand websocket upgrades for `path` (under `httpNodeRoot`) to `handler`, which owns the socket."""
        return self._add("get", path, handler, websocket=True)

    def remove_route(self, route: Route) -> None:
        if route in self._routes:
            self._routes.remove(route)

    def add_collector(self, collector: Collector) -> None:
        """Publish a family's own metrics on /metrics: a prometheus_client collector (its `collect()` runs at scrape time).

        Remove it in the node's `close`. Nothing is published when `metrics` is off. Several
        collectors may yield families of the same name (one per config node, say): their
        samples are merged into one family, so their label values must differ.
        """
        self.collectors.append(collector)

    def remove_collector(self, collector: Collector) -> None:
        if collector in self.collectors:
            self.collectors.remove(collector)

    def _add(self, method: str, path: str, handler: RouteHandler, websocket: bool) -> Route:
        root = self.config.node_root
        if root is None:
            raise FlowwireError("HTTP node routes are disabled (settings.httpNodeRoot is false)")
        route = Route(method, root.rstrip("/") + "/" + path.lstrip("/"), handler, websocket)
        clash = next((r for r in self._routes if r.path.lower() == route.path.lower() and r.method in (method, "all") and r.websocket == websocket), None)
        if clash is not None:
            log.warning("%s %s is served twice; the route added first answers", method.upper(), route.path)
        self._routes.append(route)
        return route

    # -- what the runtime uses ---------------------------------------------------------------

    def add_builtin(self, path: str, handler: _Builtin) -> None:
        """An endpoint of the runtime itself (health, metrics, admin): exact path, any method, before node routes."""
        self._builtins[path] = handler

    def add_prefix(self, prefix: str, handler: _Builtin) -> None:
        """A runtime endpoint serving every path under `prefix` (admin `/inject/{id}`, `/context/...`)."""
        self._prefixes[prefix] = handler

    @property
    def needed(self) -> bool:
        config = self.config
        return bool(self._routes) or config.metrics or config.health or config.admin_token is not None

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        from aiohttp import web  # here, not at import: a flow without HTTP never loads aiohttp's server

        config = self.config
        app = web.Application(client_max_size=config.max_body)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port, ssl_context=config.ssl)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise FlowError([Problem(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", field="settings.uiPort")]) from None
        self._runner = runner
        port = runner.addresses[0][1] if runner.addresses else config.port
        host = "127.0.0.1" if config.host in ("0.0.0.0", "", "::") else config.host
        self._bound = f"{'https' if config.ssl else 'http'}://{host}:{port}"
        log.info("HTTP server listening on %s (node routes under %s)", self._bound, config.node_root or "nowhere: httpNodeRoot is false")

    async def stop(self) -> None:
        if self.metrics is not None:
            self.metrics.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._bound = None

    def reload(self) -> None:
        """Read the settings again (a deploy): node routes follow at once; the address and the runtime's endpoints at a restart."""
        old = self._config
        self._config = None
        new = self.config
        if old is not None and self.running and (old.host, old.port, old.ssl is None, old.metrics, old.admin_token, old.admin_root) != (
            new.host, new.port, new.ssl is None, new.metrics, new.admin_token, new.admin_root
        ):
            log.warning("changes to uiHost, uiPort, https, metrics, httpAdminRoot and the admin token take effect at the next restart")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        response = await self._answer(request)
        self.requests[(request.method, response.status)] += 1
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        path = request.path
        builtin = self._builtins.get(path.rstrip("/") or "/") or self._builtins.get(path)
        if builtin is None:
            builtin = next((h for prefix, h in self._prefixes.items() if path.startswith(prefix)), None)
        if builtin is not None:
            return await builtin(request)
        config = self.config
        cors = config.cors
        method = request.method.lower()
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if cors is not None and method == "options" and "Access-Control-Request-Method" in request.headers:
            return web.Response(status=204, headers=_cors_headers(cors, request, preflight=True))
        allowed = False
        for route in self._routes:
            params = route.match(path)
            if params is None:
                continue
            if route.websocket != upgrade:
                continue
            if route.method not in (method, "all") and not (method == "head" and route.method == "get"):
                allowed = True
                continue
            response = await route.handler(request, params)
            if cors is not None and not route.websocket:
                response.headers.update(_cors_headers(cors, request, preflight=False))
            return response
        if allowed:
            return web.Response(status=405, text=f"Cannot {request.method} {path}\n")
        return web.Response(status=404, text=f"Cannot {request.method} {path}\n")


def _cors_headers(cors: Cors, request: web.Request, preflight: bool) -> dict[str, str]:
    origin = cors.origin
    if origin != "*" and "," in origin:
        asked = request.headers.get("Origin", "")
        origin = asked if asked in [o.strip() for o in origin.split(",")] else ""
    headers = {"Access-Control-Allow-Origin": origin} if origin else {}
    if cors.credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if preflight:
        headers["Access-Control-Allow-Methods"] = cors.methods
        asked_headers = request.headers.get("Access-Control-Request-Headers")
        if cors.headers or asked_headers:
            headers["Access-Control-Allow-Headers"] = cors.headers or asked_headers or ""
    return headers
