"""http in: one message per HTTP request on a path of the runtime's server (Node-RED's properties and msg).

The request waits for an `http response` node to answer `msg.res`. It is
refused before any flow runs when its body is over `apiMaxLength` (413) or
when `window` requests of this node are still being worked on (503: a
saturated flow sheds load instead of queueing without bound), and answered
504 when no response came within `httpResponseTimeout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from runtime import Msg, Node, NodeProps, lenient, new_msgid, register
from runtime.http import Route

from . import _pending
from ._request import BadRequest, read_body, req_of

if TYPE_CHECKING:
    from aiohttp import web

Method = Literal["get", "post", "put", "delete", "patch"]
_WITH_BODY = frozenset({"post", "put", "delete", "patch"})


class HttpInProps(NodeProps):
    url: str = Field(description="path under httpNodeRoot, Express style: /users/:id, /files/*")
    method: Method = Field("get", description="get, post, put, delete or patch")
    upload: lenient.Bool = Field(False, description="parse multipart/form-data: files in msg.req.files")
    skipBodyParsing: lenient.Bool = Field(False, description="keep the body as the bytes received (no JSON, form or multipart parsing), e.g. to check a webhook signature")
    swaggerDoc: str = Field("", description="(accepted; no Swagger document is served)")
    window: lenient.OptInt = Field(None, description="requests in flight before further ones get 503 (default: settings.httpNodeWindow, else 1000)")

    @field_validator("method", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


@register("http in")
class HttpIn(Node):
    """Serves an HTTP endpoint: each request becomes a message; an `http response` node answers it."""

    Props = HttpInProps
    props: HttpInProps

    @classmethod
    def check(cls, props: HttpInProps) -> list[tuple[str, str]]:
        problems = []
        if not props.url.strip():
            problems.append(("url", "needs a path such as /hello"))
        if props.window is not None and props.window < 1:
            problems.append(("window", "must be 1 or more"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = self.props.window or self.http.config.node_window
        self.in_progress = 0
        self.accepting = False
        self.route: Route | None = None
        self.with_body = self.props.method in _WITH_BODY

    async def start(self) -> None:
        url = self.props.url if self.props.url.startswith("/") else "/" + self.props.url
        self.route = self.http.add_route(self.props.method, url, self.serve)
        self.accepting = True

    async def stop(self) -> None:
        self.accepting = False

    async def close(self) -> None:
        if self.route is not None:
            self.http.remove_route(self.route)
            self.route = None

    def request_done(self) -> None:
        self.in_progress -= 1

    async def serve(self, request: web.Request, params: Mapping[str, str]) -> web.StreamResponse:
        from aiohttp import web  # aiohttp loads with the server, not with every flow

        if not self.accepting:
            return web.Response(status=503, text="Service Unavailable: the flow is stopping\n", headers={"Retry-After": "1"})
        if self.in_progress >= self.window:
            return web.Response(status=503, text="Service Unavailable: too many requests in flight\n", headers={"Retry-After": "1"})
        http = self.http
        length = request.content_length
        if length is not None and length > http.max_body:
            return web.Response(status=413, text="Payload Too Large\n")
        files = None
        body: Any = None
        if self.with_body:
            try:
                body, files = await read_body(request, self.props.upload, http.max_body, raw=self.props.skipBodyParsing)
            except web.HTTPRequestEntityTooLarge:
                return web.Response(status=413, text="Payload Too Large\n")
            except BadRequest as exc:
                self.warn(str(exc))
                return web.Response(status=400, text=f"Bad Request: {exc}\n")
        rid, future = _pending.open_request()
        req = req_of(request, params, body, files, self.with_body)
        msg: Msg = {"_msgid": new_msgid(), "req": req, "res": {"_res": rid}}
        if self.with_body:
            msg["payload"] = body
        elif self.props.method == "get":
            msg["payload"] = req["query"]
        timer = asyncio.get_running_loop().call_later(http.response_timeout, _expire, rid, http.response_timeout)
        self.in_progress += 1
        try:
            await self.emit(msg, self.request_done)
            return await future
        finally:
            timer.cancel()
            _pending.close_request(rid)


def _expire(rid: str, seconds: float) -> None:
    from aiohttp import web

    _pending.answer(rid, web.Response(status=504, text=f"Gateway Timeout: the flow did not answer within {seconds:g} s\n"))
