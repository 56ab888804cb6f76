"""Starting the emulator: `serve()` for tests and embedding, `main()` for the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields

from aiohttp import web

from ._app import DEMO_ASSISTANT_ID, Emulator, EmulatorConfig, build_app, emulator_of

log = logging.getLogger("flowwire.openai.emulator")


@dataclass
class RunningEmulator:
    """A listening emulator. `base_url` is what an OpenAI client wants (`http://host:port/v1`)."""

    host: str
    port: int
    emulator: Emulator
    runner: web.AppRunner

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None) -> RunningEmulator:
    """Start listening and return at once (port 0 picks a free port); call `close()` when done."""
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096, reuse_address=True)
    await site.start()
    server = site._server  # the bound socket is the only reliable source of the chosen port
    bound_port = server.sockets[0].getsockname()[1] if server is not None and server.sockets else port
    return RunningEmulator(host, bound_port, emulator_of(app), runner)


@contextlib.asynccontextmanager
async def serve(host: str = "127.0.0.1", port: int = 0, **options: object) -> AsyncIterator[RunningEmulator]:
    """`async with serve(port=0, api_key="sk-test") as emu:` — options are `EmulatorConfig` fields."""
    running = await start(host, port, EmulatorConfig(**options))  # type: ignore[arg-type]
    try:
        yield running
    finally:
        await running.close()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowwire emulate openai",
                                description="Offline OpenAI API emulator (every operation of OpenAI's OpenAPI "
                                            "document; the Assistants API simulated).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed on start)")
    p.add_argument("--api-key", default=os.environ.get("FLOWWIRE_EMULATOR_KEY"),
                   help="require this key (default: $FLOWWIRE_EMULATOR_KEY, else accept any)")
    p.add_argument("--auth-header", help="also accept the raw key in this header")
    p.add_argument("--auth-query", help="also accept the key in this query parameter")
    p.add_argument("--delay-ms", type=float, default=0.0, help="answer every request after this delay")
    p.add_argument("--run-latency-ms", type=float, default=0.0, help="how long a run stays queued")
    p.add_argument("--no-demo", action="store_true", help=f"do not pre-create the {DEMO_ASSISTANT_ID} assistant")
    return p


async def run(port: int = 8765, host: str = "127.0.0.1", **options: object) -> None:
    """Serve until SIGINT/SIGTERM; what `flowwire emulate openai` calls."""
    running = await start(host, port, EmulatorConfig(**options))  # type: ignore[arg-type]
    print(f"OpenAI emulator (offline) listening on {running.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await running.close()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: `python -m nodes.openai.emulator --port N` / `flowwire emulate openai --port N`."""
    a = _parser().parse_args(argv)
    known = {f.name for f in fields(EmulatorConfig)}
    options = {
        "api_key": a.api_key, "auth_header": a.auth_header, "auth_query": a.auth_query,
        "response_delay": a.delay_ms / 1000, "run_latency": a.run_latency_ms / 1000, "demo": not a.no_demo,
    }
    assert set(options) <= known
    asyncio.run(run(a.port, a.host, **options))
    return 0
