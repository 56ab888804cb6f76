"""The aiohttp application: routes, auth, request ids, errors, SSE.

(Over 500 lines: the Assistants-era routes (assistants, threads, messages,
runs) are hand-written here beside the route table that registers them,
because their run lifecycle is simulated step by step; a test fixture of
the project, not a library, so it is kept in one place to read.)

Routes follow the OpenAI REST paths under `/v1`. Every response carries an
`x-request-id` (the SDK exposes it as `request_id` on objects and errors) and
run responses an `openai-poll-after-ms` header, which the SDK's poll helpers
honour, so `wait` in tests polls every few milliseconds instead of every second.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from . import _checks as checks
from . import _spec
from ._engine import Event, RunEngine
from ._errors import ApiError, bad_request
from ._generic import Call, Resources, Upload, action_without_operation, check_request
from ._handlers import answer
from ._ids import IdFactory
from ._pagination import paginate
from ._store import JsonObj, Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEMO_ASSISTANT_ID = "asst_flowwire_demo"
DEMO_FUNCTION = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@dataclass
class EmulatorConfig:
    """How the emulator behaves; every field has a default fit for tests."""

    api_key: str | None = None          # when set, requests must present it
    auth_header: str | None = None      # also accept the raw key in this header (gateways)
    auth_query: str | None = None       # ... or in this query parameter
    response_delay: float = 0.0         # seconds before every answer (benchmarks)
    run_latency: float = 0.0            # seconds a non-streaming run stays queued
    run_expiry: float = 600.0           # seconds an active run lives before it expires
    poll_after_ms: int = 20             # hint for the SDK's poll helpers
    stream_delay: float = 0.0           # pause between SSE events
    seed: int = 0                       # id generator seed
    demo: bool = False                  # pre-create the demo assistant (DEMO_ASSISTANT_ID)
    record: int = 1000                  # how many requests to keep in `Emulator.requests`


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]  # case-insensitive, as HTTP headers are
    body: Any


@dataclass
class Emulator:
    """State shared by the handlers; tests reach it through `RunningEmulator.emulator`."""

    config: EmulatorConfig
    store: Store = field(init=False)
    engine: RunEngine = field(init=False)
    resources: Resources = field(init=False)  # everything outside the Assistants API
    requests: deque[RecordedRequest] = field(init=False)
    failures: deque[ApiError] = field(default_factory=deque)
    connections: set[Any] = field(default_factory=set)
    request_count: int = 0

    def __post_init__(self) -> None:
        self.store = Store(ids=IdFactory(self.config.seed))
        self.resources = Resources(ids=self.store.ids)
        self.engine = RunEngine(self.store, run_latency=self.config.run_latency, run_expiry=self.config.run_expiry)
        self.requests = deque(maxlen=self.config.record)
        if self.config.demo:
            self.store.create_assistant(
                {"model": "gpt-4o", "name": "flowwire demo", "instructions": "Answer briefly.",
                 "tools": [{"type": "function", "function": DEMO_FUNCTION}]},
                assistant_id=DEMO_ASSISTANT_ID,
            )

    def fail_next(self, status: int, message: str = "Rate limit reached.", *, count: int = 1,
                  retry_after: float | None = None, type: str | None = None, code: str | None = None) -> None:
        """Answer the next `count` requests with this error (exercises SDK retries and error paths)."""
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        kind = type or ("requests" if status == 429 else "server_error" if status >= 500 else "invalid_request_error")
        for _ in range(count):
            self.failures.append(ApiError(status, message, type=kind, code=code, headers=headers))


_KEY: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)
_MULTIPART: web.RequestKey[bool] = web.RequestKey("multipart", bool)
_REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
_BODY: web.RequestKey[Any] = web.RequestKey("json", object)


def _emu(request: web.Request) -> Emulator:
    return request.app[_KEY]


# -- middleware -------------------------------------------------------------------------------
def _error_response(err: ApiError, request_id: str) -> web.Response:
    return web.json_response(err.body(), status=err.status, headers={"x-request-id": request_id, **err.headers})


def _check_key(emu: Emulator, request: web.Request) -> None:
    expected = emu.config.api_key
    if not expected:
        return
    presented: list[str] = []
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        presented.append(auth[7:])
    if emu.config.auth_header and (value := request.headers.get(emu.config.auth_header)):
        presented.append(value)
    if emu.config.auth_query and (value := request.query.get(emu.config.auth_query)):
        presented.append(value)
    if not presented:
        raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    if not any(secrets.compare_digest(p, expected) for p in presented):
        # Never echo the presented key, not even partly: it may be a real secret.
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    emu = _emu(request)
    request_id = "req_" + secrets.token_hex(16)
    request[_REQUEST_ID] = request_id
    emu.request_count += 1
    if (peer := request.transport and request.transport.get_extra_info("peername")) is not None:
        emu.connections.add(peer)
    try:
        if emu.config.response_delay:
            await asyncio.sleep(emu.config.response_delay)
        body: Any = None
        request[_MULTIPART] = request.content_type == "multipart/form-data"
        if request[_MULTIPART]:
            body = await _form(request)
        elif request.can_read_body and request.content_type not in ("application/json", "application/octet-stream", ""):
            body = await request.read()  # e.g. application/sdp: the operation's own format
        elif request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise bad_request("We could not parse the JSON body of your request. (HINT: This likely means you "
                                  "aren't using your HTTP library correctly.)") from None
        request[_BODY] = body
        emu.requests.append(RecordedRequest(request.method, request.path, dict(request.query),
                                            CIMultiDict(request.headers), body))
        _check_key(emu, request)
        if emu.failures:
            raise emu.failures.popleft()
        response = await handler(request)
    except ApiError as err:
        return _error_response(err, request_id)
    except web.HTTPMethodNotAllowed:
        return _error_response(ApiError(405, f"Invalid method for URL ({request.method} {request.path})."), request_id)
    except web.HTTPNotFound:
        return _error_response(ApiError(404, f"Invalid URL ({request.method} {request.path})."), request_id)
    if not response.prepared:
        response.headers["x-request-id"] = request_id
    return response


async def _form(request: web.Request) -> dict[str, Any]:
    """A multipart body: text fields as strings, files as `Upload`s, repeated names (`files[]`) as lists."""
    form = await request.post()
    out: dict[str, Any] = {}
    for key in form:
        if key in out:
            continue
        values = [Upload(v.filename or key, v.content_type, v.file.read()) if isinstance(v, web.FileField) else v
                  for v in form.getall(key)]
        name = key.removesuffix("[]")
        out[name] = values if key.endswith("[]") or len(values) > 1 else values[0]
    return out


# -- every other operation of OpenAI's OpenAPI document -----------------------------------------------------
async def api(request: web.Request) -> web.StreamResponse:
    """Any `/v1/...` request the Assistants handlers above do not take: matched to the document's operation."""
    if not _spec.operations.cache_info().currsize:  # the first such request reads the document (~1-2 s)
        await asyncio.to_thread(_spec.operations)
    path = request.path.removeprefix("/v1")
    found = _spec.match(request.method, path)
    if found is not None:
        op, params = found
        call = Call(op, params, request.query, request[_BODY], request[_MULTIPART])
        check_request(call)
        result = answer(_emu(request).resources, call)
    elif (action := action_without_operation(_emu(request).resources, request.method, path)) is not None:
        result = action
    else:
        raise ApiError(404, f"Invalid URL ({request.method} {request.path}).")
    headers = {"x-request-id": request[_REQUEST_ID]}
    if result.events is not None:
        return await _sse(request, result.events, result.done_marker)
    if result.empty:
        return web.Response(status=200, headers=headers)
    if result.raw is not None:
        return web.Response(body=result.raw, headers={**headers, "Content-Type": result.content_type})
    return web.json_response(copy.deepcopy(result.body), headers=headers)


async def responses_socket(request: web.Request) -> web.StreamResponse:
    """`wss://.../v1/responses`: each `response.create` client event is answered with the response's events."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return await api(request)
    if not _spec.operations.cache_info().currsize:
        await asyncio.to_thread(_spec.operations)
    create = _spec.find("post", "/responses")
    assert create is not None
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            event = json.loads(message.data)
            if not isinstance(event, dict) or event.get("type") != "response.create":
                raise bad_request("Expected a client event of type 'response.create'.", param="type",
                                  code="invalid_value")
            body = {**(event.get("response") or {}), **{k: v for k, v in event.items() if k not in ("type", "response")}}
            call = Call(create, {}, {}, {**body, "stream": True}, False)
            check_request(call)
            result = answer(_emu(request).resources, call)
        except ValueError:
            result, failure = None, ApiError(400, "The message is not JSON.", code="invalid_json")
        except ApiError as err:
            result, failure = None, err
        if result is None:
            await ws.send_json({"type": "error", "code": failure.code, "message": failure.message,
                                "param": failure.param, "sequence_number": 0})
            continue
        for _, data in result.events or []:
            await ws.send_str(json.dumps(data))
    return ws


async def _sse(request: web.Request, events: list[tuple[str | None, Any]], done_marker: bool) -> web.StreamResponse:
    emu = _emu(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache", "x-request-id": request[_REQUEST_ID]})
    await response.prepare(request)
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        await response.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        if emu.config.stream_delay:
            await asyncio.sleep(emu.config.stream_delay)
    if done_marker:
        await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


# -- helpers ------------------------------------------------------------------------------------
def _json(request: web.Request, obj: Any, *, poll: bool = False) -> web.Response:
    headers = {"x-request-id": request[_REQUEST_ID]}
    if poll:
        headers["openai-poll-after-ms"] = str(_emu(request).config.poll_after_ms)
    return web.json_response(copy.deepcopy(obj), headers=headers)


def _body(request: web.Request) -> JsonObj:
    body = request[_BODY]
    return {} if body is None else body


def _deleted(object_id: str, kind: str) -> JsonObj:
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}


async def _stream(request: web.Request, head: list[Event], events: Iterator[Event]) -> web.StreamResponse:
    """Write events as SSE, then the `done` event with `[DONE]`, as the Assistants API does."""
    emu = _emu(request)
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        "x-request-id": request[_REQUEST_ID],
    })
    await response.prepare(request)

    async def send(name: str, data: str) -> None:
        await response.write(f"event: {name}\ndata: {data}\n\n".encode())
        if emu.config.stream_delay:
            await asyncio.sleep(emu.config.stream_delay)

    for name, data in head:
        await send(name, json.dumps(data))
    for name, data in events:
        await send(name, json.dumps(data))
    await send("done", "[DONE]")
    await response.write_eof()
    return response


# -- assistants -----------------------------------------------------------------------------------
async def create_assistant(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.ASSISTANT_FIELDS, ("model",))
    return _json(request, _emu(request).store.create_assistant(body))


async def list_assistants(request: web.Request) -> web.StreamResponse:
    return _json(request, paginate(list(_emu(request).store.assistants.values()), request.query))


async def get_assistant(request: web.Request) -> web.StreamResponse:
    return _json(request, _emu(request).store.assistant(request.match_info["assistant_id"]))


async def modify_assistant(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.ASSISTANT_FIELDS)
    assistant = _emu(request).store.assistant(request.match_info["assistant_id"])
    assistant.update(copy.deepcopy(body))
    return _json(request, assistant)


async def delete_assistant(request: web.Request) -> web.StreamResponse:
    store, assistant_id = _emu(request).store, request.match_info["assistant_id"]
    store.assistant(assistant_id)
    del store.assistants[assistant_id]
    return _json(request, _deleted(assistant_id, "assistant"))


# -- threads & messages ---------------------------------------------------------------------------
def _thread_body(body: JsonObj, param: str = "messages") -> JsonObj:
    checks.check_body(body, checks.THREAD_FIELDS)
    checks.check_messages(body.get("messages") or [], param)
    return body


async def create_thread(request: web.Request) -> web.StreamResponse:
    return _json(request, _emu(request).store.create_thread(_thread_body(_body(request))))


async def get_thread(request: web.Request) -> web.StreamResponse:
    return _json(request, _emu(request).store.thread(request.match_info["thread_id"]))


async def modify_thread(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), {"metadata": "object?", "tool_resources": "object?"})
    thread = _emu(request).store.thread(request.match_info["thread_id"])
    thread.update({k: copy.deepcopy(v) if v is not None else {} for k, v in body.items()})
    return _json(request, thread)


async def delete_thread(request: web.Request) -> web.StreamResponse:
    thread_id = request.match_info["thread_id"]
    _emu(request).store.delete_thread(thread_id)
    return _json(request, _deleted(thread_id, "thread"))


async def create_message(request: web.Request) -> web.StreamResponse:
    body = _body(request)
    checks.check_messages([body], "message")
    thread_id = request.match_info["thread_id"]
    store = _emu(request).store
    if active := store.active_run(thread_id):
        raise bad_request(f"Can't add messages to {thread_id} while a run {active.obj['id']} is active.")
    return _json(request, store.add_message(thread_id, body))


async def list_messages(request: web.Request) -> web.StreamResponse:
    store, thread_id = _emu(request).store, request.match_info["thread_id"]
    store.thread(thread_id)
    items = list(store.messages[thread_id].values())
    if run_id := request.query.get("run_id"):
        items = [m for m in items if m["run_id"] == run_id]
    return _json(request, paginate(items, request.query))


async def get_message(request: web.Request) -> web.StreamResponse:
    m = request.match_info
    return _json(request, _emu(request).store.message(m["thread_id"], m["message_id"]))


async def modify_message(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.METADATA_ONLY)
    m = request.match_info
    message = _emu(request).store.message(m["thread_id"], m["message_id"])
    message["metadata"] = dict(body.get("metadata") or {})
    return _json(request, message)


async def delete_message(request: web.Request) -> web.StreamResponse:
    m = request.match_info
    store = _emu(request).store
    store.message(m["thread_id"], m["message_id"])
    del store.messages[m["thread_id"]][m["message_id"]]
    return _json(request, _deleted(m["message_id"], "thread.message"))


# -- runs -------------------------------------------------------------------------------------------
def _check_include(request: web.Request) -> None:
    allowed = "step_details.tool_calls[*].file_search.results[*].content"
    for value in request.query.getall("include[]", []):
        if value != allowed:
            raise bad_request(f"Invalid value: '{value}'. Supported values are: '{allowed}'.",
                              param="include", code="invalid_value")


async def _start(request: web.Request, state_head: list[Event], state: Any, stream: bool) -> web.StreamResponse:
    engine = _emu(request).engine
    head = state_head + [("thread.run.created", copy.deepcopy(state.obj)),
                         ("thread.run.queued", copy.deepcopy(state.obj))]
    if stream:
        return await _stream(request, head, engine.execute(state))
    snapshot = copy.deepcopy(state.obj)
    engine.schedule(state, engine.execute(state))
    return _json(request, snapshot, poll=True)


async def create_run(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.CREATE_RUN_FIELDS, ("assistant_id",))
    checks.check_messages(body.get("additional_messages") or [], "additional_messages")
    _check_include(request)
    state = _emu(request).engine.create_run(request.match_info["thread_id"], body)
    return await _start(request, [], state, bool(body.get("stream")))


async def create_thread_and_run(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.CREATE_THREAD_AND_RUN_FIELDS, ("assistant_id",))
    emu = _emu(request)
    emu.store.assistant(body["assistant_id"])  # 404 before a thread is created
    thread = emu.store.create_thread(_thread_body(dict(body.get("thread") or {}), "thread.messages"))
    run_body = {k: v for k, v in body.items() if k not in ("thread", "tool_resources")}
    state = emu.engine.create_run(thread["id"], run_body)
    return await _start(request, [("thread.created", copy.deepcopy(thread))], state, bool(body.get("stream")))


async def list_runs(request: web.Request) -> web.StreamResponse:
    emu, thread_id = _emu(request), request.match_info["thread_id"]
    emu.store.thread(thread_id)
    states = list(emu.store.runs[thread_id].values())
    for state in states:
        emu.engine.refresh(state)
    return _json(request, paginate([s.obj for s in states], request.query))


def _run_state(request: web.Request) -> Any:
    emu, m = _emu(request), request.match_info
    state = emu.store.run_state(m["thread_id"], m["run_id"])
    emu.engine.refresh(state)
    return state


async def get_run(request: web.Request) -> web.StreamResponse:
    return _json(request, _run_state(request).obj, poll=True)


async def modify_run(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.METADATA_ONLY)
    state = _run_state(request)
    state.obj["metadata"] = dict(body.get("metadata") or {})
    return _json(request, state.obj, poll=True)


async def cancel_run(request: web.Request) -> web.StreamResponse:
    return _json(request, _emu(request).engine.cancel(_run_state(request)), poll=True)


async def submit_tool_outputs(request: web.Request) -> web.StreamResponse:
    body = checks.check_body(_body(request), checks.SUBMIT_FIELDS, ("tool_outputs",))
    outputs = checks.check_tool_outputs(body["tool_outputs"])
    engine, state = _emu(request).engine, _run_state(request)
    events = engine.submit_tool_outputs(state, outputs)
    if body.get("stream"):
        return await _stream(request, [], events)
    snapshot = copy.deepcopy(state.obj)
    engine.schedule(state, events)
    return _json(request, snapshot, poll=True)


async def list_run_steps(request: web.Request) -> web.StreamResponse:
    _check_include(request)
    state = _run_state(request)
    steps = list(_emu(request).store.steps.get(state.obj["id"], {}).values())
    return _json(request, paginate(steps, request.query))


async def get_run_step(request: web.Request) -> web.StreamResponse:
    _check_include(request)
    m = request.match_info
    return _json(request, _emu(request).store.step(m["thread_id"], m["run_id"], m["step_id"]))


async def list_models(request: web.Request) -> web.StreamResponse:
    return _json(request, {"object": "list", "data": [
        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}]})


def build_app(config: EmulatorConfig | None = None) -> web.Application:
    """The emulator as an aiohttp application (mount it, or run it with `serve`)."""
    app = web.Application(middlewares=[_middleware], client_max_size=32 * 1024 * 1024)
    app[_KEY] = Emulator(config or EmulatorConfig())
    t, r = "/v1/threads/{thread_id}", "/v1/threads/{thread_id}/runs/{run_id}"
    app.add_routes([
        web.get("/v1/models", list_models),
        web.post("/v1/assistants", create_assistant),
        web.get("/v1/assistants", list_assistants),
        web.get("/v1/assistants/{assistant_id}", get_assistant),
        web.post("/v1/assistants/{assistant_id}", modify_assistant),
        web.delete("/v1/assistants/{assistant_id}", delete_assistant),
        web.post("/v1/threads", create_thread),
        web.post("/v1/threads/runs", create_thread_and_run),
        web.get(t, get_thread),
        web.post(t, modify_thread),
        web.delete(t, delete_thread),
        web.post(t + "/messages", create_message),
        web.get(t + "/messages", list_messages),
        web.get(t + "/messages/{message_id}", get_message),
        web.post(t + "/messages/{message_id}", modify_message),
        web.delete(t + "/messages/{message_id}", delete_message),
        web.post(t + "/runs", create_run),
        web.get(t + "/runs", list_runs),
        web.get(r, get_run),
        web.post(r, modify_run),
        web.post(r + "/cancel", cancel_run),
        web.post(r + "/submit_tool_outputs", submit_tool_outputs),
        web.get(r + "/steps", list_run_steps),
        web.get(r + "/steps/{step_id}", get_run_step),
        web.get("/v1/responses", responses_socket),
        web.route("*", "/v1/{tail:.*}", api),
    ])
    return app


def emulator_of(app: web.Application) -> Emulator:
    return app[_KEY]
