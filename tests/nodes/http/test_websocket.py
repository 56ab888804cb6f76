"""websocket nodes over real sockets: echo to one client, broadcast to all, whole messages, the client node reconnecting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _http_flows import http_flow
from aiohttp import web

from runtime.testing import run_flow, wait_until


def _ws_url(http_url: str, path: str) -> str:
    return http_url.replace("http://", "ws://") + path


def _echo(wholemsg: bool = False) -> dict[str, Any]:
    return http_flow(
        {"id": "listen", "type": "websocket-listener", "path": "/ws/echo", "wholemsg": wholemsg},
        {"id": "in", "type": "websocket in", "server": "listen", "client": "", "wires": [["shout", "sink"]]},
        {"id": "shout", "type": "function", "func": "msg['payload'] = msg['payload'].upper() if isinstance(msg['payload'], str) else msg['payload']\nreturn msg", "wires": [["out"]]},
        {"id": "out", "type": "websocket out", "server": "listen"},
        {"id": "sink", "type": "test-sink"},
    )


async def test_replies_go_to_the_sender_only_and_a_msg_without_session_to_everyone() -> None:
    async with run_flow(_echo()) as flow, aiohttp.ClientSession() as http:
        url = _ws_url(flow.runtime.http.url, "/ws/echo")
        async with http.ws_connect(url) as alice, http.ws_connect(url) as bob:
            await wait_until(lambda: len(flow.node("listen").clients) == 2, what="two clients")
            await alice.send_str("hello from alice")
            assert (await alice.receive(timeout=5)).data == "HELLO FROM ALICE"
            await bob.send_bytes(b"\x00\x01")
            assert (await bob.receive(timeout=5)).data == b"\x00\x01"
            [first, second] = await flow.received("sink", 2)
            assert first["payload"] == "hello from alice" and second["payload"] == b"\x00\x01"
            assert first["_session"]["type"] == "websocket" and first["_session"]["id"] != second["_session"]["id"]

            await flow.inject("out", {"payload": {"news": 1}})  # no _session: a broadcast
            for client in (alice, bob):
                assert json.loads((await client.receive(timeout=5)).data) == {"news": 1}
            with pytest.raises(asyncio.TimeoutError):
                await alice.receive(timeout=0.2)  # alice got only her own echo and the broadcast


async def test_wholemsg_frames_are_whole_messages() -> None:
    async with run_flow(_echo(wholemsg=True)) as flow, aiohttp.ClientSession() as http:
        async with http.ws_connect(_ws_url(flow.runtime.http.url, "/ws/echo")) as ws:
            await ws.send_str(json.dumps({"payload": "hi", "topic": "t"}))
            reply = json.loads((await ws.receive(timeout=5)).data)
    assert reply == {"payload": "HI", "topic": "t", "_msgid": reply["_msgid"]}


async def test_a_plain_get_on_a_websocket_path_is_not_found() -> None:
    async with run_flow(_echo()) as flow, aiohttp.ClientSession() as http:
        async with http.get(flow.runtime.http.url + "/ws/echo") as response:
            assert response.status == 404


class RemoteServer:
    """A websocket server outside the flow for the client node: echoes with a prefix, counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.sockets: list[web.WebSocketResponse] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.sockets.append(ws)
        async for frame in ws:
            await ws.send_str(f"remote got {frame.data}")
        return ws

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        self.sockets.clear()
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    server = RemoteServer()
    await server.start()
    yield server
    if server.runner is not None:
        await server.runner.cleanup()


async def test_the_client_node_sends_receives_and_reconnects(remote: RemoteServer) -> None:
    nodes = http_flow(
        {"id": "conn", "type": "websocket-client", "path": f"ws://127.0.0.1:{remote.port}/feed"},
        {"id": "in", "type": "websocket in", "client": "conn", "wires": [["sink"]]},
        {"id": "out", "type": "websocket out", "client": "conn"},
        {"id": "sink", "type": "test-sink"},
        webSocketReconnectTime=100,
    )
    async with run_flow(nodes) as flow:
        client = flow.node("conn")
        await wait_until(lambda: client.ready, what="connected")
        await flow.inject("out", {"payload": "one"})
        [msg] = await flow.received("sink", 1)
        assert msg["payload"] == "remote got one" and msg["_session"]["type"] == "websocket"

        await remote.stop()
        await wait_until(lambda: not client.ready, what="disconnected")
        await remote.start()  # same port
        await wait_until(lambda: client.ready, timeout=10, what="reconnected")
        assert remote.connections == 2
        await flow.inject("out", {"payload": "two"})
        await flow.received("sink", 2)
        assert flow.node("sink").messages[1]["payload"] == "remote got two"


async def test_websocket_nodes_need_exactly_one_endpoint() -> None:
    from runtime import FlowError

    with pytest.raises(FlowError) as caught:
        async with run_flow(http_flow({"id": "out", "type": "websocket out"})):
            pass
    assert "exactly one of server" in str(caught.value)
