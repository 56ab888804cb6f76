"""Health probes on the runtime's HTTP server, and /metrics when the `metrics` setting is on (docs/http.md).

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


def install(runtime: Runtime) -> None:
    base = (runtime.http.config.admin_root or "/").rstrip("/")

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
    if runtime.http.config.metrics:
        from ._metrics import CONTENT_TYPE_LATEST, Metrics  # prometheus_client loads only when metrics are on

        metrics = runtime.http.metrics = Metrics(runtime)
        metrics.start()

        async def scrape(request: web.Request) -> web.Response:
            body = metrics.exposition()
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        runtime.http.add_builtin(f"{base}/metrics", scrape)
