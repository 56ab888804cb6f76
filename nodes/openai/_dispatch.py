"""Calling the SDK for a method-table row: plain calls, pages, polling and streams.

Results become plain JSON data here, so nothing downstream ever holds an SDK
object. Plain calls go through the SDK's `with_raw_response` and take the
response's JSON as it came: the API object itself (unknown fields included),
without building SDK models only to dump them again — that build and dump
were about an eighth of the CPU per call (bench/openai). Pages, polls and
streams keep the SDK's models (cursors, poll helper, SSE events) and are
dumped with `model_dump(mode="json", by_alias=True)`: the API's field names.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ._methods import Method
from ._params import deprecation

if TYPE_CHECKING:
    import openai

log = logging.getLogger("flowwire.nodes.openai")

#: The SDK's helper `wait` uses; it stops at a terminal state or requires_action.
POLL_PATH = ("beta", "threads", "runs", "poll")
WAIT_STOPS = frozenset({"requires_action", "cancelled", "completed", "failed", "expired", "incomplete"})

_noted: set[str] = set()


def _note_deprecation(method: Method) -> None:
    """The SDK warns on every call of a deprecated method; say it once per method instead."""
    if method.name in _noted:
        return
    _noted.add(method.name)
    if text := deprecation(method):
        log.warning("OpenAI SDK: %s: %s (logged once per method)", method.name, text)
        # Exactly this text, so other DeprecationWarnings still show.
        warnings.filterwarnings("ignore", message=re.escape(text) + r"\Z", category=DeprecationWarning)


def plain(value: Any) -> Any:
    """SDK models → JSON-compatible data with the API's field names."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def sdk_callable(client: openai.AsyncOpenAI, path: tuple[str, ...]) -> Any:
    target: Any = client
    for part in path:
        target = getattr(target, part)
    return target


@dataclass
class Outcome:
    payload: Any
    meta: dict[str, Any] = field(default_factory=dict)


async def call(
    client: openai.AsyncOpenAI,
    method: Method,
    kwargs: dict[str, Any],
    *,
    wait: bool = False,
    poll_interval_ms: int | None = None,
    fetch_all: bool = False,
    options: dict[str, Any] | None = None,
) -> Outcome:
    """One non-streaming call; `kwargs` are validated payload properties (ids included),
    `options` request options for every SDK call made (e.g. `extra_headers`)."""
    _note_deprecation(method)
    options = options or {}
    if method.paginated:
        return await _list(sdk_callable(client, method.sdk_path), method, {**kwargs, **options}, fetch_all)
    *owner, name = method.sdk_path
    raw = await sdk_callable(client, (*owner, "with_raw_response", name))(**kwargs, **options)
    result = raw.http_response.json()
    meta: dict[str, Any] = {"method": method.name, "request_id": raw.request_id}
    if wait and method.returns_run and result.get("status") not in WAIT_STOPS:
        poll = sdk_callable(client, POLL_PATH)
        extra = {"poll_interval_ms": poll_interval_ms} if poll_interval_ms else {}
        result = plain(await poll(result["id"], thread_id=result["thread_id"], **extra, **options))
        meta["polled"] = True
    return Outcome(result, meta)


async def _list(fn: Any, method: Method, kwargs: dict[str, Any], fetch_all: bool) -> Outcome:
    page = await fn(**kwargs)
    meta: dict[str, Any] = {"method": method.name, "request_id": getattr(page, "_request_id", None)}
    if fetch_all:
        items = [plain(item) async for item in page]  # the SDK follows `after=last_id` while has_more
        meta.update(has_more=False, first_id=items[0]["id"] if items else None,
                    last_id=items[-1]["id"] if items else None, pages_fetched_all=True)
        return Outcome(items, meta)
    items = [plain(item) for item in page.data]
    meta.update(
        has_more=bool(page.has_more),
        first_id=getattr(page, "first_id", None) or (items[0]["id"] if items else None),
        last_id=getattr(page, "last_id", None) or (items[-1]["id"] if items else None),
    )
    return Outcome(items, meta)


async def stream(client: openai.AsyncOpenAI, method: Method, kwargs: dict[str, Any],
                 options: dict[str, Any] | None = None) -> AsyncIterator[tuple[str, Any]]:
    """Yield `(event name, data)` per server-sent event, then `("done", last run seen)`."""
    _note_deprecation(method)
    fn = sdk_callable(client, method.sdk_path)
    events = await fn(**{**kwargs, "stream": True}, **(options or {}))
    last_run: Any = None
    async with events:
        async for event in events:
            data = plain(event.data)
            if isinstance(data, dict) and data.get("object") == "thread.run":
                last_run = data
            yield event.event, data
    yield "done", last_run
