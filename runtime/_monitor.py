"""Health probes and Prometheus metrics on the runtime's HTTP server (docs/http.md).

`/health/live` answers 200 while the event loop turns; `/health/ready` 200
only when every node is ready (config nodes connected, sources started) and
the runtime is not draining for shutdown or a deploy, else 503, so
Kubernetes stops routing to a pod that is going away.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ._engine import Runtime


def _base(runtime: Runtime) -> str:
    root = runtime.http.config.admin_root or "/"
    return root.rstrip("/")


def install(runtime: Runtime) -> None:
    base = _base(runtime)

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(request: web.Request) -> web.Response:
        if runtime.ready:
            return web.json_response({"status": "ready"})
        waiting = sorted(f"{n.type}:{n.id}" for n in runtime.nodes.values() if not n.ready)
        state = "draining" if runtime.draining else "not ready"
        return web.Response(status=503, text=json.dumps({"status": state, "waiting": waiting}), content_type="application/json")

    runtime.http.add_builtin(f"{base}/health/live", live)
    runtime.http.add_builtin(f"{base}/health/ready", ready)
