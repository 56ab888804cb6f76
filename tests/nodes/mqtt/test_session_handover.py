"""A persistent session handed to the next connection (a deploy, a restart) gets back nothing the flow finished.

Between two connections with the same client id, MQTT orders nothing: a
broker may handle the new connection's CONNECT before the last packets of the
old one, which it then discards with the taken-over connection. Mosquitto
does so under load (it reads one packet per socket per turn of its loop), and
the acks the old flows sent last were lost: the broker delivered those
messages again to the new flows (issue 13, "0 duplicated").

`_LateReader` is such a broker, deterministically: it sits in front of
Mosquitto and passes on what a client sends only when a packet that must be
answered comes (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, a QoS >= 1 PUBLISH,
PUBREL), with everything held before it. What a client sends last and needs
no answer for (acks, DISCONNECT) never reaches Mosquitto before the next
connection takes the session over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from _mosquitto import Mosquitto

from runtime.testing import build, run_flow

_CONNECT, _PUBLISH, _PUBREL, _SUBSCRIBE, _UNSUBSCRIBE, _PINGREQ = 1, 3, 6, 8, 10, 12


def _answered(first_byte: int) -> bool:
    kind = first_byte >> 4
    return kind in (_CONNECT, _PUBREL, _SUBSCRIBE, _UNSUBSCRIBE, _PINGREQ) or (kind == _PUBLISH and bool(first_byte & 0x06))


async def _packet(reader: asyncio.StreamReader) -> bytes | None:
    """One whole MQTT packet, or None at the end of the stream."""
    try:
        head = await reader.readexactly(1)
        length, shift, lengths = 0, 0, b""
        while True:
            byte = await reader.readexactly(1)
            lengths += byte
            length |= (byte[0] & 127) << shift
            if not byte[0] & 128:
                break
            shift += 7
        return head + lengths + await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


class _LateReader:
    """A TCP hop to the broker that holds each client's packets until one of them needs an answer."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._streams: list[asyncio.StreamWriter] = []

    async def start(self) -> _LateReader:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close every connection both ways (each `_serve` then ends on its own) and stop listening."""
        assert self._server is not None
        self._server.close()
        for stream in self._streams:
            stream.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self._streams += [writer, up_writer]
        back = asyncio.create_task(self._pipe_back(up_reader, writer))
        held = bytearray()
        try:
            while (packet := await _packet(reader)) is not None:
                held += packet
                if _answered(packet[0]):
                    up_writer.write(bytes(held))
                    held.clear()
                    await up_writer.drain()
            # The client is gone; what it sent last stays unread until the broker drops this connection.
            await back
        finally:
            back.cancel()
            await asyncio.gather(back, return_exceptions=True)
            up_writer.close()
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe_back(up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()


@contextlib.asynccontextmanager
async def _late_reader(broker: Mosquitto) -> AsyncIterator[_LateReader]:
    hop = await _LateReader(broker.port).start()
    try:
        yield hop
    finally:
        await hop.stop()


def _flow(port: int) -> list[dict[str, Any]]:
    return [
        {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": port, "clientid": "handover",
         "cleansession": "false"},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "ho/in", "qos": "1", "atLeastOnce": True, "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]


async def test_a_deploy_does_not_get_back_what_the_old_flows_finished(broker: Mosquitto, peers: Callable[..., Any]) -> None:
    source = peers(broker.port)
    async with _late_reader(broker) as hop, run_flow(_flow(hop.port)) as flow:
        await flow.node("b").connection.wait_subscribed(5)
        for i in range(3):
            source.publish("ho/in", f"m{i}", qos=1)
        assert [m["payload"] for m in await flow.received("sink", 3)] == ["m0", "m1", "m2"]
        await flow.runtime.deploy(build(_flow(hop.port)).graph)
        await flow.node("b").connection.wait_subscribed(5)
        source.publish("ho/in", "after the deploy", qos=1)
        [first] = await flow.received("sink", 1)
    assert first["payload"] == "after the deploy", "the new flows got a message the old flows had finished"


async def test_a_restart_does_not_get_back_what_the_last_run_finished(broker: Mosquitto, peers: Callable[..., Any]) -> None:
    source = peers(broker.port)
    async with _late_reader(broker) as hop:
        async with run_flow(_flow(hop.port)) as first_run:
            await first_run.node("b").connection.wait_subscribed(5)
            for i in range(3):
                source.publish("ho/in", f"m{i}", qos=1)
            await first_run.received("sink", 3)
        async with run_flow(_flow(hop.port)) as second_run:
            await second_run.node("b").connection.wait_subscribed(5)
            source.publish("ho/in", "after the restart", qos=1)
            [first] = await second_run.received("sink", 1)
    assert first["payload"] == "after the restart", "the restarted flow got a message the last run had finished"
