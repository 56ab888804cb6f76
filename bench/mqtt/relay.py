"""Comparison relays for bench/mqtt: bench/in → parse JSON, set hop = 1 → bench/out.

    python bench/mqtt/relay.py --mode paho    --port P [--qos 0]   # bare paho, loop_forever (the issue's baseline)
    python bench/mqtt/relay.py --mode thread  --port P             # paho loop_start thread + asyncio (call_soon_threadsafe)
    python bench/mqtt/relay.py --mode asyncio --port P             # nodes/mqtt/_client.AsyncioClient, no flow runtime

Prints READY once subscribed. The `thread` and `asyncio` modes are the two
ways to put paho under an asyncio runtime; run.py --transports compares them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def relay_paho(port: int, qos: int) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-relay-paho")
    c.max_inflight_messages_set(1000)

    def on_message(client, userdata, m):  # type: ignore[no-untyped-def]
        d = json.loads(m.payload)
        d["hop"] = 1
        client.publish("bench/out", json.dumps(d, separators=(",", ":")), qos)

    c.on_message = on_message
    c.on_subscribe = lambda *a: print("READY", flush=True)
    c.on_connect = lambda client, u, f, rc, p: client.subscribe("bench/in", qos)
    c.connect("127.0.0.1", port, 60)
    c.loop_forever()


async def relay_thread(port: int, qos: int) -> None:
    """paho's own network thread; messages cross to the event loop in batches."""
    loop = asyncio.get_running_loop()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-relay-thread")
    c.max_inflight_messages_set(1000)
    pending: list[mqtt.MQTTMessage] = []

    def handle() -> None:
        batch = pending[:]
        pending.clear()
        for m in batch:
            d = json.loads(m.payload)
            d["hop"] = 1
            c.publish("bench/out", json.dumps(d, separators=(",", ":")), qos)

    def on_message(client, userdata, m):  # type: ignore[no-untyped-def]
        pending.append(m)
        if len(pending) == 1:  # one wake-up per batch, not per message
            loop.call_soon_threadsafe(handle)

    c.on_message = on_message
    c.on_subscribe = lambda *a: print("READY", flush=True)
    c.on_connect = lambda client, u, f, rc, p: client.subscribe("bench/in", qos)
    c.connect("127.0.0.1", port, 60)
    c.loop_start()
    await asyncio.Event().wait()


async def relay_asyncio(port: int, qos: int) -> None:
    from nodes.mqtt._client import AsyncioClient

    loop = asyncio.get_running_loop()
    c = AsyncioClient(loop, client_id="bench-relay-asyncio")
    c.max_inflight_messages_set(1000)

    def on_message(client, userdata, m):  # type: ignore[no-untyped-def]
        d = json.loads(m.payload)
        d["hop"] = 1
        c.publish("bench/out", json.dumps(d, separators=(",", ":")), qos)

    c.on_message = on_message
    c.on_subscribe = lambda *a: print("READY", flush=True)
    c.on_connect = lambda client, u, f, rc, p: client.subscribe("bench/in", qos)
    await loop.run_in_executor(None, c.connect, "127.0.0.1", port, 60)
    c.attach()
    await asyncio.Event().wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["paho", "thread", "asyncio"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--qos", type=int, default=0)
    a = ap.parse_args()
    if a.mode == "paho":
        relay_paho(a.port, a.qos)
    elif a.mode == "thread":
        asyncio.run(relay_thread(a.port, a.qos))
    else:
        asyncio.run(relay_asyncio(a.port, a.qos))


if __name__ == "__main__":
    main()
