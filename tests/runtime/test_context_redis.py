"""Context stores behind one interface, the Redis store against a real redis-server (own port).

The semantics every store shares (get/set/keys/delete, incr, compare_and_set,
sync and async forms) run once per store; then what only Redis does: two
runtimes sharing values, the wire format, URLs and secrets, and an outage.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from _redis import RedisServer

from runtime import FlowwireError
from runtime._context import Contexts
from runtime._errors import ContextStoreError
from runtime._redis_store import RedisStore
from runtime.testing import run_flow, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as srv:
        yield srv


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """One application prefix per test, so tests sharing the server never see each other's keys."""
    return f"t-{request.node.name}"


def document(nodes: list[dict[str, Any]], storage: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": nodes, "settings": {"contextStorage": storage}}


#: Seconds per Redis call and connection for the tests that are not about timeouts. The default
#: (2 s) counts wall time, and on a loaded CI machine (load average 10 on 2 cores) the event loop
#: of a test that starts 400 calls at once did not get round to a local connect within it.
CALM = 30


def redis_storage(server: RedisServer, prefix: str, **extra: Any) -> dict[str, Any]:
    return {"default": {"module": "redis", "url": server.url, "prefix": prefix, "timeout": CALM, **extra}}


STORES = ["memory", "file", "redis"]


def storage_for(kind: str, server: RedisServer, prefix: str) -> dict[str, Any]:
    if kind == "redis":
        return redis_storage(server, prefix)
    return {"default": {"module": kind, "dir": "ctx"}}


@pytest.mark.parametrize("kind", STORES)
async def test_every_store_answers_the_same_calls(kind: str, server: RedisServer, prefix: str, tmp_path: Path) -> None:
    async with run_flow(document([{"id": "a", "type": "junction"}], storage_for(kind, server, prefix)), base_dir=tmp_path) as flow:
        ctx = flow.node("a").global_context
        ctx.set("cfg.limits.max", 5)
        ctx.set("name", "pump")
        assert ctx.get("cfg") == {"limits": {"max": 5}} and ctx.get("cfg.limits.max") == 5
        assert sorted(ctx.keys()) == ["cfg", "name"]
        ctx.delete("name")
        assert ctx.get("name") is None and ctx.keys() == ["cfg"]

        assert ctx.incr("n") == 1, "absent counts as 0"
        assert ctx.incr("n", by=41) == 42
        assert ctx.incr("n", by=0.5) == 42.5
        ctx.set("word", "x")
        with pytest.raises(ContextStoreError, match="'word'.*does not hold a number"):
            ctx.incr("word")
        with pytest.raises(ContextStoreError, match="top-level key"):
            ctx.incr("cfg.limits.max")

        assert ctx.compare_and_set("owner", None, "p1") is True, "None expects the key absent"
        assert ctx.compare_and_set("owner", None, "p2") is False
        assert ctx.compare_and_set("owner", "p1", "p2") is True and ctx.get("owner") == "p2"
        ctx.set("flag", True)
        assert ctx.compare_and_set("flag", 1, False) is False, "true is not 1 in JSON"
        ctx.set("obj", {"a": [1, 2], "b": None})
        assert ctx.compare_and_set("obj", {"b": None, "a": [1, 2.0]}, {"a": 3}) is True, "decoded values compare, not text"
        assert ctx.compare_and_set("obj", {"a": 3}, None) is True and ctx.get("obj") is None, "new None deletes"

        assert await ctx.aget("n") == 42.5
        await ctx.aset("later.x", [1])
        assert await ctx.aget("later") == {"x": [1]} and ctx.get("later.x") == [1]
        assert await ctx.aincr("n", by=-2.5) == 40
        assert await ctx.acompare_and_set("n", 40, 0) is True
        await ctx.adelete("later")
        assert sorted(await ctx.akeys()) == sorted(ctx.keys()) == ["cfg", "flag", "n", "owner", "word"]


@pytest.mark.parametrize("kind", STORES)
async def test_a_function_body_counts_with_incr_and_a_failure_reaches_catch(kind: str, server: RedisServer, prefix: str, tmp_path: Path) -> None:
    nodes = [
        {"id": "t", "type": "tab"},
        {"id": "count", "type": "function", "z": "t", "func": "msg.payload = global_.incr('hits')\nreturn msg", "wires": [["out"]]},
        {"id": "out", "type": "test-sink", "z": "t"},
        {"id": "c", "type": "catch", "z": "t", "wires": [["caught"]]},
        {"id": "caught", "type": "test-sink", "z": "t"},
    ]
    async with run_flow(document(nodes, storage_for(kind, server, prefix)), base_dir=tmp_path) as flow:
        for _ in range(3):
            await flow.inject("count", {"payload": None})
        assert [m["payload"] for m in await flow.received("out", 3)] == [1, 2, 3]
        flow.node("count").global_context.set("hits", "many")
        await flow.inject("count", {"payload": "x"})
        [caught] = await flow.received("caught")
        assert "does not hold a number" in caught["error"]["message"] and caught["payload"] == "x"


async def test_values_are_stored_as_compact_json_in_one_hash_per_scope(server: RedisServer, prefix: str) -> None:
    nodes = [{"id": "tab1", "type": "tab"}, {"id": "a", "type": "junction", "z": "tab1"}]
    async with run_flow(document(nodes, redis_storage(server, prefix))) as flow:
        a = flow.node("a")
        a.global_context.set("cfg", {"mode": "fast", "levels": [1, 2.5], "ok": True, "name": "é"})
        a.flow_context.set("n", 3)
        a.context.set("s", "text")
    raw = redis.Redis.from_url(server.url, decode_responses=True)
    assert raw.hget(f"{prefix}:global", "cfg") == '{"mode":"fast","levels":[1,2.5],"ok":true,"name":"é"}', "what JSON.stringify writes"
    assert raw.hget(f"{prefix}:flow-tab1", "n") == "3"
    assert raw.hget(f"{prefix}:node-a", "s") == '"text"'
    raw.close()


async def test_two_runtimes_share_values_and_prefixes_keep_applications_apart(server: RedisServer, prefix: str) -> None:
    nodes = [{"id": "a", "type": "junction"}]
    async with run_flow(document(nodes, redis_storage(server, prefix))) as one, run_flow(document(nodes, redis_storage(server, prefix))) as two, \
            run_flow(document(nodes, redis_storage(server, prefix + "-other"))) as other:
        g1, g2, g3 = (f.node("a").global_context for f in (one, two, other))
        g1.set("thread", "th_1")
        assert await g2.aget("thread") == "th_1", "an async get asks Redis"
        await wait_until(lambda: g2.get("thread") == "th_1", what="the change reaching the other process's mirror")
        await asyncio.gather(*(g.aincr("n") for _ in range(200) for g in (g1, g2)))
        assert await g1.aget("n") == 400
        await wait_until(lambda: g1.get("n") == g2.get("n") == 400, what="both mirrors at 400")
        g2.delete("thread")
        await wait_until(lambda: g1.get("thread") is None, what="the delete reaching the other mirror")
        assert g3.keys() == [] and await g3.aget("n") is None, "another prefix is another application"


async def test_a_local_write_is_read_back_at_once_even_while_older_changes_arrive(server: RedisServer, prefix: str) -> None:
    nodes = [{"id": "a", "type": "junction"}]
    async with run_flow(document(nodes, redis_storage(server, prefix))) as flow:
        ctx = flow.node("a").global_context
        for i in range(50):
            ctx.set("v", i)
            assert ctx.get("v") == i, "read-your-writes from the mirror, before the channel catches up"
        await wait_until(lambda: flow.runtime.contexts.store(None)._seq >= 50, what="the channel catching up")
        assert ctx.get("v") == 49


async def test_a_runtime_started_later_loads_what_is_there(server: RedisServer, prefix: str) -> None:
    nodes = [{"id": "a", "type": "junction"}]
    async with run_flow(document(nodes, redis_storage(server, prefix))) as first:
        first.node("a").global_context.set("#:(default)::seen", [1, 2])
        first.node("a").context.set("mine", 1)
    async with run_flow(document(nodes, redis_storage(server, prefix))) as second:
        assert second.node("a").global_context.get("seen") == [1, 2]
        assert second.node("a").context.keys() == ["mine"]
        assert second.runtime.contexts.healthy


async def test_several_stores_at_once_with_inline_store_names(server: RedisServer, prefix: str, tmp_path: Path) -> None:
    storage = {"default": "memory", "shared": {"module": "redis", "url": server.url, "prefix": prefix}, "disk": {"module": "file", "dir": "ctx"}}
    nodes = [
        {"id": "ch", "type": "change", "rules": [{"t": "set", "p": "#:(shared)::last", "pt": "global", "to": "payload", "tot": "msg"}], "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(document(nodes, storage), base_dir=tmp_path) as flow:
        await flow.inject("ch", {"payload": {"t": 21.5}})
        await flow.received("out")
        g = flow.node("ch").global_context
        assert g.get("last", "shared") == {"t": 21.5} and g.get("last") is None and g.get("last", "disk") is None
        assert flow.runtime.contexts.health() == {"memory": True, "file": True, "shared": True, "disk": True}


async def test_the_url_comes_from_the_environment_or_a_file_and_its_password_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cret-Pa55word"
    server = RedisServer(tmp_path / "srv", password=password).start()
    try:
        nodes = [{"id": "a", "type": "junction"}]
        monkeypatch.setenv("APP_REDIS", server.url)
        async with run_flow(document(nodes, {"default": {"module": "redis", "urlEnv": "APP_REDIS", "prefix": "env"}})) as flow:
            flow.node("a").global_context.set("k", 1)
        (tmp_path / "redis-url").write_text(server.url + "\n")
        caplog.set_level(logging.DEBUG)
        async with run_flow(document(nodes, {"default": {"module": "redis", "urlFile": "redis-url", "prefix": "env"}}), base_dir=tmp_path) as flow:
            ctx = flow.node("a").global_context
            assert ctx.get("k") == 1
            server.stop()
            with pytest.raises(ContextStoreError) as failure:
                ctx.set("k", 2)
        assert password not in str(failure.value) and f"127.0.0.1:{server.port}" in str(failure.value)
        assert password not in caplog.text and "127.0.0.1" in caplog.text, "the host is logged, the password never"
    finally:
        server.stop()


async def test_wrong_settings_are_clear_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLOWWIRE_REDIS_URL", raising=False)
    with pytest.raises(FlowwireError, match="context store 'shared': unknown option\\(s\\) host"):
        Contexts({"contextStorage": {"shared": {"module": "redis", "host": "x"}}}, tmp_path)
    with pytest.raises(FlowwireError, match="unknown module 'mongo' \\(memory, file or redis\\)"):
        Contexts({"contextStorage": {"shared": {"module": "mongo"}}}, tmp_path)
    store = RedisStore("shared", {"module": "redis"}, tmp_path)
    with pytest.raises(FlowwireError, match="no Redis URL \\(set FLOWWIRE_REDIS_URL"):
        await store.open()
    with pytest.raises(FlowwireError, match="scheme must be"):
        await RedisStore("shared", {"url": "http://x"}, tmp_path).open()


async def test_tls_with_a_ca_file(tmp_path: Path) -> None:
    from _mosquitto import make_certs

    certs = make_certs(tmp_path / "certs")
    server = RedisServer(tmp_path / "srv", certs=certs, password="tls-pass-word").start()
    try:
        storage = {"default": {"module": "redis", "url": server.url, "ca": str(certs.ca), "prefix": "tls"}}
        async with run_flow(document([{"id": "a", "type": "junction"}], storage)) as flow:
            ctx = flow.node("a").global_context
            ctx.set("k", "over tls")
            assert await ctx.aget("k") == "over tls" and flow.runtime.contexts.healthy
    finally:
        server.stop()


async def test_an_outage_fails_context_calls_as_node_errors_then_recovers(tmp_path: Path) -> None:
    """Redis stops while messages flow: each call fails as a caught node error; once back, nothing written is lost."""
    server = RedisServer(tmp_path / "srv", appendonly=True).start()
    try:
        nodes = [
            {"id": "t", "type": "tab"},
            {"id": "count", "type": "function", "z": "t", "func": "msg.payload = global_.incr('n')\nreturn msg", "wires": [["out"]]},
            {"id": "read", "type": "function", "z": "t", "func": "msg.payload = global_.get('n')\nreturn msg", "wires": [["out"]]},
            {"id": "out", "type": "test-sink", "z": "t"},
            {"id": "c", "type": "catch", "z": "t", "wires": [["caught"]]},
            {"id": "caught", "type": "test-sink", "z": "t"},
        ]
        async with run_flow(document(nodes, {"default": {"module": "redis", "url": server.url, "prefix": "app", "timeout": 0.5}})) as flow:
            contexts = flow.runtime.contexts
            for _ in range(5):
                await flow.inject("count", {})
            await flow.received("out", 5)
            server.stop()
            await wait_until(lambda: not contexts.healthy, what="the store noticing the outage")
            await flow.inject("count", {"payload": "during"})
            await flow.inject("read", {"payload": "during"})
            caught = await flow.received("caught", 2)
            assert all("context store 'default'" in m["error"]["message"] for m in caught), [m["error"] for m in caught]
            assert [m["error"]["source"]["id"] for m in caught] == ["count", "read"]
            server.start()
            await wait_until(lambda: contexts.healthy, timeout=10, what="the store reconnecting")
            await flow.inject("count", {})
            [*_, after] = await flow.received("out", 6)
            assert after["payload"] == 6, "the 5 increments from before the outage were kept; the failed one did not count"
    finally:
        server.stop()


async def test_string_options_take_environment_variables(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP", "billing")
    monkeypatch.setenv("APP_URL", server.url)
    storage = {"default": {"module": "redis", "url": "${APP_URL}", "prefix": "${APP}-${STAGE:-dev}"}}
    async with run_flow(document([{"id": "a", "type": "junction"}], storage)) as flow:
        flow.node("a").global_context.set("k", 1)
    raw = redis.Redis.from_url(server.url, decode_responses=True)
    assert raw.hget("billing-dev:global", "k") == "1"
    raw.close()
    monkeypatch.delenv("APP")
    with pytest.raises(FlowwireError, match="context store 'default': prefix: environment variable APP is not set"):
        Contexts({"contextStorage": storage}, Path.cwd())


async def test_an_idle_store_stays_connected_and_a_hung_redis_is_noticed(tmp_path: Path) -> None:
    """A frozen Redis (SIGSTOP: connections open, no answers) is found by PING; sync calls then fail without blocking."""
    server = RedisServer(tmp_path / "srv").start()
    raw = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        storage = {"default": {"module": "redis", "url": server.url, "prefix": "hang", "timeout": 0.2}}
        async with run_flow(document([{"id": "a", "type": "junction"}], storage)) as flow:
            contexts, ctx = flow.runtime.contexts, flow.node("a").global_context
            ctx.set("k", 1)

            def calls(command: str) -> int:
                return int(raw.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))

            await wait_until(lambda: calls("ping") >= 3, timeout=10, what="three idle PINGs")
            assert contexts.healthy and calls("subscribe") == 1, "answered PINGs keep an idle store connected, without reconnecting"
            os.kill(server.proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
            try:
                await wait_until(lambda: not contexts.healthy, timeout=5, what="the store noticing the hang")
                started = time.perf_counter()
                with pytest.raises(ContextStoreError, match="not connected"):
                    ctx.set("k", 2)
                with pytest.raises(ContextStoreError, match="not connected"):
                    ctx.get("k")
                assert time.perf_counter() - started < 0.1, "sync calls fail at once instead of blocking the loop"
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
            await wait_until(lambda: contexts.healthy, timeout=10, what="the store reconnecting")
            assert ctx.get("k") == 1 and ctx.incr("k") == 2
    finally:
        raw.close()
        server.stop()


async def test_a_redis_down_at_start_does_not_stop_the_flow(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "srv")
    storage = {"default": {"module": "redis", "url": server.url, "prefix": "late", "timeout": 0.2}}
    nodes = [{"id": "fn", "type": "function", "func": "msg.payload = global_.incr('n')\nreturn msg", "wires": [["out"]]},
             {"id": "out", "type": "test-sink"}, {"id": "c", "type": "catch", "wires": [["caught"]]}, {"id": "caught", "type": "test-sink"}]
    try:
        async with run_flow(document(nodes, storage)) as flow:
            assert not flow.runtime.contexts.healthy
            await flow.inject("fn", {})
            [caught] = await flow.received("caught")
            assert "not connected to Redis" in caught["error"]["message"]
            await asyncio.to_thread(server.start)
            await wait_until(lambda: flow.runtime.contexts.healthy, timeout=10, what="the store connecting")
            await flow.inject("fn", {})
            [msg] = await flow.received("out")
            assert msg["payload"] == 1
    finally:
        server.stop()
