"""An MQTT broker inside the flowwire process, for demos and offline runs.

We embed amqtt (an asyncio MQTT 3.1.1 broker from PyPI) rather than write a
broker: it runs on our event loop, needs no binary, and is enough for a
laptop demo. It is not what production flows should use — point
`mqtt-broker` at Mosquitto, EMQX or HiveMQ for that. It binds a free port on
loopback (1883 is usually taken by a real broker).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

log = logging.getLogger("flowwire.mqtt.embedded")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """`await EmbeddedBroker.start()` → a running broker; `await broker.close()` stops it."""

    def __init__(self, broker: Any, host: str, port: int) -> None:
        self._broker = broker
        self.host = host
        self.port = port

    @classmethod
    async def start(cls, host: str = "127.0.0.1", port: int = 0) -> EmbeddedBroker:
        from amqtt.broker import Broker

        # amqtt and its state machine log every step at INFO: noise in a flow's log.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        for _attempt in range(5):
            chosen = port or _free_port(host)
            config = {
                "listeners": {"default": {"type": "tcp", "bind": f"{host}:{chosen}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
            broker = Broker(config)
            try:
                await broker.start()
            except Exception as exc:
                if port:
                    raise
                log.debug("embedded broker could not bind %s:%d (%s); trying another port", host, chosen, exc)
                continue
            log.debug("embedded MQTT broker (amqtt) listening on %s:%d", host, chosen)
            return cls(broker, host, chosen)
        raise OSError(f"no free port for the embedded MQTT broker on {host}")

    async def close(self) -> None:
        await self._broker.shutdown()
