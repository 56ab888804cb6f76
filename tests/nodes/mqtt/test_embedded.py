"""mqtt-broker `embedded`: an in-process broker for offline flows, on a free loopback port."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow


def _flow(**broker: object) -> list[dict]:
    return [
        {"id": "b", "type": "mqtt-broker", "reconnectDelay": 0.1, **broker},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "emb/#", "qos": "1", "wires": [["sink"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "emb/x", "qos": "1"},
        {"id": "sink", "type": "test-sink"},
    ]


async def test_auto_with_an_empty_broker_runs_the_embedded_broker_on_a_free_port(caplog):
    caplog.set_level(logging.WARNING)
    with _port_1883_taken():
        async with run_flow(_flow(broker="", port="1883", embedded="auto")) as f:
            broker = f.node("b")
            assert broker.embedded is not None and broker.embedded.port != 1883
            assert broker.connection.settings.port == broker.embedded.port
            await broker.connection.wait_subscribed(5)
            await f.inject("out", {"payload": {"q": "hello"}})
            (msg,) = await f.received("sink", timeout=5)
            assert msg["payload"] == {"q": "hello"} and msg["topic"] == "emb/x"
    assert broker.embedded is None  # closed with the flow
    offline = [r.getMessage() for r in caplog.records if "OFFLINE" in r.getMessage()]
    assert len(offline) == 1 and "embedded broker" in offline[0] and "broker is empty" in offline[0]


@contextlib.contextmanager
def _port_1883_taken() -> Iterator[None]:
    """Occupy 1883 (unless something already does): the embedded broker must not assume it is free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", 1883))
            sock.listen()
        yield


async def test_auto_with_a_broker_address_does_not_embed(broker):
    async with run_flow(_flow(broker="127.0.0.1", port=str(broker.port), embedded="auto")) as f:
        assert f.node("b").embedded is None
        await f.node("b").connection.wait_connected(5)


async def test_always_ignores_the_broker_address():
    async with run_flow(_flow(broker="mqtt.invalid", embedded="always")) as f:
        b = f.node("b")
        assert b.connection.settings.host == "127.0.0.1" and b.connection.settings.port == b.embedded.port
        await b.connection.wait_connected(5)


@pytest.mark.parametrize(("extra", "message"), [
    ({"protocolVersion": 5}, "field 'protocolVersion': the embedded broker speaks MQTT 3.1.1 only"),
    ({"usetls": True}, "field 'usetls': the embedded broker listens without TLS"),
])
def test_always_with_what_the_embedded_broker_cannot_do_is_a_validation_error(extra, message):
    with pytest.raises(FlowError, match=message):
        build([{"id": "b", "type": "mqtt-broker", "embedded": "always", **extra}])


def test_the_embedded_broker_is_imported_only_when_used() -> None:
    probe = "import sys, runtime._registry as r; r.load_builtins(); print('amqtt' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[3], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
