"""Scale-out: two `flowwire run` processes share `$share/g/counter` and one counter in Redis;
and a Redis outage while QoS 1 messages flow, in at-least-once mode, loses none of them.

Each message increments the shared `count` and its own `m<i>` key with the
atomic `incr`, so the Redis hash says both how many were handled and which.
Without failures the count is exactly N. With one process SIGKILLed in
at-least-once mode and restarted, every message is handled (all N `m<i>`
keys exist); the ones in flight at the kill are handled twice, which is the
at-least-once contract (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from _mosquitto import Mosquitto, _poll_until
from _mqtt_peer import Peer
from _processes import flowwire_run, terminate
from _redis import RedisServer

from runtime.testing import run_flow, wait_until

ROOT = Path(__file__).resolve().parents[3]
N = 10_000

FLOW = """\
settings:
  contextStorage:
    default: {module: redis, urlEnv: APP_REDIS_URL, prefix: "${PREFIX}"}
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
    topic: $share/g/counter
    qos: "1"
    datatype: json
    atLeastOnce: true
    wires: [count]
  - id: count
    type: function
    func: |
      global_.incr("m%d" % msg.payload["i"])
      global_.incr("count")
      return None
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as srv:
        yield srv


def _stop(proc: subprocess.Popen[bytes]) -> None:
    terminate(proc, 30)


class Pair:
    """Two runtimes on one shared subscription, and a plain Redis client to read what they wrote."""

    def __init__(self, broker: Mosquitto, server: RedisServer, tmp_path: Path, prefix: str) -> None:
        self.flow = tmp_path / "counter.yaml"
        self.flow.write_text(FLOW)
        self.broker, self.tmp, self.prefix = broker, tmp_path, prefix
        self.env = {"MQTT_PORT": str(broker.port), "APP_REDIS_URL": server.url, "PREFIX": prefix}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.redis = redis.Redis.from_url(server.url, decode_responses=True)
        self.hash = f"{prefix}:global"

    def start(self, k: int) -> None:
        env = {**self.env, "CLIENT_ID": f"{self.prefix}-{k}"}
        proc = flowwire_run(self.flow, env, self.tmp / f"{self.prefix}-{k}.log")
        if k < len(self.procs):
            self.procs[k] = proc
        else:
            self.procs.append(proc)
        _poll_until(lambda: f"{self.prefix}-{k} 1 $share/g/counter" in self.broker.log(), 30, what=f"runtime {k} subscribing")

    def count(self) -> int:
        return int(float(self.redis.hget(self.hash, "count") or 0))

    def handled(self) -> set[int]:
        return {int(k[1:]) for k in self.redis.hkeys(self.hash) if k.startswith("m")}

    def stop(self) -> None:
        for proc in self.procs:
            _stop(proc)
        self.redis.close()

    def logs(self) -> str:
        return "\n".join(p.read_text()[-2000:] for p in self.tmp.glob(f"{self.prefix}-*.log"))


@pytest.fixture
def pair(broker_factory: Callable[..., Mosquitto], server: RedisServer, tmp_path: Path) -> Iterator[Callable[[str], Pair]]:
    made: list[Pair] = []
    broker = broker_factory(extra="log_type subscribe")

    def make(prefix: str) -> Pair:
        made.append(Pair(broker, server, tmp_path, prefix))
        return made[-1]

    yield make
    for p in made:
        p.stop()


def _publish_all(peers: Callable[..., Peer], port: int) -> None:
    source = peers(port)
    for i in range(N):
        source.publish("counter", f'{{"i": {i}}}', qos=1)


def test_two_processes_count_every_message_exactly_once(pair: Callable[[str], Pair], peers: Callable[..., Peer]) -> None:
    two = pair("exact")
    two.start(0)
    two.start(1)
    _publish_all(peers, two.broker.port)
    _poll_until(lambda: two.count() >= N, 120, interval=0.1, what=f"the shared counter reaching {N}")
    for proc in two.procs:
        _stop(proc)  # drains: anything still in flight would be counted now
    assert [p.returncode for p in two.procs] == [0, 0], two.logs()
    assert two.count() == N, "the atomic increment lost or doubled an update"
    values = two.redis.hgetall(two.hash)
    assert len(values) == N + 1 and {v for k, v in values.items() if k != "count"} == {"1"}, "each message handled once"
    both = [p.read_text() for p in sorted(two.tmp.glob("exact-*.log"))]
    assert all("connected to Redis" in text for text in both), "both processes used the shared store"


def test_a_process_sigkilled_and_restarted_loses_nothing(pair: Callable[[str], Pair], peers: Callable[..., Peer],
                                                         record_property: Callable[[str, object], None]) -> None:
    two = pair("kill")
    two.start(0)
    two.start(1)
    _publish_all(peers, two.broker.port)
    _poll_until(lambda: two.count() >= N // 4, 120, interval=0.05, what="a quarter of the messages counted")
    os.kill(two.procs[0].pid, signal.SIGKILL)
    two.procs[0].wait(5)
    assert two.count() < N, "killed too late to prove anything"
    two.start(0)  # same client id: the broker hands back what the killed session had not acknowledged
    _poll_until(lambda: len(two.handled()) >= N, 120, interval=0.1, what=f"all {N} messages handled after the restart")
    for proc in two.procs:
        _stop(proc)
    assert two.handled() == set(range(N)), two.logs()
    duplicates = two.count() - N
    record_property("duplicates", duplicates)  # shown in --junitxml: how many the kill cost
    assert 0 <= duplicates <= 1000, f"{duplicates} duplicates: more than a broker window of in-flight messages"


OUTAGE_N = 3000


async def test_redis_stopped_and_started_while_qos1_messages_flow_loses_nothing(
    broker_factory: Callable[..., Mosquitto], peers: Callable[..., Peer], tmp_path: Path
) -> None:
    """At-least-once + a retry path: a context call that fails in an outage is caught and retried; the MQTT ack waits for it."""
    broker = broker_factory()
    server = RedisServer(tmp_path / "redis", appendonly=True).start()  # what was written survives the restart
    nodes = [
        {"id": "b", "type": "mqtt-broker", "broker": "127.0.0.1", "port": broker.port, "clientid": "outage", "cleansession": "false",
         "reconnectDelay": 0.05},
        {"id": "in", "type": "mqtt in", "broker": "b", "topic": "outage/in", "qos": "1", "datatype": "json", "atLeastOnce": True, "wires": [["count"]]},
        {"id": "count", "type": "function", "func": "global_.incr('m%d' % msg.payload['i'])\nreturn msg", "wires": [["done"]]},
        {"id": "done", "type": "test-sink"},
        # the retry path: catch the failed call, forget the error (so the catch count restarts), wait, try again
        {"id": "failed", "type": "catch", "scope": ["count"], "wires": [["forget", "caught"]]},
        {"id": "caught", "type": "test-sink"},
        {"id": "forget", "type": "change", "rules": [{"t": "delete", "p": "error", "pt": "msg"}], "wires": [["wait"]]},
        {"id": "wait", "type": "delay", "pauseType": "delay", "timeout": 0.1, "timeoutUnits": "seconds", "wires": [["count"]]},
    ]
    document = {"nodes": nodes, "settings": {"contextStorage": {"default": {"module": "redis", "url": server.url, "prefix": "o", "timeout": 0.5}}}}
    try:
        async with run_flow(document) as flow:
            await flow.node("b").connection.wait_subscribed(5)
            done, caught = flow.sink("done"), flow.sink("caught")
            source = peers(broker.port)
            for i in range(OUTAGE_N):
                source.publish("outage/in", f'{{"i": {i}}}', qos=1)
            await wait_until(lambda: len(done.messages) >= OUTAGE_N // 4, 60, "a quarter counted")
            await asyncio.to_thread(server.stop)
            await wait_until(lambda: len(caught.messages) >= 20, 30, "failed calls caught during the outage")
            assert len({m["payload"]["i"] for m in done.messages}) < OUTAGE_N, "the outage came too late to prove anything"
            await asyncio.to_thread(server.start)
            await wait_until(lambda: len({m["payload"]["i"] for m in done.messages}) >= OUTAGE_N, 120, f"all {OUTAGE_N} counted after recovery")
            assert all("context store 'default'" in m["error"]["message"] for m in caught.messages)
        values = redis.Redis.from_url(server.url, decode_responses=True).hgetall("o:global")
        assert {int(k[1:]) for k in values} == set(range(OUTAGE_N)), "every message was counted in Redis"
    finally:
        server.stop()
