"""No message lost: broker restarts, a SIGKILLed runtime (at-least-once), two runtimes sharing the load."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _processes import flowwire_run, terminate

from runtime.testing import run_flow, wait_until

ROOT = Path(__file__).resolve().parents[3]
N = 10_000


def unique_ids(peer) -> set[int]:  # type: ignore[no-untyped-def]
    return {json.loads(p)["i"] for p in peer.payloads()}


def _all_through(sink) -> bool:  # type: ignore[no-untyped-def]
    """All N ids arrived; the cheap count comes first because decoding 10000 payloads on every poll starves the relay."""
    return len(sink.messages) >= N and len(unique_ids(sink)) >= N


async def test_broker_restart_in_the_middle_of_10000_qos1_messages(broker_factory, peers):
    broker = broker_factory(persistence=True)
    sink = peers(broker.port, client_id="rs-sink", clean=False)
    sink.subscribe("rs/out", 1)
    source = peers(broker.port, client_id="rs-source", clean=False)
    flow = [
        {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": broker.port, "clientid": "rs-relay",
         "cleansession": "false", "reconnectDelay": 0.05, "reconnectDelayMax": 0.2},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "rs/in", "qos": "1", "wires": [["out"]]},
        {"id": "out", "type": "mqtt out", "broker": "b", "topic": "rs/out", "qos": "1"},
    ]
    async with run_flow(flow) as f:
        conn = f.node("b").connection
        await conn.wait_subscribed(5)
        for i in range(N):
            source.publish("rs/in", json.dumps({"i": i}), qos=1)
        await wait_until(lambda: len(sink.messages) >= N // 3, 30, "a third of the messages through")
        generation = conn._gen
        await asyncio.to_thread(broker.restart)
        await wait_until(lambda: conn._gen > generation, 10, "the relay reconnecting")
        await wait_until(lambda: _all_through(sink), 60, f"all {N} distinct messages")
    assert unique_ids(sink) == set(range(N))  # 0 lost (QoS 1: duplicates are allowed)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    terminate(proc, 20)


def _subscribed(broker, client_id: str, topic: str) -> bool:  # type: ignore[no-untyped-def]
    return f"{client_id} 1 {topic}" in broker.log()


ALO_FLOW = """\
nodes:
  - id: b
    type: mqtt-broker
    broker: 127.0.0.1
    port: ${MQTT_PORT}
    clientid: ${CLIENT_ID}
    cleansession: false
    reconnectDelay: 0.05
  - id: in
    type: mqtt in
    broker: b
    topic: ${IN_TOPIC}
    qos: "1"
    datatype: json
    atLeastOnce: true
    wires: [mark]
  - id: mark
    type: change
    rules:
      - {t: set, p: payload.by, pt: msg, to: RUNTIME, tot: env}
    wires: [out]
  - id: out
    type: mqtt out
    broker: b
    topic: ${OUT_TOPIC}
    qos: "1"
"""


@pytest.mark.skipif(not (ROOT / "runtime" / "cli.py").exists(), reason="needs the flowwire CLI")
async def test_sigkilled_runtime_loses_nothing_in_at_least_once_mode(broker_factory, peers, tmp_path):
    broker = broker_factory(extra="log_type subscribe")
    sink = peers(broker.port, client_id="kill-sink", clean=False)
    sink.subscribe("kill/out", 1)
    flow = tmp_path / "alo.yaml"
    flow.write_text(ALO_FLOW)
    env = {"MQTT_PORT": str(broker.port), "CLIENT_ID": "kill-relay", "IN_TOPIC": "kill/in", "OUT_TOPIC": "kill/out", "RUNTIME": "r"}
    log = tmp_path / "runtime.log"
    proc = flowwire_run(flow, env, log)
    try:
        await wait_until(lambda: _subscribed(broker, "kill-relay", "kill/in"), 20, "the runtime subscribing")
        source = peers(broker.port, client_id="kill-source")
        for i in range(N):
            source.publish("kill/in", json.dumps({"i": i}), qos=1)
        await wait_until(lambda: len(sink.messages) >= N // 4, 30, "a quarter of the messages through")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        before = len(unique_ids(sink))
        assert before < N, "the runtime was killed too late to prove anything"
        proc = flowwire_run(flow, env, log)
        await wait_until(lambda: _all_through(sink), 60, f"all {N} distinct messages after the restart")
    finally:
        _stop(proc)
    assert unique_ids(sink) == set(range(N)), log.read_text()[-3000:]


#: ALO_FLOW with a delay between in and out: messages sit inside the flow, received but unfinished.
HELD_FLOW = ALO_FLOW.replace("    wires: [mark]\n", "    wires: [[hold, seen]]\n", 1) + """\
  - id: hold
    type: delay
    pauseType: delay
    timeout: ${HOLD_S}
    timeoutUnits: seconds
    wires: [mark]
  - id: seen
    type: debug
    tosidebar: false
    console: true
  - id: probe
    type: mqtt in
    broker: b
    topic: held/probe
    qos: "0"
    wires: [seen]
"""


@pytest.mark.skipif(not (ROOT / "runtime" / "cli.py").exists(), reason="needs the flowwire CLI")
async def test_messages_held_inside_the_flow_when_sigkilled_arrive_after_a_restart(broker_factory, peers, tmp_path):
    # The one thing at-least-once exists for: a message the flow has received but not finished
    # must not be acknowledged. Every message is held in a delay when the process dies, so an
    # implementation that acknowledges on receipt loses them all, on every run.
    broker = broker_factory(extra="log_type subscribe")
    sink = peers(broker.port, client_id="held-sink", clean=False)
    sink.subscribe("held/out", 1)
    flow = tmp_path / "held.yaml"
    flow.write_text(HELD_FLOW)
    env = {"MQTT_PORT": str(broker.port), "CLIENT_ID": "held-relay", "IN_TOPIC": "held/in", "OUT_TOPIC": "held/out", "RUNTIME": "r"}
    log = tmp_path / "runtime.log"
    n = 50
    proc = flowwire_run(flow, {**env, "HOLD_S": "3600"}, log)
    try:
        await wait_until(lambda: _subscribed(broker, "held-relay", "held/in"), 20, "the runtime subscribing")
        source = peers(broker.port, client_id="held-source")
        for i in range(n):
            source.publish("held/in", json.dumps({"i": i}), qos=1)
        await wait_until(lambda: log.read_text().count("[seen] payload") >= 20, 20, "a broker window of messages received and held")
        # A probe behind them: once the runtime has logged it, anything it queued for the broker
        # before (an early acknowledgement) has been written, so the kill below cannot race it.
        source.publish("held/probe", "probe", qos=0)
        await wait_until(lambda: "[seen] payload: probe" in log.read_text(), 20, "the probe")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        assert sink.messages == [], "nothing got through the hour-long delay before the kill"
        proc = flowwire_run(flow, {**env, "HOLD_S": "0"}, log)
        await wait_until(lambda: len(unique_ids(sink)) >= n, 30, f"all {n} messages after the restart")
    finally:
        _stop(proc)
    assert unique_ids(sink) == set(range(n))


@pytest.mark.skipif(not (ROOT / "runtime" / "cli.py").exists(), reason="needs the flowwire CLI")
async def test_two_runtimes_on_a_shared_subscription_handle_each_message_once(broker_factory, peers, tmp_path):
    broker = broker_factory(extra="log_type subscribe")
    n = 4000
    sink = peers(broker.port)
    sink.subscribe("two/out", 1)
    flow = tmp_path / "share.yaml"
    flow.write_text(ALO_FLOW)
    procs = []
    try:
        for k in range(2):
            env = {"MQTT_PORT": str(broker.port), "CLIENT_ID": f"share-{k}", "IN_TOPIC": "$share/g/two/in",
                   "OUT_TOPIC": "two/out", "RUNTIME": f"rt{k}"}
            procs.append(flowwire_run(flow, env, tmp_path / f"rt{k}.log"))
        for k in range(2):
            await wait_until(lambda k=k: _subscribed(broker, f"share-{k}", "$share/g/two/in"), 20, f"runtime {k} subscribing")
        source = peers(broker.port)
        for i in range(n):
            source.publish("two/in", json.dumps({"i": i}), qos=1)
        await wait_until(lambda: len(sink.messages) >= n, 60, f"{n} messages")
        deadline = time.monotonic() + 0.5  # a duplicate would show up right behind
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        for p in procs:
            _stop(p)
    payloads = [json.loads(p) for p in sink.payloads()]
    assert sorted(p["i"] for p in payloads) == list(range(n))  # every message exactly once
    by = {p["by"] for p in payloads}
    assert by == {"rt0", "rt1"}  # and both runtimes took part
