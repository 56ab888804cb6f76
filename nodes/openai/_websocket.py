"""manageModelResponseWebSocket: Node-RED's Responses API WebSocket manager, on the SDK's `responses.connect()`.

One method, three actions, as the Node-RED node has them: `connect` opens a
socket (named by the flow's `connection_id`) and answers with a connection
object; `send` sends a client event (`type: "response.create"`); `close`
closes it. Every server event on an open socket leaves the node as a *new*
msg (`payload` = the event, `msg.openai` = transport, direction, connection
id, event type), since it answers no particular input. Sockets belong to the
node and are closed with it (code 1000, "Node-RED node closed", as Node-RED).

There is no SDK signature to validate against (`connect()` takes transport
options, not these properties), so the checks are here, in the same words
as the SDK-derived ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
from typing import TYPE_CHECKING, Any

from ._params import PayloadError, json_type

if TYPE_CHECKING:
    import openai

    from runtime import Node

ACTIONS = ("connect", "send", "close")
#: property → (type text, required, meaning): the docs table and the checks.
PARAMS: dict[str, tuple[str, str, str]] = {
    "action": ('"connect" \\| "send" \\| "close"', "yes", "what to do"),
    "connection_id": ("string", "yes", ("the flow's name for the socket; `send` and `close` use the one "
                                        "`connect` opened")),
    "event": ("object (`type`*)", "with send", ("the client event to send; `type` must be `response.create` "
                                                "(the other keys are the response's parameters)")),
    "code": ("integer", "no", "close code (default 1000)"),
    "reason": ("string", "no", "close reason (default \"OK\")"),
}
TRANSPORT = "responses.websocket"


def check(method: str, payload: Any) -> dict[str, Any]:
    """The request, or `PayloadError` naming every property at fault."""
    if not isinstance(payload, dict):
        raise PayloadError(method, [("", f"the request must be an object of properties, got {json_type(payload)}")])
    problems: list[tuple[str, str]] = []
    for name in payload:
        if name not in PARAMS:
            close = difflib.get_close_matches(name, list(PARAMS), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(PARAMS)}"
            problems.append((name, f"unknown property '{name}'{hint}"))
    action = payload.get("action")
    if action not in ACTIONS:
        text = "missing required property 'action'" if action is None else f"property 'action' must be one of " \
            f"{', '.join(ACTIONS)}, got {json.dumps(action)}"
        problems.append(("action", text))
    connection_id = payload.get("connection_id")
    if not (isinstance(connection_id, str) and connection_id):
        problems.append(("connection_id", "property 'connection_id' must be a non-empty string"
                         if "connection_id" in payload else "missing required property 'connection_id' (string)"))
    if action == "send":
        event = payload.get("event")
        if not isinstance(event, dict) or event.get("type") != "response.create":
            problems.append(("event", "property 'event' must be an object with type \"response.create\""))
    if "code" in payload and (not isinstance(payload["code"], int) or isinstance(payload["code"], bool)):
        problems.append(("code", f"property 'code' must be integer, got {json_type(payload['code'])}"))
    if "reason" in payload and not isinstance(payload["reason"], str):
        problems.append(("reason", f"property 'reason' must be string, got {json_type(payload['reason'])}"))
    if problems:
        raise PayloadError(method, problems)
    return payload


class SocketError(Exception):
    """An action that does not fit the open sockets (send on a closed one, connect twice)."""


class Sockets:
    """The open sockets of one node, by connection id."""

    def __init__(self, node: Node, method: str) -> None:
        self.node = node
        self.method = method
        self.open: dict[str, tuple[Any, asyncio.Task[None]]] = {}

    async def handle(self, client: openai.AsyncOpenAI, request: dict[str, Any]) -> dict[str, Any]:
        action, connection_id = request["action"], request["connection_id"]
        if action == "connect":
            if connection_id in self.open:
                raise SocketError(f"connection '{connection_id}' is already open")
            manager = client.responses.connect()
            connection = await manager.enter()
            reader = asyncio.create_task(self._read(connection_id, connection))
            self.open[connection_id] = (connection, reader)
            url = str(manager._prepare_url())
            return {"object": "response.websocket.connection", "action": "connect", "connection_id": connection_id,
                    "url": url}
        if connection_id not in self.open:
            raise SocketError(f"no open connection '{connection_id}'")
        connection, reader = self.open[connection_id]
        if action == "send":
            await connection.send(request["event"])
            return {"object": "response.websocket.event", "action": "send", "connection_id": connection_id,
                    "event_type": request["event"]["type"]}
        code, reason = request.get("code", 1000), request.get("reason", "OK")
        await self._close(connection_id, code, reason)
        return {"object": "response.websocket.connection", "action": "close", "connection_id": connection_id,
                "code": code, "reason": reason}

    async def _read(self, connection_id: str, connection: Any) -> None:
        """Every server event as a new msg, until the socket closes."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                data = json.loads(await connection.recv_bytes())
                kind = data.get("type") if isinstance(data, dict) else None
                self.node.send({"payload": data, "openai": {
                    "method": self.method, "transport": TRANSPORT, "direction": "server",
                    "connection_id": connection_id, "event_type": kind}})
        except (ConnectionClosed, asyncio.CancelledError):
            pass
        except Exception as exc:  # the socket failed: no msg to attach it to, as in Node-RED
            self.node.error(f"{self.method}: connection '{connection_id}': {type(exc).__name__}: {exc}")
        finally:
            self.open.pop(connection_id, None)

    async def _close(self, connection_id: str, code: int, reason: str) -> None:
        connection, reader = self.open.pop(connection_id)
        with contextlib.suppress(Exception):
            await connection.close(code=code, reason=reason)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader

    async def close_all(self) -> None:
        for connection_id in list(self.open):
            await self._close(connection_id, 1000, "Node-RED node closed")
