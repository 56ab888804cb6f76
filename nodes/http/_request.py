"""An aiohttp request as Node-RED's `msg.req`: params, query, headers, cookies, parsed body, files.

Body parsing follows Node-RED's middleware chain (`21-httpin.js`): JSON and
url-encoded forms are parsed, multipart only when the node's `upload` is set
(fields into the body, files into `msg.req.files` as multer gives them), and
anything else is text or bytes by content type (text/*, XML and most
application/* types are text; octet-stream, CBOR, protobuf and non-text
media types are bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiMapping

_BYTES_SUBTYPES = frozenset({"octet-stream", "cbor", "x-protobuf"})


class BadRequest(Exception):
    """The body does not parse as its content type says (answered 400)."""


def _collapse(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Repeated keys become lists, as Express's query parser does (`?a=1&a=2` → a: ["1", "2"])."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            existing = result[key]
            result[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[key] = value
    return result


def query_of(query: MultiMapping[str]) -> dict[str, Any]:
    return _collapse(list(query.items()))


def headers_of(request: web.Request) -> dict[str, Any]:
    """Node's `req.headers`: lower-case names, repeats joined with ", " (set-cookie stays a list)."""
    headers: dict[str, Any] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key not in headers:
            headers[key] = [value] if key == "set-cookie" else value
        elif key == "set-cookie":
            headers[key].append(value)
        elif key != "cookie":
            headers[key] = f"{headers[key]}, {value}"
        else:
            headers[key] = f"{headers[key]}; {value}"
    return headers


def _is_text(content_type: str) -> bool:
    kind, _, subtype = content_type.partition("/")
    if kind == "text" or subtype == "xml" or subtype.endswith("+xml"):
        return True
    if kind != "application":
        return False
    return subtype not in _BYTES_SUBTYPES


def _text(raw: bytes, charset: str | None) -> str:
    return raw.decode(charset or "utf-8", errors="replace")


async def _multipart(request: web.Request, max_body: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """aiohttp's `client_max_size` does not cover a streamed multipart body, so the parts are counted here."""
    from aiohttp import BodyPartReader, web

    fields: list[tuple[str, Any]] = []
    total = 0
    files: list[dict[str, Any]] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue  # nested multipart/mixed: multer ignores it too
        data = bytes(await part.read())
        total += len(data)
        if total > max_body:
            raise web.HTTPRequestEntityTooLarge(max_size=max_body, actual_size=total)
        if part.filename is not None:
            files.append({
                "fieldname": part.name,
                "originalname": part.filename,
                "encoding": part.headers.get("Content-Transfer-Encoding", "7bit"),
                "mimetype": part.headers.get("Content-Type", "application/octet-stream"),
                "buffer": data,
                "size": len(data),
            })
        else:
            fields.append((part.name or "", _text(data, part.get_charset(None))))
    return _collapse(fields), files


async def read_body(request: web.Request, upload: bool, max_body: int, *, raw: bool = False) -> tuple[Any, list[dict[str, Any]] | None]:
    """The parsed body and, for uploads, the files. Raises BadRequest, or aiohttp's 413 when over the limit.

    `raw` (Node-RED's `skipBodyParsing`) keeps the bytes exactly as received, whatever the content
    type: a signature over the body (webhooks) can only be checked against those bytes.
    """
    if raw:
        return bytes(await request.read()), None
    has_type = "Content-Type" in request.headers
    content_type = request.content_type if has_type else ""
    if upload and content_type.startswith("multipart/"):
        return await _multipart(request, max_body)
    raw = await request.read()
    if content_type == "application/json":
        if not raw:
            return {}, None
        try:
            value = json.loads(raw.decode(request.charset or "utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"invalid JSON body: {exc}") from None
        if not isinstance(value, (dict, list)):
            raise BadRequest("a JSON body must be an object or an array")
        return value, None
    if content_type == "application/x-www-form-urlencoded":
        return _collapse(parse_qsl(_text(raw, request.charset), keep_blank_values=True)), None
    if not has_type or _is_text(content_type):
        return _text(raw, request.charset), None
    return raw, None


def req_of(request: web.Request, params: Mapping[str, str], body: Any, files: list[dict[str, Any]] | None, with_body: bool) -> dict[str, Any]:
    """`msg.req`: plain data only, so the msg stays deep-copyable and JSON-serialisable."""
    host = request.host
    req: dict[str, Any] = {
        "method": request.method,
        "url": request.path_qs,
        "originalUrl": request.path_qs,
        "path": request.path,
        "baseUrl": "",
        "hostname": host.rsplit(":", 1)[0] if host.count(":") == 1 else host,
        "ip": request.remote or "",
        "protocol": request.scheme,
        "secure": request.secure,
        "httpVersion": f"{request.version.major}.{request.version.minor}",
        "params": dict(params),
        "query": query_of(request.query),
        "headers": headers_of(request),
        "cookies": dict(request.cookies),
    }
    if with_body:
        req["body"] = body
    if files is not None:
        req["files"] = files
    return req
