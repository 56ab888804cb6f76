"""Node-RED's websocket nodes: `websocket-listener` (a path on the runtime's server), `websocket-client`
(an outgoing connection that reconnects), `websocket in` and `websocket out`.

A message from a socket carries `msg._session = {"type": "websocket", "id": ...}`;
`websocket out` sends a msg that still carries it back to that one client,
and any other msg to every client of the listener (Node-RED's broadcast).
With `wholemsg` the frames are whole messages as JSON instead of payloads.
Reading a socket waits while the flow is saturated (`emit`'s window), so a
fast client is slowed by TCP rather than queued without bound.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime import ConfigNode, ConfigRef, Msg, Node, NodeError, NodeProps, lenient, register
from runtime.http import Route

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

_ids = itertools.count(1)
_prefix = os.urandom(3).hex()


def _session_id() -> str:
    return f"{_prefix}.{next(_ids):x}"


def _to_msg(data: str | bytes, wholemsg: bool, session: str) -> Msg:
    msg: Msg
    if wholemsg:
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        msg = parsed if isinstance(parsed, dict) else {"payload": data}
    else:
        msg = {"payload": data}
    msg["_session"] = {"type": "websocket", "id": session}
    return msg


def _frame(msg: Msg, wholemsg: bool) -> str | bytes:
    if wholemsg:
        return json.dumps({k: v for k, v in msg.items() if k != "_session"}, default=str)
    payload = msg.get("payload")
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, default=str)


async def _send(ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, frame: str | bytes) -> None:
    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    else:
        await ws.send_str(frame)


class _Endpoint(ConfigNode):
    """What listener and client share: the `websocket in` nodes fed by it, status for the nodes using it."""

    props: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inputs: list[WebsocketIn] = []
        self.users: list[Node] = []

    async def deliver(self, data: str | bytes, session: str) -> None:
        for node in list(self.inputs):
            await node.emit(_to_msg(data, self.props.wholemsg, session))

    def show(self, fill: str, text: str) -> None:
        for node in self.users:
            node.status(fill, "dot", text)


class ListenerProps(NodeProps):
    path: str = Field(description="path under httpNodeRoot, e.g. /ws/chat")
    wholemsg: lenient.Bool = Field(False, description="frames are whole messages as JSON rather than msg.payload")


@register("websocket-listener")
class WebsocketListener(_Endpoint):
    """A websocket path on the runtime's HTTP server that clients connect to."""

    Props = ListenerProps
    props: ListenerProps

    @classmethod
    def check(cls, props: ListenerProps) -> list[tuple[str, str]]:
        return [] if props.path.strip() else [("path", "needs a path such as /ws/chat")]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clients: dict[str, web.WebSocketResponse] = {}
        self.route: Route | None = None

    async def start(self) -> None:
        path = self.props.path if self.props.path.startswith("/") else "/" + self.props.path
        self.route = self.http.add_websocket(path, self.serve)

    async def serve(self, request: web.Request, params: Mapping[str, str]) -> web.StreamResponse:
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse(max_msg_size=self.http.max_body, autoping=True)
        await ws.prepare(request)
        session = _session_id()
        self.clients[session] = ws
        self.show("green", f"connected {len(self.clients)}")
        try:
            async for frame in ws:
                if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self.deliver(frame.data, session)
                elif frame.type == WSMsgType.ERROR:
                    self.warn(f"websocket error: {ws.exception()}")
        finally:
            self.clients.pop(session, None)
            self.show("green" if self.clients else "grey", f"connected {len(self.clients)}")
        return ws

    async def send(self, msg: Msg) -> None:
        frame = _frame(msg, self.props.wholemsg)
        session = msg.get("_session")
        if isinstance(session, dict) and session.get("type") == "websocket" and session.get("id"):
            ws = self.clients.get(str(session["id"]))
            targets = [ws] if ws is not None else []
        else:
            targets = list(self.clients.values())
        await asyncio.gather(*(_send(ws, frame) for ws in targets if not ws.closed), return_exceptions=True)

    async def close(self) -> None:
        import aiohttp

        if self.route is not None:
            self.http.remove_route(self.route)
        for ws in list(self.clients.values()):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")


class HeaderRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    keyType: str = "other"
    keyValue: str = ""
    valueType: str = "other"
    valueValue: str = ""


class ClientProps(NodeProps):
    path: str = Field(description="the server's URL: ws://host:port/path or wss://...")
    wholemsg: lenient.Bool = Field(False, description="frames are whole messages as JSON rather than msg.payload")
    hb: lenient.OptFloat = Field(0, description="heartbeat (ping) every this many seconds; 0: none")
    subprotocol: str = Field("", description="subprotocol to ask for")
    headers: list[HeaderRow] = Field(default_factory=list, description="extra request headers: {keyValue, valueValue} rows")
    tls: Annotated[str, ConfigRef("tls-config", optional=True)] = Field("", description="(accepted; wss:// uses the system CAs)")

    @field_validator("headers", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return [] if value in ("", None) else value


@register("websocket-client")
class WebsocketClient(_Endpoint):
    """An outgoing websocket connection, reconnected after `webSocketReconnectTime` ms (default 10000) when lost."""

    Props = ClientProps
    props: ClientProps

    @classmethod
    def check(cls, props: ClientProps) -> list[tuple[str, str]]:
        if not props.path.startswith(("ws://", "wss://")):
            return [("path", "needs a ws:// or wss:// URL")]
        return []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.session_id = _session_id()
        self.task: asyncio.Task[None] | None = None
        self.reconnect_delay = self.http.config.reconnect_delay

    @property
    def ready(self) -> bool:
        return self.socket is not None and not self.socket.closed

    async def start(self) -> None:
        self.task = self.spawn(self.run())

    async def run(self) -> None:
        import aiohttp
        from aiohttp import WSMsgType

        props = self.props
        headers = {row.keyValue: row.valueValue for row in props.headers if row.keyValue}
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.ws_connect(props.path, headers=headers, heartbeat=props.hb or None,
                                               protocols=[props.subprotocol] if props.subprotocol else (),
                                               max_msg_size=self.http.max_body) as ws:
                        self.socket = ws
                        self.show("green", "connected")
                        async for frame in ws:
                            if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                                await self.deliver(frame.data, self.session_id)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    self.log.info("cannot connect to %s: %s", props.path, exc)
                finally:
                    self.socket = None
                self.show("red", "disconnected")
                await asyncio.sleep(self.reconnect_delay)

    async def send(self, msg: Msg) -> None:
        ws = self.socket
        if ws is None or ws.closed:
            raise NodeError(f"websocket {self.props.path} is not connected; the message was not sent", msg)
        await _send(ws, _frame(msg, self.props.wholemsg))

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.socket is not None:
            await self.socket.close()


class InOutProps(NodeProps):
    server: Annotated[str, ConfigRef("websocket-listener", optional=True)] = Field("", description="a websocket-listener (server side)")
    client: Annotated[str, ConfigRef("websocket-client", optional=True)] = Field("", description="a websocket-client (client side)")


def _check_one(props: InOutProps) -> list[tuple[str, str]]:
    if bool(props.server) == bool(props.client):
        return [("server", "needs exactly one of server (a websocket-listener) or client (a websocket-client)")]
    return []


class _Uses(Node):
    props: InOutProps

    def endpoint(self) -> _Endpoint:
        found: _Endpoint = self.config_node(self.props.server or self.props.client)
        return found


@register("websocket in")
class WebsocketIn(_Uses):
    """Emits a message for every frame a websocket-listener's clients or a websocket-client receive."""

    Props = InOutProps

    @classmethod
    def check(cls, props: InOutProps) -> list[tuple[str, str]]:
        return _check_one(props)

    async def start(self) -> None:
        endpoint = self.endpoint()
        endpoint.inputs.append(self)
        endpoint.users.append(self)

    async def stop(self) -> None:
        endpoint = self.endpoint()
        if self in endpoint.inputs:
            endpoint.inputs.remove(self)


@register("websocket out")
class WebsocketOut(_Uses):
    """Sends msg.payload (or the whole msg) to the client in msg._session, or to every client."""

    Props = InOutProps

    @classmethod
    def check(cls, props: InOutProps) -> list[tuple[str, str]]:
        return _check_one(props)

    async def start(self) -> None:
        self.endpoint().users.append(self)

    async def on_input(self, msg: Msg) -> None:
        await self.endpoint().send(msg)
