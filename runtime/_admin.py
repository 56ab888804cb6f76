"""The admin API (docs/http.md): off unless a bearer token is configured.

Paths and shapes follow Node-RED's admin API where they overlap: `GET/POST
/flows` (v1: a bare node list; `Node-RED-API-Version: v2`: `{rev, flows}`),
`POST /inject/{id}`, `GET /nodes`, `GET /context/{global | flow/{id} |
node/{id}}[/{key}]`. The token comes from `FLOWWIRE_ADMIN_TOKEN` or the file
named by `adminTokenFile`; it is compared in constant time and never logged.

A deploy is validate-drain-replace: the posted document is checked exactly
as `flowwire validate` checks files; any problem answers 400 with the same
located list and leaves the running flows alone; otherwise the running flows
stop, drain and are replaced (`Runtime.deploy`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _registry
from ._document import COMMON_KEYS, Document, from_data
from ._errors import FlowError, FlowwireError, Problem
from ._validation import Graph, check_documents, check_files
from .secrets import scrub

if TYPE_CHECKING:
    from ._engine import Runtime

log = logging.getLogger("flowwire.admin")

#: Node-RED's placeholder for a credential the client did not change: the running value is kept.
UNCHANGED = "__PWRD__"
_SECRET = re.compile(r"(?i)(password|passphrase|secret|token|api_?key|credential)")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"code": code, "message": message, **extra}, status=status)


def _authorised(handler: _Handler, token: str) -> _Handler:
    expected = token.encode()

    async def checked(request: web.Request) -> web.StreamResponse:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            return web.json_response({"code": "unauthorized", "message": "a valid bearer token is required"}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="flowwire"'})
        return await handler(request)

    return checked


def running_document(runtime: Runtime) -> list[dict[str, Any]]:
    """The running flows as Node-RED's node list, credentials replaced by `__PWRD__`."""
    graph = runtime.graph
    specs = [*graph.tabs.values(), *(checked.spec for checked in graph.nodes.values())]
    nodes = []
    for spec in specs:
        node: dict[str, Any] = {"id": spec.id, "type": spec.type}
        if spec.name:
            node["name"] = spec.name
        if spec.z:
            node["z"] = spec.z
        if spec.g:
            node["g"] = spec.g
        for key, value in spec.raw.items():
            node[key] = UNCHANGED if _SECRET.search(key) and value not in ("", None) else value
        if spec.type != "tab":
            node["wires"] = spec.wires
        nodes.append(node)
    return nodes


def _revision(nodes: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(nodes, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _keep_credentials(items: list[Any], runtime: Runtime) -> None:
    """Put the running values back where a client posted `__PWRD__` (Node-RED's unchanged credential)."""
    running = {c.spec.id: c.spec.raw for c in runtime.graph.nodes.values()}
    for item in items:
        if isinstance(item, dict):
            for key, value in item.items():
                if value == UNCHANGED and key not in COMMON_KEYS:
                    item[key] = running.get(str(item.get("id")), {}).get(key, "")


def check_posted(body: Any, runtime: Runtime) -> Graph:
    """Validate a posted document like `flowwire validate` (raises FlowError); settings default to the running ones."""
    if isinstance(body, dict) and "flows" in body and "nodes" not in body:
        body = body["flows"]  # Node-RED v2: {rev, flows}
    items = body if isinstance(body, list) else body.get("nodes") if isinstance(body, dict) else None
    if isinstance(items, list):
        _keep_credentials(items, runtime)
    problems: list[Problem] = []
    document = from_data(body, "<POST /flows>", problems)
    if document is None or problems:
        raise FlowError(problems)
    if not (isinstance(body, dict) and "settings" in body):
        document = Document(path=document.path, nodes=document.nodes, settings=dict(runtime.graph.settings), modules=document.modules)
    for module in document.modules:
        try:
            _registry.load_module(module, runtime.base_dir)
        except FlowwireError as exc:
            problems.append(Problem(str(exc), file=document.path, field="modules"))
        except Exception as exc:
            problems.append(Problem(f"custom node module {module!r} failed to import: {type(exc).__name__}: {exc}", file=document.path, field="modules"))
    graph = check_documents([document], None, problems, base_dir=runtime.base_dir)
    graph.files = list(runtime.graph.files)
    return graph


def _context_values(runtime: Runtime, scope: str, key: str | None) -> dict[str, Any]:
    contexts = runtime.contexts
    result: dict[str, Any] = {}
    for name in dict.fromkeys(contexts._stores):
        store = contexts._stores[name]
        if key is not None:
            value = store.get(scope, key)
            if value is not None:
                result[name] = value
        else:
            values = {k: store.get(scope, k) for k in store.keys(scope)}
            if values:
                result[name] = values
    return result


def install(runtime: Runtime) -> None:
    """Add the admin endpoints under `httpAdminRoot` when a token is configured."""
    config = runtime.http.config
    if config.admin_token is None or config.admin_root is None:
        return
    base = config.admin_root.rstrip("/")
    token = config.admin_token

    async def get_flows(request: web.Request) -> web.StreamResponse:
        if request.method != "GET":
            return await post_flows(request) if request.method == "POST" else _error(405, "method_not_allowed", "GET or POST")
        nodes = running_document(runtime)
        body: Any = {"rev": _revision(nodes), "flows": nodes} if request.headers.get("Node-RED-API-Version") == "v2" else nodes
        return web.Response(text=scrub(json.dumps(body, default=str)), content_type="application/json")

    async def post_flows(request: web.Request) -> web.StreamResponse:
        kind = request.headers.get("Node-RED-Deployment-Type", "full").lower()
        if kind == "reload":
            try:
                graph = check_files(runtime.graph.files)
            except FlowError as exc:
                return _problems(exc)
        else:
            if kind not in ("full", "flows", "nodes"):
                return _error(400, "invalid_request", f"unknown Node-RED-Deployment-Type {kind!r}")
            try:
                body = await request.json(loads=json.loads)
            except ValueError as exc:
                return _error(400, "invalid_json", f"the body is not JSON: {exc}")
            try:
                graph = check_posted(body, runtime)
            except FlowError as exc:
                return _problems(exc)
        try:
            await runtime.deploy(graph)
        except FlowError as exc:
            return _problems(exc, status=500, message="the new flows failed to start; the previous flows run again")
        except FlowwireError as exc:
            return _error(503, "unavailable", str(exc))
        log.info("flows deployed through the admin API (%s)", kind)
        nodes = running_document(runtime)
        if request.headers.get("Node-RED-API-Version") == "v2":
            return web.json_response({"rev": _revision(nodes)})
        return web.Response(status=204)

    async def inject(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return _error(405, "method_not_allowed", "POST")
        node_id = request.path.rsplit("/", 1)[-1]
        node = runtime.nodes.get(node_id)
        if node is None or node.type != "inject":
            return _error(404, "not_found", f"no inject node {node_id!r}")
        router = runtime._router
        token_ = router.token()
        router.enqueue(node._delivery, {}, token_)
        token_.release()
        return web.Response(text="OK")

    async def node_types(request: web.Request) -> web.StreamResponse:
        _registry.load_builtins()
        types = [
            {"type": name, "summary": cls.summary, "config": cls.is_config, "aliases": _registry.aliases_of(name),
             "properties": cls.Props.model_json_schema()}
            for name, cls in _registry.all_types().items() if not name.startswith("test-")
        ]
        return web.json_response(types)

    async def context(request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path[len(base) + len("/context"):].split("/") if p]
        if not parts or parts[0] not in ("global", "flow", "node") or (parts[0] != "global" and len(parts) < 2):
            return _error(404, "not_found", "GET /context/global[/key], /context/flow/{id}[/key] or /context/node/{id}[/key]")
        scope = "global" if parts[0] == "global" else f"{parts[0]}-{parts[1]}"
        rest = parts[1:] if parts[0] == "global" else parts[2:]
        key = "/".join(rest) or None
        return web.Response(text=scrub(json.dumps(_context_values(runtime, scope, key), default=str)), content_type="application/json")

    http = runtime.http
    http.add_builtin(f"{base}/flows", _authorised(get_flows, token))
    http.add_builtin(f"{base}/nodes", _authorised(node_types, token))
    http.add_prefix(f"{base}/inject/", _authorised(inject, token))
    http.add_prefix(f"{base}/context/", _authorised(context, token))


def _problems(exc: FlowError, status: int = 400, message: str | None = None) -> web.Response:
    lines = [str(p) for p in exc.problems]
    return _error(status, "invalid_flows", message or f"{len(lines)} problem(s) found; the running flows were not changed", problems=lines)
