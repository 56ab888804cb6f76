"""One shared `AsyncOpenAI` client per config node.

Why shared: the SDK client owns the connection pool, so one client per
config node means keep-alive connections are reused by every node and
message (the Node-RED node builds a client per call and opens a TCP
connection per request). Connections are bounded (`max_connections`,
at most 100 by default) and so are concurrent requests (`slot()`).

Why aiohttp by default: the SDK's `DefaultAioHttpClient` transport is
measurably cheaper per call than its default httpx transport (see
bench/openai); `transport: httpx` switches back.

Keys sent somewhere else than `Authorization: Bearer` (gateways): the raw
key goes into the named header, or into the query string, and the bearer
header is suppressed with `openai.Omit()` *per request* (`request_options`):
SDK 3.57 drops an `Omit` given in `default_headers` before its auth check
and then refuses the request ("Could not resolve authentication method").
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
import openai

_PER_KEY_CLIENTS = 16  # per-message keys: how many derived clients to keep
_NO_KEY = "flowwire-no-key"


@dataclass(frozen=True)
class ClientSettings:
    """Everything that shapes the client, except the key."""

    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    key_name: str = "Authorization"
    key_in_query: bool = False
    timeout: float | None = None
    max_retries: int = 2
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may carry a gateway's key
    max_connections: int = 100
    max_concurrent: int = 100
    transport: Literal["aiohttp", "httpx"] = "aiohttp"


def auth_options(key: str, key_name: str, key_in_query: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Default headers and query that carry `key` the way the gateway wants it."""
    name = (key_name or "").strip() or "Authorization"
    if key_in_query:
        return {}, {name: key}
    if name.lower() != "authorization":
        return {name: key}, {}
    return {}, {}


def bearer_suppressed(settings: ClientSettings) -> bool:
    return settings.key_in_query or (settings.key_name or "").strip().lower() not in ("", "authorization")


def _quiet_transport_log() -> None:
    """httpx2 logs one INFO line per request: at the runtime's default level that floods the log
    at any real rate (the SDK has its own DEBUG lines). Only when nobody chose a level for it."""
    transport_log = logging.getLogger("httpx2")
    if transport_log.level == logging.NOTSET:
        transport_log.setLevel(logging.WARNING)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle costs ~85 ms per client otherwise."""
    return httpx2.create_ssl_context()


def _http_client(settings: ClientSettings) -> httpx2.AsyncClient:
    _quiet_transport_log()
    limits = httpx2.Limits(max_connections=settings.max_connections,
                           max_keepalive_connections=settings.max_connections)
    if settings.transport == "httpx":
        return openai.DefaultAsyncHttpxClient(limits=limits, verify=_tls())
    return openai.DefaultAioHttpClient(limits=limits, verify=_tls())


class SharedClient:
    """The client of one config node, plus derived clients for per-message keys."""

    def __init__(self, settings: ClientSettings, key: str | None) -> None:
        self.settings = settings
        self.key = key
        headers, query = auth_options(key or "", settings.key_name, settings.key_in_query)
        kwargs: dict[str, Any] = {}
        if settings.timeout is not None:
            kwargs["timeout"] = settings.timeout
        self.client = openai.AsyncOpenAI(
            # Never None: the SDK would silently fall back to $OPENAI_API_KEY when the flow chose
            # another source. Without a key (per-message keys, or a missing one, reported per
            # message by the config node) a placeholder stands in; requests never use it.
            api_key=key or _NO_KEY,
            base_url=settings.base_url or None,
            organization=settings.organization or None,
            project=settings.project or None,
            max_retries=settings.max_retries,
            default_headers={**settings.headers, **headers},
            default_query=query or None,
            http_client=_http_client(settings),
            **kwargs,
        )
        self._per_key: OrderedDict[str, openai.AsyncOpenAI] = OrderedDict()
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        #: Keyword arguments added to every SDK call made with this client.
        self.request_options: dict[str, Any] = (
            {"extra_headers": {"Authorization": openai.Omit()}} if bearer_suppressed(settings) else {})

    def for_key(self, key: str) -> openai.AsyncOpenAI:
        """The shared client, or a copy using another key over the same connection pool."""
        if key == self.key:
            return self.client
        derived = self._per_key.get(key)
        if derived is None:
            headers, query = auth_options(key, self.settings.key_name, self.settings.key_in_query)
            derived = self.client.with_options(api_key=key, default_headers=headers or None,
                                               default_query=query or None)
            self._per_key[key] = derived
            if len(self._per_key) > _PER_KEY_CLIENTS:
                self._per_key.popitem(last=False)
        else:
            self._per_key.move_to_end(key)
        return derived

    def slot(self) -> asyncio.Semaphore:
        """Held around every request: the cap on concurrent requests for this config node."""
        return self._slots

    async def close(self) -> None:
        await self.client.close()
