"""The admin API over real HTTP: bearer token, GET/POST /flows (validate-drain-replace), inject, nodes, context."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest

import nodes.http  # noqa: F401  (the family, even where the installed entry points predate it)
from runtime.testing import run_flow, wait_until

TOKEN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _doc(*nodes: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"settings": {"uiPort": 0, "uiHost": "127.0.0.1", **settings}, "nodes": list(nodes)}


def _hello(text: str) -> list[dict[str, Any]]:
    return [
        {"id": "in", "type": "http in", "url": "/hello", "wires": [["say"]]},
        {"id": "say", "type": "change", "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": text, "tot": "str"}], "wires": [["out"]]},
        {"id": "out", "type": "http response"},
    ]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWWIRE_ADMIN_TOKEN", TOKEN)


async def test_admin_api_is_off_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWWIRE_ADMIN_TOKEN")
    async with run_flow(_doc(*_hello("hi"))) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/flows", headers=AUTH)).status_code == 404


async def test_every_endpoint_needs_the_token(caplog: pytest.LogCaptureFixture) -> None:
    async with run_flow(_doc(*_hello("hi"))) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        for method, path in [("GET", "/flows"), ("POST", "/flows"), ("GET", "/nodes"), ("POST", "/inject/x"), ("GET", "/context/global")]:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await client.get("/flows", headers=AUTH)).status_code == 200
    assert TOKEN not in caplog.text


async def test_get_flows_is_the_running_document_with_credentials_masked() -> None:
    nodes = [*_hello("hi"), {"id": "req", "type": "http request", "url": "http://x", "password": "s3cret-pass"}]
    async with run_flow(_doc(*nodes)) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        v1 = (await client.get("/flows")).json()
        v2 = (await client.get("/flows", headers={"Node-RED-API-Version": "v2"})).json()
    by_id = {n["id"]: n for n in v1}
    assert by_id["in"] == {"id": "in", "type": "http in", "url": "/hello", "wires": [["say"]]}
    assert by_id["req"]["password"] == "__PWRD__"
    assert v2["flows"] == v1 and len(v2["rev"]) == 16


async def test_a_deploy_replaces_the_flows_and_keeps_unchanged_credentials() -> None:
    async with run_flow(_doc(*_hello("old"))) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        assert (await client.get("/hello")).text == "old"
        deployed = await client.post("/flows", json=_hello("new"), headers={"Node-RED-Deployment-Type": "full"})
        assert deployed.status_code == 204, deployed.text
        assert (await client.get("/hello")).text == "new"
        v2 = await client.post("/flows", json={"flows": _hello("v2")}, headers={"Node-RED-API-Version": "v2"})
        assert v2.status_code == 200 and "rev" in v2.json()
        assert (await client.get("/hello")).text == "v2"


async def test_a_bad_deploy_answers_the_located_problems_and_leaves_the_flows_running() -> None:
    async with run_flow(_doc(*_hello("old"))) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        before = flow.runtime.nodes["say"]
        bad = [*_hello("new"), {"id": "oops", "type": "chnage", "wires": [["nowhere"]]}]
        response = await client.post("/flows", json=bad)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid_flows"
        assert any("node 'oops'" in p and "unknown node type 'chnage'" in p and "did you mean 'change'" in p for p in body["problems"]), body
        assert any("wire to unknown node id 'nowhere'" in p for p in body["problems"]), body
        assert (await client.get("/hello")).text == "old"
        assert flow.runtime.nodes["say"] is before, "nothing was restarted"
        assert (await client.post("/flows", content=b"{not json", headers={"Content-Type": "application/json"})).status_code == 400
        bad_settings = await client.post("/flows", json={"settings": {"apiMaxLength": "lots"}, "nodes": _hello("new")})
        assert bad_settings.status_code == 400
        assert bad_settings.json()["problems"] == ["<POST /flows>: field 'settings.apiMaxLength': must be a size: bytes, or a string such as \"100kb\" or \"5mb\""]
        assert (await client.get("/hello")).text == "old"
        assert flow.runtime.nodes["say"] is before


async def test_inject_fires_an_inject_node_like_the_editor_button() -> None:
    nodes = [
        {"id": "tick", "type": "inject", "props": [{"p": "payload", "v": "pressed", "vt": "str"}], "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(_doc(*nodes, health=True)) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        response = await client.post("/inject/tick")
        assert response.status_code == 200 and response.text == "OK"
        [msg] = await flow.received("sink")
        assert msg["payload"] == "pressed"
        assert (await client.post("/inject/sink")).status_code == 404
        assert (await client.post("/inject/missing")).status_code == 404


async def test_nodes_lists_types_with_property_schemas() -> None:
    async with run_flow(_doc(health=True)) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        types = {t["type"]: t for t in (await client.get("/nodes")).json()}
    assert "url" in types["http in"]["properties"]["properties"]
    assert types["change"]["config"] is False and types["http response"]["summary"]


async def test_context_is_readable() -> None:
    nodes = [{"id": "f", "type": "function", "z": "tab1", "func": "global_.set('count', 3)\nflow.set('name', 'x')\ncontext.set('seen', [1])\nreturn None"},
             {"id": "tab1", "type": "tab"}]
    async with run_flow(_doc(*nodes, health=True)) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        await flow.inject("f", {})
        await flow.idle()
        assert (await client.get("/context/global")).json() == {"memory": {"count": 3}}
        assert (await client.get("/context/global/count")).json() == {"memory": 3}
        assert (await client.get("/context/flow/tab1")).json() == {"memory": {"name": "x"}}
        assert (await client.get("/context/node/f/seen")).json() == {"memory": [1]}
        assert (await client.get("/context/nowhere")).status_code == 404


async def test_a_deploy_drains_in_flight_requests_first() -> None:
    """A request inside the old flow (held by a delay) is answered by the old flow before the new one starts."""
    old = [
        {"id": "in", "type": "http in", "url": "/slow", "wires": [["wait"]]},
        {"id": "wait", "type": "delay", "pauseType": "delay", "timeout": "1", "timeoutUnits": "seconds", "wires": [["out"]]},
        {"id": "out", "type": "http response"},
    ]
    async with run_flow(_doc(*old)) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url, headers=AUTH) as client:
        pending = asyncio.ensure_future(client.get("/slow", params={"n": "1"}))
        await wait_until(lambda: flow.runtime.in_flight == 1, what="the request in the flow")
        deployed = await client.post("/flows", json=_hello("new"))
        assert deployed.status_code == 204
        assert (await pending).json() == {"n": "1"}
        assert (await client.get("/hello")).text == "new"


async def test_deployment_type_reload_reads_the_flow_files_again(tmp_path: Path) -> None:
    import yaml

    from runtime import Runtime, check_files

    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(_doc(*_hello("from disk"))))
    runtime = Runtime(check_files([path]))
    await runtime.start()
    try:
        async with httpx2.AsyncClient(base_url=runtime.http.url, headers=AUTH) as client:
            assert (await client.get("/hello")).text == "from disk"
            path.write_text(yaml.safe_dump(_doc(*_hello("edited"))))
            assert (await client.post("/flows", headers={"Node-RED-Deployment-Type": "reload"})).status_code == 204
            assert (await client.get("/hello")).text == "edited"
            path.write_text("nodes: [{id: x, type: nope}]")
            broken = await client.post("/flows", headers={"Node-RED-Deployment-Type": "reload"})
            assert broken.status_code == 400 and f"{path}:1: node 'x'" in broken.json()["problems"][0]
            assert (await client.get("/hello")).text == "edited"
    finally:
        await runtime.stop()
