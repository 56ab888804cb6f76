"""An offline emulator of the OpenAI API: every operation of OpenAI's OpenAPI document.

The Assistants API (assistants, threads, messages, runs and their steps) is
simulated by hand (`_store`, `_engine`: run states, tool calls, streams);
every other operation is answered from the document (`_spec`, `_synth`,
`_generic`: requests validated, answers built from the documented schema,
state kept by path shape), with the model, files, audio and search in
`_handlers`.

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
