"""Context: node, flow and global scopes; memory and file stores; persistence across restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime import FlowwireError
from runtime._context import FileStore
from runtime.testing import run_flow, wait_until


def with_settings(nodes: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    return {"nodes": nodes, "settings": settings}


FILE_STORE = {"contextStorage": {"default": {"module": "memory"}, "file": {"module": "file", "dir": "ctx", "flushInterval": 3600}}}


async def test_node_flow_and_global_scopes_are_separate() -> None:
    nodes = [
        {"id": "t1", "type": "tab"},
        {"id": "t2", "type": "tab"},
        {"id": "a", "type": "junction", "z": "t1"},
        {"id": "b", "type": "junction", "z": "t1"},
        {"id": "c", "type": "junction", "z": "t2"},
    ]
    async with run_flow(nodes) as flow:
        a, b, c = flow.node("a"), flow.node("b"), flow.node("c")
        a.context.set("n", 1)
        a.flow_context.set("f", 2)
        a.global_context.set("g", 3)
        assert (a.context.get("n"), b.context.get("n")) == (1, None), "node context is per node"
        assert (b.flow_context.get("f"), c.flow_context.get("f")) == (2, None), "flow context is per tab"
        assert c.global_context.get("g") == 3, "global context is shared"
        assert a.context.keys() == ["n"] and b.context.keys() == []


async def test_nested_paths_and_deleting_by_setting_none() -> None:
    async with run_flow([{"id": "a", "type": "junction"}]) as flow:
        ctx = flow.node("a").context
        ctx.set("cfg.limits.max", 5)
        ctx.set("cfg.names[1]", "second")
        assert ctx.get("cfg") == {"limits": {"max": 5}, "names": [None, "second"]}
        assert ctx.get("cfg.limits.max") == 5
        assert ctx.get("cfg.missing.deeper") is None
        ctx.set("cfg.limits.max", None)
        assert ctx.get("cfg.limits") == {}
        ctx.set("cfg", None)
        assert ctx.keys() == []


async def test_store_names_inline_and_as_an_argument(tmp_path: Path) -> None:
    async with run_flow(with_settings([{"id": "a", "type": "junction"}], **FILE_STORE), base_dir=tmp_path) as flow:
        ctx = flow.node("a").global_context
        ctx.set("#:(file)::counter", 7)
        ctx.set("counter", 1)
        assert ctx.get("counter", "file") == 7
        assert ctx.get("#:(file)::counter") == 7
        assert ctx.get("counter") == 1, "the default store is separate"
        assert ctx.keys("file") == ["counter"]
        with pytest.raises(FlowwireError, match="unknown context store 'nope'"):
            ctx.get("x", "nope")


async def test_function_and_change_nodes_reach_the_same_stores(tmp_path: Path) -> None:
    nodes = [
        {"id": "fn", "type": "function", "func": "flow.set('#:(file)::seen', msg.payload)\nglobal_.set('total', 10)\nreturn msg", "wires": [["ch"]]},
        {
            "id": "ch",
            "type": "change",
            "rules": [{"t": "set", "p": "from_flow", "to": "#:(file)::seen", "tot": "flow"}, {"t": "set", "p": "from_global", "to": "total", "tot": "global"}],
            "wires": [["out"]],
        },
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(with_settings(nodes, **FILE_STORE), base_dir=tmp_path) as flow:
        await flow.inject("fn", {"payload": "hi"})
        [msg] = await flow.received("out")
    assert msg["from_flow"] == "hi" and msg["from_global"] == 10


async def test_the_file_store_survives_a_restart(tmp_path: Path) -> None:
    nodes = [{"id": "t", "type": "tab"}, {"id": "counter", "type": "function", "z": "t", "func": COUNTER}, {"id": "x", "type": "junction", "z": "t"}]
    document = with_settings(nodes, contextStorage={"default": {"module": "file", "dir": "ctx"}})
    async with run_flow(document, base_dir=tmp_path) as flow:
        for _ in range(3):
            await flow.inject("counter", {})
        await flow.idle()
        flow.node("x").global_context.set("config", {"mode": "fast", "levels": [1, 2]})
    # stopped: a new runtime on the same directory sees the values
    async with run_flow(document, base_dir=tmp_path) as flow:
        assert flow.node("counter").context.get("count") == 3
        assert flow.node("counter").flow_context.get("last") == 3
        assert flow.node("x").global_context.get("config.levels[1]") == 2
        await flow.inject("counter", {})
        await flow.idle()
        assert flow.node("counter").context.get("count") == 4


COUNTER = "n = (context.get('count') or 0) + 1\ncontext.set('count', n)\nflow.set('last', n)\nreturn msg"


async def test_the_file_store_flushes_periodically(tmp_path: Path) -> None:
    document = with_settings([{"id": "a", "type": "junction"}], contextStorage={"file": {"module": "file", "dir": "ctx", "flushInterval": 0.05}})
    async with run_flow(document, base_dir=tmp_path) as flow:
        flow.node("a").global_context.set("#:(file)::alive", True)
        target = tmp_path / "ctx" / "global.json"
        await wait_until(lambda: target.is_file() and json.loads(target.read_text()) == {"alive": True}, what="periodic flush")


async def test_file_store_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path)
    store.set("global", "a", 1)
    store.flush()
    assert json.loads((tmp_path / "global.json").read_text()) == {"a": 1}

    def broken_dump(value: Any, f: Any) -> None:
        f.write('{"a": 2, "trunc')
        raise OSError("disk full")

    store.set("global", "a", 2)
    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        store.flush()
    assert json.loads((tmp_path / "global.json").read_text()) == {"a": 1}, "the old file is untouched"
    assert [p.name for p in tmp_path.iterdir()] == ["global.json"], "no temp file is left behind"


async def test_the_file_store_refuses_values_it_cannot_persist(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(TypeError):
        store.set("global", "bad", object())
    assert store.keys("global") == []


async def test_an_unknown_store_module_is_an_error() -> None:
    with pytest.raises(FlowwireError, match="unknown module 'redis'"):
        async with run_flow(with_settings([], contextStorage={"cache": {"module": "redis"}})):
            pass
