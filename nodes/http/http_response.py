"""http response: answer the request a message came from (Node-RED's `http response`).

Status: the node's `statusCode`, else `msg.statusCode`, else 200. Headers:
the node's, then `msg.headers` for names the node does not set (headers an
`http request` node left on the msg unchanged are not echoed back). Cookies
from `msg.cookies`. The body as Express sends it: objects, lists and null as
JSON, bytes as they are, strings and numbers as text, booleans as JSON, and
no payload at all as an empty body.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from runtime import Msg, Node, NodeProps, lenient, register

from . import _pending

if TYPE_CHECKING:
    from aiohttp import web

_HASH_HEADER = "x-node-red-request-node"


class HttpResponseProps(NodeProps):
    statusCode: lenient.OptInt = Field(None, description="status to send; blank: msg.statusCode or 200")
    headers: dict[str, str] = Field(default_factory=dict, description="headers to set (they win over msg.headers)")

    @field_validator("headers", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return {} if value in ("", None) else value


def _headers_hash(headers: dict[str, Any]) -> str:
    """The `http request` node's fingerprint of the response headers it put on the msg."""
    return hashlib.sha1(json.dumps(headers, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _status(value: Any) -> int | None:
    try:
        status = int(value)
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 999 else None


def _body(msg: Msg, headers: dict[str, str]) -> bytes:
    has_type = any(k.lower() == "content-type" for k in headers)

    def default_type(value: str) -> None:
        if not has_type:
            headers["Content-Type"] = value

    if "payload" not in msg:
        return b""
    payload = msg["payload"]
    if isinstance(payload, (bytes, bytearray, memoryview)):
        default_type("application/octet-stream")
        return bytes(payload)
    if isinstance(payload, str) or (isinstance(payload, (int, float)) and not isinstance(payload, bool)):
        default_type("text/html; charset=utf-8")
        return str(payload).encode()
    default_type("application/json; charset=utf-8")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _set_cookies(response: web.Response, cookies: dict[str, Any]) -> None:
    for name, spec in cookies.items():
        options = spec if isinstance(spec, dict) else {}
        path = str(options.get("path", "/"))
        domain = options.get("domain")
        if spec is None or (isinstance(spec, dict) and spec.get("value") is None):
            response.del_cookie(name, path=path, domain=domain)
            continue
        value = str(options["value"]) if isinstance(spec, dict) else str(spec)
        max_age = options.get("maxAge")
        expires = options.get("expires")
        if isinstance(expires, (int, float)):
            expires = datetime.fromtimestamp(expires / 1000, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        same_site = options.get("sameSite")
        response.set_cookie(
            name, value, path=path, domain=domain,
            max_age=int(max_age) // 1000 if isinstance(max_age, (int, float)) else None,  # Express: milliseconds
            expires=str(expires) if expires else None,
            secure=bool(options.get("secure")) or None, httponly=bool(options.get("httpOnly")) or None,
            samesite=(same_site if isinstance(same_site, str) else "Strict" if same_site is True else None),
        )


@register("http response")
class HttpResponse(Node):
    """Sends the HTTP response to the request an `http in` node turned into this message."""

    Props = HttpResponseProps
    props: HttpResponseProps

    def on_input(self, msg: Msg) -> None:
        from aiohttp import web

        res = msg.get("res")
        rid = res.get("_res") if isinstance(res, dict) else None
        if not isinstance(rid, str):
            self.warn("No response object: msg.res is missing (the msg did not come from an http in node)")
            return
        status = self.props.statusCode or _status(msg.get("statusCode")) or 200
        headers = dict(self.props.headers)
        incoming = msg.get("headers")
        if isinstance(incoming, dict) and _HASH_HEADER in incoming:
            rest = {k: v for k, v in incoming.items() if k != _HASH_HEADER}
            incoming = None if _headers_hash(rest) == incoming[_HASH_HEADER] else rest
        if isinstance(incoming, dict):
            have = {k.lower() for k in headers}
            for name, value in incoming.items():
                if str(name).lower() not in have:
                    headers[str(name)] = value if isinstance(value, str) else str(value)
        body = _body(msg, headers)
        response = web.Response(status=status, body=body, headers=headers)
        cookies = msg.get("cookies")
        if isinstance(cookies, dict):
            _set_cookies(response, cookies)
        if not _pending.answer(rid, response):
            self.warn("the request was already answered or has timed out (msg.res is stale)")
