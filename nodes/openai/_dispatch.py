"""Calling the SDK for a method-table row: plain calls, pages, polling and streams.

Results become plain JSON data here, so nothing downstream ever holds an SDK
object. Plain calls go through the SDK's `with_raw_response` and take the
response's JSON as it came: the API object itself (unknown fields included),
without building SDK models only to dump them again — that build and dump
were about an eighth of the CPU per call (bench/openai). Pages, polls and
streams keep the SDK's models (cursors, poll helper, SSE events) and are
dumped with `model_dump(mode="json", by_alias=True, exclude_unset=True)`:
the API's field names, and only the fields it sent.
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
from ._params import deprecation, traits

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
    if isinstance(value, BaseModel):  # only what the API sent: no None for fields it left out
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
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
    kind = traits(method)
    options = (options or {}) if kind.options else {}
    fn = sdk_callable(client, method.sdk_path)
    if kind.paginated:
        return await _list(fn, method, {**kwargs, **options}, fetch_all)
    if kind.local:  # e.g. webhook signatures: computed here, nothing is sent
        result = fn(**kwargs)
        return Outcome(_nothing(method, kwargs) if result is None else plain(result),
                       {"method": method.name, "request_id": None})
    if not kind.raw:  # SDK helpers (upload and poll, ...): several requests, one SDK object at the end
        result = await fn(**kwargs, **options)
        return Outcome(plain(result), {"method": method.name, "request_id": getattr(result, "_request_id", None)})
    *owner, name = method.sdk_path
    raw = await sdk_callable(client, (*owner, "with_raw_response", name))(**kwargs, **options)
    meta: dict[str, Any] = {"method": method.name, "request_id": raw.request_id}
    result = _body(raw.http_response, method, kwargs, kind.binary, kind.returns_none, meta)
    if wait and method.returns_run and result.get("status") not in WAIT_STOPS:
        poll = sdk_callable(client, POLL_PATH)
        extra = {"poll_interval_ms": poll_interval_ms} if poll_interval_ms else {}
        result = plain(await poll(result["id"], thread_id=result["thread_id"], **extra, **options))
        meta["polled"] = True
    return Outcome(result, meta)


def _nothing(method: Method, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The payload for an answer without a body: the ids it was about plus the row's `none_result`."""
    ids = {name: kwargs[name] for name in method.ids if name in kwargs}
    if "deleted" in method.none_result and method.ids:
        ids = {"id": kwargs[method.ids[-1]], **ids}
    return {**ids, **method.none_result}


def _body(response: Any, method: Method, kwargs: dict[str, Any], binary: bool, returns_none: bool,
          meta: dict[str, Any]) -> Any:
    """The answer as a flow wants it: JSON data, text (e.g. a transcript as `text`/`srt`), or bytes."""
    content_type = response.headers.get("content-type", "")
    if binary:
        meta["content_type"] = content_type
        return response.content
    if returns_none or not response.content:
        return _nothing(method, kwargs)
    if "json" in content_type:
        return response.json()
    if content_type.startswith("text/"):
        return response.text
    meta["content_type"] = content_type
    return response.content


async def _list(fn: Any, method: Method, kwargs: dict[str, Any], fetch_all: bool) -> Outcome:
    page = await fn(**kwargs)
    meta: dict[str, Any] = {"method": method.name, "request_id": getattr(page, "_request_id", None)}
    if fetch_all:
        items = [plain(item) async for item in page]  # the SDK follows the cursors while there are more
        meta.update(has_more=False, first_id=_item_id(items[0]) if items else None,
                    last_id=_item_id(items[-1]) if items else None, pages_fetched_all=True)
        return Outcome(items, meta)
    items = [plain(item) for item in page.data]
    meta.update(
        has_more=bool(getattr(page, "has_more", False)),
        first_id=getattr(page, "first_id", None) or (_item_id(items[0]) if items else None),
        last_id=getattr(page, "last_id", None) or (_item_id(items[-1]) if items else None),
    )
    return Outcome(items, meta)


def _item_id(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None


class _Final:
    """What the `done` msg of a stream carries: the object the events built.

    Runs: the run as the stream left it; responses: the final response (the
    `response` of the last event that had one); chat completions: the whole
    completion, assembled from the chunks by the SDK's own accumulator;
    anything else: the last event's data.
    """

    def __init__(self) -> None:
        self.value: Any = None
        self._chat: Any = None

    def see(self, data: Any) -> None:
        kind = data.get("object") if isinstance(data, dict) else None
        if kind == "chat.completion.chunk":
            from openai.lib.streaming.chat import ChatCompletionStreamState
            from openai.types.chat import ChatCompletionChunk

            if self._chat is None:
                self._chat = ChatCompletionStreamState()
            self._chat.handle_chunk(ChatCompletionChunk.model_validate(data))
        elif kind == "thread.run":
            self.value = data
        elif isinstance(data, dict) and isinstance(data.get("response"), dict):
            self.value = data["response"]
        elif not str(kind or "").startswith("thread."):
            self.value = data

    def result(self) -> Any:
        if self._chat is not None:
            return plain(self._chat.get_final_completion())
        return self.value


async def stream(client: openai.AsyncOpenAI, method: Method, kwargs: dict[str, Any],
                 options: dict[str, Any] | None = None) -> AsyncIterator[tuple[str, Any]]:
    """Yield `(event name, data)` per server-sent event, then `("done", what the stream built)`."""
    _note_deprecation(method)
    fn = sdk_callable(client, method.sdk_path)
    events = await fn(**{**kwargs, "stream": True}, **(options or {}))
    final = _Final()
    async with events:
        async for name, data in _events(events):
            final.see(data)
            yield name, data
    yield "done", final.result()


async def _events(events: Any) -> AsyncIterator[tuple[str, Any]]:
    """`(name, JSON data)` per event, read from the SDK stream's own SSE decoder.

    Why not iterate the SDK's stream: it builds a model per event, which the
    node would only dump back to the same JSON (the plain-call path skips that
    too, see the module docstring); for streams of many small events that
    round trip was the node's largest cost over the bare SDK (bench/openai/
    bursts.py). Errors are raised as the SDK raises them (an `error` in the
    data is an `APIError`); `[DONE]` ends nothing early, so the body is read
    to its end and the connection goes back to the pool.
    """
    import openai

    async for sse in events._iter_events():
        if sse.data.startswith("[DONE]"):
            continue
        data = sse.json()
        if isinstance(data, dict) and data.get("error"):
            error = data["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(message if isinstance(message, str) and message else
                                  "An error occurred during streaming", request=events.response.request, body=error)
        name = sse.event or (data.get("type") or data.get("object") if isinstance(data, dict) else None) or "message"
        yield name, data
