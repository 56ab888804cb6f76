"""`openai-runs` (the Runs methods) and `openai-api` (every method in the table).

Both are one generic dispatcher restricted to some rows of `_methods.METHODS`:
read the request from the configured property, validate it against the SDK's
parameter types (`_params.validate`), call the SDK through the config node's
shared client (`_dispatch`), and put plain JSON data on `msg.payload`.

The msg is not touched until the call succeeded, so on any error the catch
path receives it exactly as it arrived (a per-message API key excepted: that
is removed as soon as it is read).
"""

from __future__ import annotations

import difflib
import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from runtime import ConfigRef, Node, NodeProps, lenient, register
from runtime.properties import get_path, parse_path

from . import _dispatch, _metrics, _websocket
from ._errors import OpenAINodeError, config_error, from_sdk, invalid_payload
from ._methods import RUNS, SERVICES, Method, by_service, lookup, names
from ._params import PayloadError, traits, validate
from .config import MissingKey, OpenAIConfig

_REQUESTING = {"fill": "blue", "shape": "dot", "text": "requesting"}
_STREAMING = {"fill": "green", "shape": "dot", "text": "streaming"}
_ERROR = {"fill": "red", "shape": "ring", "text": "error"}


class OpenAIMethodProps(NodeProps):
    service: Annotated[str, ConfigRef("openai-config")] = Field(description="id of the openai-config node")
    method: str = Field(description="method name, e.g. createRun (Node-RED's names; snake_case also accepted)")
    property: str = Field("payload", description="where the request is read from")
    propertyType: Literal["msg", "flow", "global"] = Field("msg", description="msg, flow or global")
    wait: lenient.Bool = Field(False, description="poll a created/returned run until it is terminal or requires_action")
    pollInterval: lenient.OptInt = Field(None, description="ms between polls with wait (default: the server's hint, "
                                                   "else 1000)")
    fetchAll: lenient.Bool = Field(False, description="list methods: follow the cursors and return every item")



class OpenAIMethodNode(Node):
    """Calls one OpenAI method per message (base of openai-runs and openai-api)."""

    Props = OpenAIMethodProps
    props: OpenAIMethodProps
    services: ClassVar[frozenset[str] | None] = None
    concurrency = 100  # raised/lowered to the config node's max_concurrent at start

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if lookup(props.method, cls.services) is None:
            known = names(cls.services)
            close = difflib.get_close_matches(props.method, known, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else f"known: {', '.join(known)}"
            problems.append(("method", f"unknown method {props.method!r} for {cls.type}; {hint}"))
        elif (method := lookup(props.method, cls.services)) is not None and method.unavailable:
            problems.append(("method", f"{method.name} has no API behind it: {method.unavailable}"))
        if props.propertyType == "msg":
            try:
                parse_path(props.property)
            except ValueError as exc:
                problems.append(("property", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        method = lookup(self.props.method, self.services)
        assert method is not None  # `check` ran before the node was built
        self.method: Method = method
        self.config: OpenAIConfig | None = None
        self._sockets = _websocket.Sockets(self, method.name) if method.socket else None
        #: requests in flight: the status says `requesting` from the first until the last is answered
        #: (one status change per busy spell, not two per message: at burst rates those were a visible
        #: share of the node's CPU per call, bench/openai/bursts.py)
        self._requests = 0
        self._stats: _metrics.CallStats | None = None

    async def start(self) -> None:
        self.config = self.config_node(self.props.service)
        self.concurrency = self.config.max_concurrent
        if self._sockets is None:
            traits(self.method)  # read the SDK's signature now rather than on the first message
        self._stats = _metrics.attach(self.http)

    async def close(self) -> None:
        if self._sockets is not None:
            await self._sockets.close_all()
        if self._stats is not None:
            _metrics.detach(self.http, self._stats)
            self._stats = None

    def _failed(self, exc: Exception, msg: dict[str, Any], started: float) -> OpenAINodeError:
        """The node error for a failed call, counted on /metrics by its type."""
        self.status(_ERROR)
        error = from_sdk(exc, self.method.name, msg)
        self._count(started, str(error.details.get("type") or "error"))
        return error

    def _count(self, started: float, error: str | None = None) -> None:
        if self._stats is not None:
            self._stats.observe(self.method.name, time.perf_counter() - started, error)

    def _request(self, msg: dict[str, Any]) -> Any:
        p = self.props
        if p.propertyType == "msg":
            return get_path(msg, p.property)
        ctx = self.flow_context if p.propertyType == "flow" else self.global_context
        return ctx.get(p.property)

    async def on_input(self, msg: dict[str, Any]) -> Any:
        method, config = self.method, self.config
        assert config is not None
        try:
            client = config.client_for(msg, self)
        except MissingKey as exc:
            self.status(_ERROR)
            raise config_error(method.name, str(exc), msg) from None
        request = self._request(msg)
        if self._sockets is not None:
            return await self._socket(client, request, msg)
        try:
            kwargs = validate(method, request)
        except PayloadError as exc:
            self.status(_ERROR)
            raise invalid_payload(method.name, exc.problems, str(exc), msg) from None
        streaming = traits(method).streamable and (method.force_stream or kwargs.get("stream") is True)
        started = 0.0
        try:
            async with config.slot():
                started = time.perf_counter()
                if streaming:
                    await self._stream(client, kwargs, msg)
                    self._count(started)
                    return None
                self._requests += 1
                if self._requests == 1:
                    self.status(_REQUESTING)
                try:
                    outcome = await _dispatch.call(
                        client, method, kwargs, wait=self.props.wait and method.returns_run,
                        poll_interval_ms=self.props.pollInterval, fetch_all=self.props.fetchAll,
                        options=config.request_options,
                    )
                finally:
                    self._requests -= 1
        except Exception as exc:  # SDK errors: status, timeouts, connection, stream errors
            raise self._failed(exc, msg, started) from None
        self._count(started)
        if self._requests == 0:
            self.status({})
        msg["payload"] = outcome.payload
        msg["openai"] = outcome.meta
        return msg

    async def _socket(self, client: Any, request: Any, msg: dict[str, Any]) -> dict[str, Any]:
        """manageModelResponseWebSocket: connect, send or close one of this node's sockets."""
        assert self._sockets is not None
        name = self.method.name
        try:
            checked = _websocket.check(name, request)
        except PayloadError as exc:
            self.status(_ERROR)
            raise invalid_payload(name, exc.problems, str(exc), msg) from None
        started = time.perf_counter()
        try:
            result = await self._sockets.handle(client, checked)
        except _websocket.SocketError as exc:
            self.status(_ERROR)
            raise OpenAINodeError(f"{name}: {exc}", msg, method=name, status=None, type="invalid_request_error",
                                  code="connection_state", param="connection_id", request_id=None) from None
        except Exception as exc:
            raise self._failed(exc, msg, started) from None
        self._count(started)
        self.status({"fill": "green", "shape": "ring", "text": f"{len(self._sockets.open)} open"}
                    if self._sockets.open else {})
        msg["payload"] = result
        msg["openai"] = {"method": name, "transport": _websocket.TRANSPORT, "action": checked["action"],
                         "connection_id": checked["connection_id"]}
        return msg

    async def _stream(self, client: Any, kwargs: dict[str, Any], msg: dict[str, Any]) -> None:
        """One msg per server event, in order; the last has event "done" and openai.done = True."""
        self.status(_STREAMING)
        index = 0
        assert self.config is not None
        async for event, data in _dispatch.stream(client, self.method, kwargs, self.config.request_options):
            done = event == "done"
            meta = {"method": self.method.name, "event": event, "index": index, "done": done}
            # A shallow copy per event, as Node-RED does: same _msgid, the event replaces the payload.
            self.send({**msg, "payload": data, "event": event, "openai": meta})
            index += 1
        self.status({})


@register("openai-runs")
class OpenAIRuns(OpenAIMethodNode):
    """Runs of the OpenAI Assistants API: create, list, get, modify, cancel, submit tool outputs, steps."""

    services = RUNS


def _method_listing() -> str:
    """The methods by service, for `flowwire nodes openai-api` (read from the table, no SDK import)."""
    lines = ["", "methods, by service (Node-RED names; snake_case also accepted; docs/nodes/openai-api.md):"]
    for service, rows in by_service().items():
        lines.append(f"{SERVICES[service]}: {', '.join(m.name for m in rows)}")
    return "\n".join(lines)


@register("openai-api", aliases=("OpenAI API",))
class OpenAIApi(OpenAIMethodNode):
    """Any method of the OpenAI API, by Node-RED name (chat, responses, files, vector stores, ... and runs)."""

    services = None


OpenAIApi.__doc__ = f"{OpenAIApi.__doc__}\n{_method_listing()}"
