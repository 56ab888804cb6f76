"""http request against a real local HTTP server (aiohttp on 127.0.0.1, a free port); no transport mocks."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _http_server import serve
from aiohttp import web

from runtime import FlowError
from runtime.testing import build, run_flow


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response({"method": request.method, "path": request.path, "query": request.query_string, "headers": dict(request.headers), "body": body.decode("utf-8", "replace")})


class Server:
    """The test server: its base URL, and an event that gates /gate until two requests wait there."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.waiting = 0
        self.both_waiting = asyncio.Event()
        #: Set at teardown so /slow handlers end and the server shuts down at once.
        self.closing = asyncio.Event()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    app = web.Application()
    state: dict[str, Server] = {}

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, text="" if code == 204 else f"status {code}")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/echo?from=redirect", headers={"Set-Cookie": "r=1; Path=/"})

    async def cookie(request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        response.set_cookie("session", "abc", path="/")
        return response

    async def slow(request: web.Request) -> web.Response:
        await state["server"].closing.wait()
        return web.Response(text="too late")

    async def gate(request: web.Request) -> web.Response:
        srv = state["server"]
        srv.waiting += 1
        if srv.waiting >= 2:
            srv.both_waiting.set()
        await srv.both_waiting.wait()
        return web.Response(text="through")

    async def data(request: web.Request) -> web.Response:
        return web.Response(body=b"\x00\xffbin", content_type="application/octet-stream")

    async def json_body(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "n": [1, 2]})

    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/cookie", cookie)
    app.router.add_get("/slow", slow)
    app.router.add_get("/gate", gate)
    app.router.add_get("/data", data)
    app.router.add_get("/json", json_body)
    async with serve(app) as base:
        state["server"] = Server(base)
        try:
            yield state["server"]
        finally:
            state["server"].closing.set()


def chain(**props: Any) -> list[dict[str, Any]]:
    return [
        {"id": "req", "type": "http request", **props, "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
        {"id": "catch", "type": "catch", "wires": [["errors"]]},
        {"id": "errors", "type": "test-sink"},
    ]


async def request(msg: dict[str, Any], **props: Any) -> dict[str, Any]:
    async with run_flow(chain(**props)) as flow:
        await flow.inject("req", msg)
        [out] = await flow.received("sink", 1)
    return out


async def test_get_returns_status_headers_url_and_text(server: Server) -> None:
    msg = await request({"payload": "ignored", "topic": "t"}, url=f"{server.base}/echo")
    assert msg["statusCode"] == 200
    assert msg["headers"]["content-type"].startswith("application/json")
    assert msg["responseUrl"] == f"{server.base}/echo"
    assert isinstance(msg["payload"], str) and json.loads(msg["payload"])["method"] == "GET"
    assert msg["topic"] == "t" and msg["redirectList"] == []


async def test_ret_obj_parses_json_and_bin_gives_bytes(server: Server) -> None:
    msg = await request({}, url=f"{server.base}/json", ret="obj")
    assert msg["payload"] == {"ok": True, "n": [1, 2]}
    msg = await request({}, url=f"{server.base}/status/204", ret="obj")
    assert msg["payload"] == {}
    msg = await request({}, url=f"{server.base}/data", ret="bin")
    assert msg["payload"] == b"\x00\xffbin"


async def test_http_error_statuses_are_normal_responses(server: Server) -> None:
    msg = await request({}, url=f"{server.base}/status/404")
    assert msg["statusCode"] == 404 and msg["payload"] == "status 404"


async def test_post_an_object_as_json_and_a_string_as_is(server: Server) -> None:
    msg = await request({"payload": {"a": 1}}, url=f"{server.base}/echo", method="POST", ret="obj")
    assert msg["payload"]["body"] == '{"a":1}'
    assert msg["payload"]["headers"]["Content-Type"] == "application/json"
    msg = await request({"payload": "raw text"}, url=f"{server.base}/echo", method="PUT", ret="obj")
    assert msg["payload"]["method"] == "PUT" and msg["payload"]["body"] == "raw text"


async def test_form_encoding_from_the_content_type_header(server: Server) -> None:
    msg = await request(
        {"payload": {"a": "x y", "b": [1, 2]}, "headers": {"content-type": "application/x-www-form-urlencoded"}},
        url=f"{server.base}/echo",
        method="POST",
        ret="obj",
    )
    assert msg["payload"]["body"] == "a=x%20y&b=1&b=2"


async def test_get_payload_as_query_string(server: Server) -> None:
    msg = await request({"payload": {"q": "a&b", "n": 2}}, url=f"{server.base}/echo?x=1", paytoqs="query", ret="obj")
    assert msg["payload"]["query"] == "x=1&q=a%26b&n=2"


async def test_mustache_url_and_method_from_msg(server: Server) -> None:
    msg = await request({"payload": {"id": 7}, "method": "delete"}, url=server.base + "/echo?id={{payload.id}}", method="use", ret="obj")
    assert msg["payload"]["method"] == "DELETE" and msg["payload"]["query"] == "id=7"


async def test_url_from_msg_when_the_node_has_none(server: Server) -> None:
    msg = await request({"url": f"{server.base}/echo"}, ret="obj")
    assert msg["payload"]["path"] == "/echo"


async def test_headers_from_the_node_override_msg_headers(server: Server) -> None:
    headers = [
        {"keyType": "other", "keyValue": "X-One", "valueType": "other", "valueValue": "node"},
        {"keyType": "Accept", "keyValue": "", "valueType": "application/json", "valueValue": ""},
        {"keyType": "other", "keyValue": "X-From-Msg", "valueType": "msg", "valueValue": "topic"},
    ]
    msg = await request({"topic": "tt", "headers": {"x-one": "msg", "X-Two": "msg"}}, url=f"{server.base}/echo", headers=headers, ret="obj")
    sent = msg["payload"]["headers"]
    assert sent["X-One"] == "node" and sent["X-Two"] == "msg" and sent["Accept"] == "application/json" and sent["X-From-Msg"] == "tt"


async def test_response_headers_are_not_sent_back_by_a_second_request(server: Server) -> None:
    flow = [
        {"id": "a", "type": "http request", "url": f"{server.base}/json", "wires": [["b"]]},
        {"id": "b", "type": "http request", "url": f"{server.base}/echo", "ret": "obj", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.inject("a", {})
        [msg] = await f.received("sink", 1)
    assert "X-Node-Red-Request-Node" not in msg["payload"]["headers"]
    assert "Content-Type" not in msg["payload"]["headers"], "the first response's headers stay out of the second request"


async def test_redirects_are_followed_and_listed(server: Server) -> None:
    msg = await request({}, url=f"{server.base}/redirect", ret="obj")
    assert msg["responseUrl"] == f"{server.base}/echo?from=redirect"
    assert msg["redirectList"][0]["location"] == "/echo?from=redirect"
    assert msg["redirectList"][0]["cookies"]["r"]["value"] == "1"


async def test_cookies_both_ways(server: Server) -> None:
    msg = await request({}, url=f"{server.base}/cookie")
    assert msg["responseCookies"]["session"]["value"] == "abc"
    msg = await request({"cookies": {"a": "1", "b": {"value": "x y"}}}, url=f"{server.base}/echo", ret="obj")
    assert msg["payload"]["headers"]["Cookie"] == "a=1; b=x%20y"


async def test_basic_and_bearer_authentication(server: Server) -> None:
    msg = await request({}, url=f"{server.base}/echo", ret="obj", user="u", password="p")
    assert msg["payload"]["headers"]["Authorization"] == "Basic dTpw"
    msg = await request({}, url=f"{server.base}/echo", ret="obj", authType="bearer", password="tok")
    assert msg["payload"]["headers"]["Authorization"] == "Bearer tok"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_goes_to_catch_and_out_with_the_code() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/x"
    async with run_flow(chain(url=url)) as flow:
        await flow.inject("req", {"topic": "t"})
        [caught] = await flow.received("errors", 1)
        [sent] = await flow.received("sink", 1)
    assert caught["statusCode"] == "ECONNREFUSED" and caught["error"]["statusCode"] == "ECONNREFUSED"
    assert caught["topic"] == "t"
    assert sent["statusCode"] == "ECONNREFUSED" and sent["payload"].endswith(f" : {url}")


async def test_senderr_sends_errors_only_to_catch() -> None:
    async with run_flow(chain(url=f"http://127.0.0.1:{_closed_port()}/x", senderr=True)) as flow:
        await flow.inject("req", {})
        await flow.received("errors", 1)
        await flow.idle()
        assert flow.node("sink").messages == []


async def test_msg_request_timeout(server: Server) -> None:
    async with run_flow(chain(url=f"{server.base}/slow", senderr=True)) as flow:
        await flow.inject("req", {"requestTimeout": 100})
        [caught] = await flow.received("errors", 1)
    assert caught["statusCode"] == "ETIMEDOUT" and "no response" in caught["error"]["message"]


async def test_requests_run_concurrently(server: Server) -> None:
    """/gate answers only once two requests are waiting at once: a serial node would time out."""
    async with run_flow(chain(url=f"{server.base}/gate")) as flow:
        await flow.inject("req", {"payload": 1})
        await flow.inject("req", {"payload": 2})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == ["through", "through"]


async def test_no_url_is_an_error() -> None:
    async with run_flow(chain()) as flow:
        await flow.inject("req", {"topic": "t"})
        [caught] = await flow.received("errors", 1)
    assert caught["error"]["message"] == "No url specified"


def test_a_url_template_that_does_not_parse_is_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build([{"id": "r", "type": "http request", "url": "http://h/{{#items}}x"}])
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("r", "url")


async def test_the_password_never_appears_in_a_caught_error(caplog: pytest.LogCaptureFixture) -> None:
    secret = "pw-" + "q7Zx" * 6
    nodes = [
        {"id": "r", "type": "http request", "url": "http://127.0.0.1:9/x", "user": "user", "password": secret, "wires": [["out"]]},
        {"id": "c", "type": "catch", "wires": [["caught"]]},
        {"id": "out", "type": "test-sink"},
        {"id": "caught", "type": "test-sink"},
    ]
    caplog.set_level(logging.DEBUG)
    async with run_flow(nodes) as flow:
        await flow.inject("r", {"payload": ""})
        [caught] = await flow.received("caught", exact=False)
    assert secret not in json.dumps(caught, default=str)
    assert secret not in caplog.text
