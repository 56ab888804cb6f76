"""`http in` → ... → `http response` over real HTTP: Node-RED's msg shape, body parsing, responses, 413/503/504."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from _http_flows import http_flow

from runtime import FlowError
from runtime.testing import run_flow, wait_until


def _echo_flow(method: str = "get", url: str = "/echo", **extra: object) -> dict[str, object]:
    """http in → http response answering with msg.req, and a test-sink seeing the same msg."""
    return http_flow(
        {"id": "in", "type": "http in", "method": method, "url": url, "wires": [["as-req", "sink"]], **extra},
        {"id": "as-req", "type": "change", "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "req", "tot": "msg"}], "wires": [["out"]]},
        {"id": "out", "type": "http response"},
        {"id": "sink", "type": "test-sink"},
    )


async def test_get_gives_params_query_headers_cookies_and_the_query_as_payload() -> None:
    async with run_flow(_echo_flow(url="/users/:id/items/:item")) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/users/42/items/pen?colour=red&size=1&size=2", headers={"X-Trace": "abc", "Cookie": "session=s1; theme=dark"})
        [msg] = await flow.received("sink")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    req = response.json()
    assert req["params"] == {"id": "42", "item": "pen"}
    assert req["query"] == {"colour": "red", "size": ["1", "2"]}
    assert req["headers"]["x-trace"] == "abc"
    assert req["cookies"] == {"session": "s1", "theme": "dark"}
    assert (req["method"], req["path"], req["originalUrl"]) == ("GET", "/users/42/items/pen", "/users/42/items/pen?colour=red&size=1&size=2")
    assert req["ip"] == "127.0.0.1" and req["hostname"] == "127.0.0.1"
    assert "body" not in req
    assert msg["payload"] == {"colour": "red", "size": ["1", "2"]}
    assert set(msg["res"]) == {"_res"}


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b'{"a": [1, 2]}', "application/json", {"a": [1, 2]}),
        (b"a=1&b=two&a=3", "application/x-www-form-urlencoded", {"a": ["1", "3"], "b": "two"}),
        ("grüße".encode(), "text/plain; charset=utf-8", "grüße"),
        (b"<a/>", "application/xml", "<a/>"),
        (b"\x00\x01\xff", "application/octet-stream", "bytes:0001ff"),
        (b"\x89PNG", "image/png", "bytes:89504e47"),
        (b"", None, ""),
    ],
)
async def test_post_bodies_are_parsed_by_content_type(content: bytes, content_type: str | None, expected: object) -> None:
    async with run_flow(_echo_flow("post")) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        headers = {"Content-Type": content_type} if content_type else {}
        response = await client.post("/echo", content=content, headers=headers)
        [msg] = await flow.received("sink")
    assert response.status_code == 200, response.text
    payload = msg["payload"]
    got = f"bytes:{payload.hex()}" if isinstance(payload, bytes) else payload
    assert got == expected
    assert msg["req"]["body"] == msg["payload"]


async def test_invalid_json_is_a_400_and_no_message() -> None:
    async with run_flow(_echo_flow("post")) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.post("/echo", content=b"{nope", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert flow.node("sink").messages == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{ "b": 1,\n  "a": [2] }', "application/json"),
        (b"{nope", "application/json"),
        (b"a=1&a=2", "application/x-www-form-urlencoded"),
        ("grüße".encode(), "text/plain; charset=utf-8"),
        (b"--x\r\n", "multipart/form-data; boundary=x"),
    ],
)
async def test_skip_body_parsing_keeps_the_bytes_as_received(content: bytes, content_type: str) -> None:
    async with run_flow(_echo_flow("post", skipBodyParsing=True, upload=True)) as flow, \
            httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.post("/echo", content=content, headers={"Content-Type": content_type})
        [msg] = await flow.received("sink")
    assert response.status_code == 200, response.text
    assert msg["payload"] == content and msg["req"]["body"] == content
    assert "files" not in msg["req"]


async def test_upload_puts_files_in_msg_req_files_and_fields_in_the_body() -> None:
    async with run_flow(_echo_flow("post", upload=True)) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.post("/echo", data={"title": "report"}, files={"doc": ("r.csv", b"a,b\n1,2\n", "text/csv")})
        [msg] = await flow.received("sink")
    assert response.status_code == 200
    assert msg["payload"] == {"title": "report"}
    [upload] = msg["req"]["files"]
    assert upload == {"fieldname": "doc", "originalname": "r.csv", "encoding": "7bit", "mimetype": "text/csv", "buffer": b"a,b\n1,2\n", "size": 8}


def _answer(rules: list[dict[str, object]], **response: object) -> dict[str, object]:
    return http_flow(
        {"id": "in", "type": "http in", "method": "get", "url": "/r", "wires": [["set"]]},
        {"id": "set", "type": "change", "rules": rules, "wires": [["out"]]},
        {"id": "out", "type": "http response", **response},
    )


def _set(path: str, value: object, kind: str = "json") -> dict[str, object]:
    return {"t": "set", "p": path, "pt": "msg", "to": value if isinstance(value, str) else json.dumps(value), "tot": kind}


@pytest.mark.parametrize(
    ("rule", "body", "content_type"),
    [
        (_set("payload", "hello", "str"), b"hello", "text/html; charset=utf-8"),
        (_set("payload", 42, "num"), b"42", "text/html; charset=utf-8"),
        (_set("payload", [1, {"a": None}]), b'[1,{"a":null}]', "application/json; charset=utf-8"),
        (_set("payload", True, "bool"), b"true", "application/json; charset=utf-8"),
        ({"t": "delete", "p": "payload", "pt": "msg"}, b"", None),
    ],
)
async def test_bodies_are_sent_as_express_sends_them(rule: dict[str, object], body: bytes, content_type: str | None) -> None:
    async with run_flow(_answer([rule])) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/r")
    assert response.status_code == 200
    assert response.content == body
    assert response.headers.get("content-type") == content_type


async def test_bytes_are_sent_as_they_are() -> None:
    nodes = http_flow(
        {"id": "in", "type": "http in", "url": "/bin", "wires": [["f"]]},
        {"id": "f", "type": "function", "func": "msg['payload'] = bytes([0, 255])\nreturn msg", "wires": [["out"]]},
        {"id": "out", "type": "http response"},
    )
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/bin")
    assert response.content == b"\x00\xff"
    assert response.headers["content-type"] == "application/octet-stream"


async def test_status_headers_and_cookies() -> None:
    rules = [
        _set("payload", "made", "str"),
        _set("statusCode", 201, "num"),
        _set("headers", {"X-From-Msg": "msg", "X-Both": "msg"}),
        _set("cookies", {"plain": "v1", "rich": {"value": "v2", "maxAge": 60000, "httpOnly": True, "path": "/r"}, "gone": None}),
    ]
    async with run_flow(_answer(rules, headers={"X-Both": "node"})) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/r")
    assert response.status_code == 201 and response.text == "made"
    assert response.headers["x-from-msg"] == "msg"
    assert response.headers["x-both"] == "node", "the node's headers win over msg.headers"
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("plain=v1") and "Path=/" in c for c in cookies), cookies
    rich = next(c for c in cookies if c.startswith("rich="))
    assert "Max-Age=60" in rich and "HttpOnly" in rich and "Path=/r" in rich
    assert any(c.startswith('gone=""') and "Max-Age=0" in c for c in cookies), cookies


async def test_the_nodes_status_code_wins_over_msg_status_code() -> None:
    async with run_flow(_answer([_set("statusCode", 500, "num")], statusCode="202")) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/r")).status_code == 202


async def test_copies_of_a_message_answer_one_request_once() -> None:
    """Fan-out deep-copies msg; every copy names the same request and the first answer wins."""
    nodes = http_flow(
        {"id": "in", "type": "http in", "url": "/twice", "wires": [["first", "second"]]},
        {"id": "first", "type": "http response", "statusCode": "201"},
        {"id": "second", "type": "http response", "statusCode": "202"},
    )
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/twice")
        await flow.idle()
    assert response.status_code == 201


async def test_a_body_over_api_max_length_is_413_before_the_flow_runs() -> None:
    nodes = _echo_flow("post")
    nodes["settings"]["apiMaxLength"] = "1kb"
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        small = await client.post("/echo", content=b"x" * 1024, headers={"Content-Type": "text/plain"})
        big = await client.post("/echo", content=b"x" * 1025, headers={"Content-Type": "text/plain"})

        async def chunks():  # no Content-Length: the limit holds while reading
            for _ in range(3):
                yield b"y" * 600

        chunked = await client.post("/echo", content=chunks(), headers={"Content-Type": "text/plain"})
        await flow.idle()
        assert small.status_code == 200
        assert big.status_code == 413 and chunked.status_code == 413
        assert len(flow.node("sink").messages) == 1


async def test_a_request_nobody_answers_is_504_after_the_timeout() -> None:
    nodes = http_flow({"id": "in", "type": "http in", "url": "/void", "wires": [["sink"]]}, {"id": "sink", "type": "test-sink"}, httpResponseTimeout=200)
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/void")
        assert len(flow.node("sink").messages) == 1
    assert response.status_code == 504


async def test_a_saturated_node_answers_503_instead_of_queueing() -> None:
    """window 2: two requests are in the flow (held by a delay for 1 s); the third is refused at once."""
    nodes = http_flow(
        {"id": "in", "type": "http in", "url": "/slow", "window": 2, "wires": [["wait"]]},
        {"id": "wait", "type": "delay", "pauseType": "delay", "timeout": "1", "timeoutUnits": "seconds", "wires": [["out"]]},
        {"id": "out", "type": "http response"},
    )
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        held = [asyncio.ensure_future(client.get("/slow")) for _ in range(2)]
        await wait_until(lambda: flow.node("in").in_progress == 2, what="two requests in the flow")
        refused = await client.get("/slow")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        assert (await client.get("/slow")).status_code == 200, "the window frees once the flow finished a request"


async def test_routes_methods_and_unknown_paths() -> None:
    nodes = http_flow(
        {"id": "get", "type": "http in", "method": "GET", "url": "/thing", "wires": [["g"]]},
        {"id": "g", "type": "change", "rules": [_set("payload", "got", "str")], "wires": [["out"]]},
        {"id": "put", "type": "http in", "method": "put", "url": "/thing", "wires": [["p"]]},
        {"id": "p", "type": "change", "rules": [_set("payload", "put", "str")], "wires": [["out"]]},
        {"id": "all", "type": "http in", "url": "/files/*", "wires": [["f"]]},
        {"id": "f", "type": "change", "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": "req.params.0", "tot": "msg"}], "wires": [["out"]]},
        {"id": "out", "type": "http response"},
    )
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/thing/")).text == "got"
        assert (await client.put("/THING")).text == "put"
        assert (await client.get("/files/a/b.txt")).text == "a/b.txt"
        assert (await client.post("/thing")).status_code == 405
        assert (await client.get("/nothing")).status_code == 404


async def test_http_node_root_and_cors() -> None:
    nodes = _echo_flow()
    nodes["settings"].update(httpNodeRoot="/api", httpNodeCors={"origin": "*", "methods": "GET,POST"})
    async with run_flow(nodes) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/echo")).status_code == 404
        response = await client.get("/api/echo")
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
        preflight = await client.options("/api/echo", headers={"Origin": "http://x", "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204 and preflight.headers["access-control-allow-methods"] == "GET,POST"


async def test_http_response_without_msg_res_warns(caplog: pytest.LogCaptureFixture) -> None:
    async with run_flow(http_flow({"id": "out", "type": "http response"})) as flow:
        await flow.inject("out", {"payload": 1})
        await flow.idle()
    assert "No response object" in caplog.text


async def test_bad_server_settings_are_located_problems() -> None:
    with pytest.raises(FlowError) as caught:
        async with run_flow({"settings": {"uiPort": "eighty", "apiMaxLength": "lots", "httpResponseTimeout": 0}, "nodes": [{"id": "in", "type": "http in", "url": "/x"}]}):
            pass
    fields = sorted(p.field for p in caught.value.problems)
    assert fields == ["settings.apiMaxLength", "settings.httpResponseTimeout", "settings.uiPort"]


async def test_no_server_without_http_nodes_or_settings() -> None:
    async with run_flow(http_flow({"id": "sink", "type": "test-sink"})) as flow:
        assert not flow.runtime.http.running and flow.runtime.http.url is None
