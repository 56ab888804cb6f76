"""An offline, stateful emulator of the part of the OpenAI API the OpenAI nodes use.

It is a real HTTP server (aiohttp.web) so the official SDK, its transport,
retries, SSE parsing and pagination are exercised exactly as against the real
service: flows, tests and demos run without a network or an API key.

Entry points:
    async with serve(host, port, ...) as server: ...   # tests
    await start(host, port, config) ... close()        # embedding (openai-config `emulator`)
    main(argv)                                          # CLI: python -m nodes.openai.emulator --port N
"""

from __future__ import annotations

from ._app import DEMO_ASSISTANT_ID, EmulatorConfig, build_app
from ._server import RunningEmulator, main, serve, start

__all__ = ["DEMO_ASSISTANT_ID", "EmulatorConfig", "RunningEmulator", "build_app", "main", "serve", "start"]
