"""http request: Node-RED's HTTP client node on httpx2.

One `httpx2.AsyncClient` per node keeps connections pooled across messages
(Node-RED opens a connection per request unless `persist` is set; pooling
changes nothing a flow can see). Proxies come from the environment
(HTTP_PROXY / HTTPS_PROXY / NO_PROXY), as in Node-RED. httpx2 is imported
on first use: loading them would add tens of milliseconds to the
cold start of every flow, most of which make no HTTP request.

As in Node-RED, any HTTP status is a normal response (msg.statusCode says
which); only transport failures (refused, DNS, TLS, timeout) are errors,
reported to catch nodes with `msg.statusCode` set to the error code and, unless
`senderr` is set, also sent on with the error text as payload.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import ssl
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from runtime import ConfigRef, Msg, Node, NodeError, NodeProps, Output, lenient, register
from runtime.properties import PathError, get_path
from runtime.secrets import redact

from ._jsvalues import to_string
from ._text import json_text
from .template import compile_template, render

if TYPE_CHECKING:
    import httpx2

_DEFAULT_TIMEOUT_MS = 120_000
_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")
_HASH_HEADER = "x-node-red-request-node"


class HeaderRule(BaseModel):
    """One row of the node's header list (Node-RED's typed key/value pairs)."""

    model_config = ConfigDict(extra="ignore")
    keyType: str = Field("other", description="'other' (name in keyValue), 'msg' (name from a msg property) or the header name itself")
    keyValue: str = ""
    valueType: str = Field("other", description="'other' (value in valueValue), 'msg' or the value itself")
    valueValue: str = ""


class HttpRequestProps(NodeProps):
    method: lenient.Blank[str] = Field("GET", description="GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, or 'use' for msg.method")
    url: str = Field("", description="request URL; {{mustache}} renders against msg; blank: msg.url")
    ret: Literal["txt", "bin", "obj"] = Field("txt", description="txt: UTF-8 string; bin: bytes; obj: parsed JSON")
    paytoqs: Literal["ignore", "query", "body"] | bool = Field("ignore", description="GET: ignore msg.payload, append it as query string, or send it as body")
    headers: list[HeaderRule] = Field(default_factory=list, description="headers to add/replace (blank value removes)")
    tls: Annotated[str, ConfigRef("tls-config", optional=True)] = Field("", description="id of a tls-config node")
    persist: lenient.Bool = Field(False, description="(accepted; connections are always pooled)")
    proxy: str = Field("", description="(not supported: proxies come from HTTP_PROXY / HTTPS_PROXY / NO_PROXY)")
    insecureHTTPParser: bool = False
    authType: Literal["basic", "digest", "bearer", ""] = Field("basic", description="how user/password (credentials) are sent")
    senderr: lenient.Bool = Field(False, description="send errors only to catch nodes (otherwise also on the output)")
    reqTimeout: float | str | None = Field(None, description="request timeout, ms (default: settings.httpRequestTimeout or 120000)")
    user: str = Field("", description="credentials: user name")
    password: str = Field("", description="credentials: password, or the bearer token")


def _qs_escape(value: str) -> str:
    """encodeURIComponent, which Node's querystring uses."""
    return quote(value, safe="!'()*-._~")


def _querystring(obj: dict[str, Any]) -> str:
    """Node's `querystring.stringify`: arrays repeat the key, non-primitives become empty."""
    pairs = []
    for key, value in obj.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = to_string(item) if isinstance(item, (str, int, float, bool)) else ""
            pairs.append(f"{_qs_escape(str(key))}={_qs_escape(text)}")
    return "&".join(pairs)


def _headers_hash(headers: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(headers, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _set_header(headers: dict[str, Any], name: str, value: Any) -> None:
    """Case-insensitive replace; an empty value removes the header (Node-RED's updateHeader)."""
    for existing in [k for k in headers if k.lower() == name.lower()]:
        del headers[existing]
    if value not in (None, ""):
        headers[name] = value


def _header(headers: dict[str, Any], name: str) -> Any:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _response_headers(response: httpx2.Response) -> dict[str, Any]:
    """Node.js's shape: lower-case names, set-cookie always a list, repeats joined with ', '."""
    out: dict[str, Any] = {}
    for name, value in response.headers.multi_items():
        key = name.lower()
        if key == "set-cookie":
            out.setdefault(key, []).append(value)
        elif key in out:
            out[key] = f"{out[key]}, {value}"
        else:
            out[key] = value
    return out


def _cookies(set_cookie: list[str]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for line in set_cookie:
        jar = SimpleCookie()
        try:
            jar.load(line)
        except Exception:
            continue
        for name, morsel in jar.items():
            entry: dict[str, Any] = {"value": morsel.value}
            entry.update({k: v for k, v in morsel.items() if v})
            result[name] = entry
    return result


@register("http request")
class HttpRequest(Node):
    """Sends an HTTP request and outputs the response (status, headers, body as text, bytes or JSON)."""

    Props = HttpRequestProps
    props: HttpRequestProps
    concurrency = 16

    @classmethod
    def check(cls, props: HttpRequestProps) -> list[tuple[str, str]]:
        problems = []
        method = props.method.upper()
        if method != "USE" and not re.fullmatch(r"[A-Z]+", method):
            problems.append(("method", f"invalid HTTP method {props.method!r}"))
        if "{{" in props.url:
            try:
                compile_template(props.url)
            except NodeError as exc:
                problems.append(("url", str(exc)))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p = self.props
        # Node-RED renders the URL with mustache.js over the msg: the template node's engine, compiled once.
        self._url_template = compile_template(p.url) if "{{" in p.url else None
        # The password (or bearer token) is a secret from now on: no log line, error or status shows it.
        redact(p.password, user=p.user or None)
        self._paytoqs = p.paytoqs is True or p.paytoqs == "query"
        self._paytobody = p.paytoqs == "body"
        timeout = p.reqTimeout if p.reqTimeout not in (None, "") else self.settings.get("httpRequestTimeout")
        try:
            self._timeout_ms = float(timeout) if timeout not in (None, "") else _DEFAULT_TIMEOUT_MS
        except (TypeError, ValueError):
            self._timeout_ms = _DEFAULT_TIMEOUT_MS
        self._clients: dict[bool, httpx2.AsyncClient] = {}

    async def start(self) -> None:
        if self.props.proxy:
            self.warn("http request: proxy config nodes are not supported; the proxy comes from HTTP_PROXY / HTTPS_PROXY / NO_PROXY")

    def _client(self, verify: bool) -> httpx2.AsyncClient:
        """One pooled client per node (a second, unverified one only if msg.rejectUnauthorized asks)."""
        client = self._clients.get(verify)
        if client is None:
            import httpx2

            tls: ssl.SSLContext | bool = verify
            if self.props.tls:
                context = self.config_node(self.props.tls).settings().context()
                if not verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                tls = context
            client = httpx2.AsyncClient(verify=tls, trust_env=True, follow_redirects=True, max_redirects=21, timeout=self._timeout_ms / 1000)
            self._clients[verify] = client
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def _url(self, msg: Msg) -> str | None:
        node_url = self.props.url
        url = node_url or msg.get("url")
        if msg.get("url") and node_url and node_url != msg.get("url"):
            self.warn("Warning: msg properties can no longer override set node properties. See bit.ly/nr-override-msg-props")
        if self._url_template is not None:
            url = render(self._url_template, msg)
        if not url:
            raise NodeError("No url specified", msg)
        url = str(url)
        if "://" in url and not url.startswith("http"):
            self.warn("Invalid transport specified - only http and https are supported")
            self.status("red", "ring", "Invalid transport")
            return None
        if not url.startswith(("http://", "https://")):
            url = ("https://" if self.props.tls else "http://") + url
        if "?" in url:
            head, _, query = url.partition("?")
            url = f"{head}?{_BAD_PERCENT.sub('%25', query)}"
        return url

    def _method(self, msg: Msg) -> str:
        node_method = self.props.method
        method = node_method.upper()
        if msg.get("method") and node_method != "use":
            self.warn("Warning: msg properties can no longer override set node properties. See bit.ly/nr-override-msg-props")
        if node_method == "use":
            method = str(msg.get("method") or "GET").upper()
        return method

    def _headers(self, msg: Msg) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        incoming = msg.get("headers")
        if isinstance(incoming, dict) and _HASH_HEADER in incoming:
            # Response headers of an earlier http request left on the msg: do not send them back.
            incoming = {k: v for k, v in incoming.items() if k != _HASH_HEADER}
            if _headers_hash(incoming) == msg["headers"][_HASH_HEADER]:
                incoming = None
        if isinstance(incoming, dict):
            for name, value in incoming.items():
                _set_header(headers, str(name), value)
        for rule in self.props.headers:
            name = self._typed(rule.keyType, rule.keyValue, msg)
            if not name:
                continue
            _set_header(headers, str(name), self._typed(rule.valueType, rule.valueValue, msg))
        cookies = msg.get("cookies")
        if isinstance(cookies, dict):
            pairs = []
            for name, value in cookies.items():
                if value is None or isinstance(value, dict) and value.get("value") is None:
                    continue
                if isinstance(value, dict):
                    raw = to_string(value["value"])
                    pairs.append(f"{name}={raw if value.get('encode') is False else _qs_escape(raw)}")
                else:
                    pairs.append(f"{name}={_qs_escape(to_string(value))}")
            if pairs:
                existing = _header(headers, "cookie")
                _set_header(headers, "Cookie", "; ".join(([existing] if existing else []) + pairs))
        p = self.props
        if p.user or p.password:
            if p.authType == "bearer":
                _set_header(headers, "Authorization", f"Bearer {p.password}")
        return {k: to_string(v) for k, v in headers.items()}

    @staticmethod
    def _typed(kind: str, value: str, msg: Msg) -> Any:
        if kind == "other":
            return value
        if kind == "msg":
            try:
                return get_path(msg, value)
            except PathError:
                return None
        return kind

    def _body(self, method: str, msg: Msg, headers: dict[str, str]) -> dict[str, Any]:
        """httpx2 request arguments for the body (content, data or files)."""
        if "payload" not in msg:
            return {}
        payload = msg["payload"]
        content_type = (_header(headers, "content-type") or "").lower()
        if method not in ("GET", "HEAD"):
            if content_type == "multipart/form-data" and isinstance(payload, dict):
                for name in [k for k in headers if k.lower() == "content-type"]:
                    del headers[name]
                files: list[tuple[str, Any]] = []
                for name, value in payload.items():
                    if value is None:
                        continue
                    if isinstance(value, (str, bytes, bytearray)):
                        files.append((name, (None, value)))
                    elif isinstance(value, dict) and "value" in value:
                        options = value.get("options") or {}
                        files.append((name, (options.get("filename"), value["value"], options.get("contentType"))))
                    else:
                        files.append((name, (None, json_text(value))))
                return {"files": files}
            return {"content": self._encode(payload, content_type, headers)}
        if method == "GET" and self._paytobody:
            if isinstance(payload, (dict, list)) or payload is None:
                return {"content": json_text(payload).encode()}
            return {"content": self._encode(payload, content_type, headers)}
        return {}

    @staticmethod
    def _encode(payload: Any, content_type: str, headers: dict[str, str]) -> bytes:
        if isinstance(payload, (bytes, bytearray)):
            return bytes(payload)
        if isinstance(payload, str):
            return payload.encode()
        if isinstance(payload, (int, float)) and not isinstance(payload, bool):
            return to_string(payload).encode()
        if content_type == "application/x-www-form-urlencoded" and isinstance(payload, dict):
            return _querystring(payload).encode()
        if not content_type:
            headers["Content-Type"] = "application/json"
        return json_text(payload).encode()

    async def on_input(self, msg: Msg) -> Output:
        import httpx2

        self.status("blue", "dot", "requesting")
        url = self._url(msg)
        if url is None:
            return None
        method = self._method(msg)
        headers = self._headers(msg)
        if method == "GET" and self._paytoqs and "payload" in msg:
            payload = msg["payload"]
            if not isinstance(payload, dict):
                self.status()
                raise NodeError("Invalid payload: a GET with the payload as query string needs an object", msg)
            query = _querystring(payload)
            if query and "?" in url:
                url += ("" if url.endswith("?") else "&") + query
            elif query:
                url += "?" + query
        body = self._body(method, msg, headers)
        timeout = self._timeout_ms
        if "requestTimeout" in msg:
            requested = msg["requestTimeout"]
            if not isinstance(requested, (int, float)) or isinstance(requested, bool):
                self.warn("Timeout value is not a valid number, ignoring")
            elif requested < 1:
                self.warn("Timeout value is negative, ignoring")
            else:
                timeout = float(requested)
        verify = msg.get("rejectUnauthorized") is not False
        auth: Any = None
        p = self.props
        if (p.user or p.password) and p.authType in ("basic", ""):
            auth = httpx2.BasicAuth(p.user, p.password)
        elif (p.user or p.password) and p.authType == "digest":
            auth = httpx2.DigestAuth(p.user, p.password)
        kwargs: dict[str, Any] = {"headers": headers, "timeout": timeout / 1000, **body}
        if auth is not None:
            kwargs["auth"] = auth
        if "followRedirects" in msg:
            kwargs["follow_redirects"] = bool(msg["followRedirects"])
        try:
            response = await self._client(verify).request(method, url, **kwargs)
        except httpx2.TimeoutException:
            return self._failed(msg, url, "ETIMEDOUT", "no response from server")
        except (httpx2.HTTPError, ssl.SSLError, OSError, ValueError) as exc:
            return self._failed(msg, url, _error_code(exc), f"{type(exc).__name__}: {exc}")
        return self._respond(msg, response)

    def _respond(self, msg: Msg, response: httpx2.Response) -> Msg:
        headers = _response_headers(response)
        msg["statusCode"] = response.status_code
        msg["headers"] = headers
        msg["responseUrl"] = str(response.url)
        msg["redirectList"] = [{"location": r.headers.get("location"), **({"cookies": _cookies(r.headers.get_list("set-cookie"))} if "set-cookie" in r.headers else {})} for r in response.history]
        msg["retry"] = 0
        if "set-cookie" in headers:
            msg["responseCookies"] = _cookies(headers["set-cookie"])
        headers[_HASH_HEADER] = _headers_hash({k: v for k, v in headers.items() if k != _HASH_HEADER})
        body = response.content
        if self.props.ret == "bin":
            msg["payload"] = body
        else:
            text = body.decode("utf-8", "replace")
            msg["payload"] = text
            if self.props.ret == "obj":
                try:
                    msg["payload"] = json.loads("{}" if response.status_code == 204 else text)
                except ValueError:
                    self.warn("JSON parse error")
        self.status()
        return msg

    def _failed(self, msg: Msg, url: str, code: str, text: str) -> Output:
        self.status("red", "ring", code)
        msg["payload"] = f"{text} : {url}"
        msg["statusCode"] = code
        self.error(NodeError(text, msg, statusCode=code), msg)
        if self.props.senderr:
            return None
        return msg


def _error_code(exc: BaseException) -> str:
    """The Node.js error code a flow would see (ECONNREFUSED, ENOTFOUND, ...)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "ECONNREFUSED"
        if isinstance(current, ConnectionResetError):
            return "ECONNRESET"
        if isinstance(current, ssl.SSLCertVerificationError):
            return "UNABLE_TO_VERIFY_LEAF_SIGNATURE" if "local issuer" in str(current) else "CERT_ERROR"
        if isinstance(current, OSError) and current.errno is not None:
            return errno.errorcode.get(current.errno, "EIO")
        text = str(current)
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "ENOTFOUND"
        if "Connection refused" in text or "connection attempts failed" in text.lower():
            return "ECONNREFUSED"
        current = current.__cause__ or current.__context__
    import httpx2

    if isinstance(exc, httpx2.ConnectError):
        return "ECONNREFUSED"
    return "ERR_HTTP"
