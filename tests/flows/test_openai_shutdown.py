"""SIGTERM while OpenAI calls are in flight loses nothing.

`flowwire run` on a flow that answers MQTT requests through OpenAI (the emulator in its own
process, every answer held back 500 ms) is sent SIGTERM while all requests wait for their
answers. It must wait for the calls in flight, publish every answer, and exit 0.

Observable signals, never sleeps: a debug node prints each request the moment it enters the
flow (`[taken] ...`) and each answer before it is published (`[answered] ...`); the peer sees
the broker's side. One timing fact is relied on, by design: the emulator's 500 ms delay is far
longer than the test needs to see the requests taken and send the signal.

A request published once the runtime has logged `sources stopped` is left alone: `mqtt in`
stopped before that line was written (the `SIGTERM received` line comes a few event-loop
turns earlier, and a request published right after it may still be taken, and answered).
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _flowproc import Process
from _mosquitto import Mosquitto
from _mqtt_peer import Peer

REQUESTS = 40
KEY = "sk-shutdown-test-key-not-real"
REQUEST_TOPIC = "shutdown-test/requests"
OUT = "shutdown-test/out"  # answers, errors and the test's barrier share one subscription: one ordered queue
ANSWER_TOPIC, ERROR_TOPIC, READY_TOPIC, BARRIER_TOPIC = (f"{OUT}/{t}" for t in ("answer", "error", "ready", "barrier"))


def _flow(broker_port: int, base_url: str) -> dict[str, Any]:
    return {"name": "openai-shutdown", "nodes": [
        {"id": "broker", "type": "mqtt-broker", "broker": "127.0.0.1", "port": broker_port, "reconnectDelay": 0.2},
        {"id": "openai", "type": "openai-config", "base_url": base_url, "max_retries": 0, "timeout": 30},
        {"id": "requests", "type": "mqtt in", "broker": "broker", "topic": REQUEST_TOPIC, "qos": "1",
         "datatype": "json", "wires": ["create-run", "taken"]},
        # Started after `requests`, so this goes out on the connection after its SUBSCRIBE: once the
        # peer has it, the broker has the subscription and no request can be missed.
        {"id": "ready", "type": "inject", "once": True, "onceDelay": 0, "payload": "ready", "payloadType": "str",
         "wires": ["publish-ready"]},
        {"id": "publish-ready", "type": "mqtt out", "broker": "broker", "topic": READY_TOPIC, "qos": "1"},
        {"id": "taken", "type": "debug", "complete": "payload.metadata.request_id"},
        {"id": "create-run", "type": "openai-runs", "service": "openai", "method": "createThreadAndRun",
         "wires": ["answer"]},
        {"id": "answer", "type": "function", "func": (
            "run = msg['payload']\n"
            "msg['payload'] = {'request_id': run['metadata']['request_id'], 'run_id': run['id'],\n"
            "                  'thread_id': run['thread_id'], 'assistant_id': run['assistant_id']}\n"
            "return msg\n"), "wires": ["publish-answer", "answered"]},
        {"id": "answered", "type": "debug", "complete": "payload.request_id"},
        {"id": "publish-answer", "type": "mqtt out", "broker": "broker", "topic": ANSWER_TOPIC, "qos": "1"},
        {"id": "errors", "type": "catch", "wires": ["publish-error"]},
        {"id": "publish-error", "type": "mqtt out", "broker": "broker", "topic": ERROR_TOPIC, "qos": "1"},
    ]}


def _request(request_id: str) -> str:
    return json.dumps({
        "assistant_id": "asst_flowwire_demo",
        "thread": {"messages": [{"role": "user", "content": f"Request {request_id}: say hello."}]},
        "metadata": {"request_id": request_id},
    })


def _printed(lines: list[str], node: str) -> list[str]:
    """The values a debug node printed, in order (`[node] label: value`)."""
    return [line.split(": ", 1)[1] for line in lines if line.startswith(f"[{node}] ")]


def test_sigterm_waits_for_in_flight_openai_calls_and_publishes_every_answer(
        spawn: Callable[..., Process], mosquitto: Mosquitto, peer: Peer, tmp_path: Path) -> None:
    emulator = spawn("emulate", "openai", "--port", "0", "--delay-ms", "500", "--api-key", KEY)
    base_url = re.search(r"listening on (\S+)", emulator.wait_for(
        lambda line: "listening on" in line, timeout=30, what="the emulator")).group(1)  # type: ignore[union-attr]
    flow_file = tmp_path / "shutdown.json"
    flow_file.write_text(json.dumps(_flow(mosquitto.port, base_url), indent=2))
    peer.subscribe(f"{OUT}/#")

    flow = spawn("run", str(flow_file), env={"OPENAI_API_KEY": KEY})
    ready = peer.next(timeout=30)
    assert (ready.topic, ready.payload) == (READY_TOPIC, b"ready"), flow.output
    ids = [f"req-{i:02d}" for i in range(REQUESTS)]
    _publish_and_wait_until_taken(peer, flow, ids)

    # Every request has entered the flow; with the 500 ms answer delay none can be answered yet.
    answered_before_signal = len(peer.unread())
    flow.proc.send_signal(signal.SIGTERM)
    flow.wait_for(lambda line: "sources stopped" in line, timeout=20, what="the sources to stop")
    peer.publish(REQUEST_TOPIC, _request("req-late"), qos=1).wait_for_publish(10)

    assert flow.proc.wait(30) == 0, flow.output
    log = flow.output.splitlines()
    messages = _everything_published(peer)

    answers = [json.loads(m.payload) for m in messages if m.topic == ANSWER_TOPIC]
    errors = [m.payload for m in messages if m.topic == ERROR_TOPIC]
    assert errors == [], errors
    assert sorted(a["request_id"] for a in answers) == ids, "every request answered exactly once, req-late never"
    assert "req-late" not in _printed(log, "taken"), "\n".join(log)
    assert len({a["run_id"] for a in answers}) == REQUESTS and all(
        a["assistant_id"] == "asst_flowwire_demo" for a in answers), answers

    # In flight at the signal: nothing had reached the peer when it was sent, and the flow
    # produced every answer after it had logged the signal.
    assert answered_before_signal == 0
    signalled = next(i for i, line in enumerate(log) if "SIGTERM received" in line)
    assert sorted(_printed(log[signalled:], "answered")) == ids, "\n".join(log)

    assert any(line.endswith("stopped cleanly") for line in log), "\n".join(log)
    assert not [line for line in log if "Traceback" in line or "ERROR" in line or "drain timed out" in line], \
        "\n".join(log)
    assert emulator.interrupt() == 0, emulator.output


def _publish_and_wait_until_taken(peer: Peer, flow: Process, ids: list[str]) -> None:
    """Publish the requests and wait until the flow has taken every one (its `[taken]` lines)."""
    for request_id in ids:
        peer.publish(REQUEST_TOPIC, _request(request_id), qos=1)
    taken: list[str] = []
    while len(taken) < len(ids):
        line = flow.wait_for(lambda line: line.startswith("[taken] "), timeout=20, what=f"request {len(taken) + 1} taken")
        taken.append(line.split(": ", 1)[1])
    assert sorted(taken) == ids


def _everything_published(peer: Peer) -> list[Any]:
    """Everything the broker had for the peer: a barrier published now arrives after all of it.

    The flow has exited, so its QoS 1 publishes were all acknowledged by the broker, which queued
    them for the peer before the barrier (one subscription, one ordered queue).
    """
    peer.publish(BARRIER_TOPIC, "barrier", qos=1).wait_for_publish(10)
    received: list[Any] = []
    while True:
        message = peer.next(timeout=10)
        if message.topic == BARRIER_TOPIC:
            return received
        received.append(message)
