"""Context: node, flow and global scopes; memory and file stores; persistence across restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from runtime import FlowwireError
from runtime._context import Contexts
from runtime._file_store import FileStore
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


SUBFLOW_ON_TAB = [
    {"id": "t", "type": "tab"},
    {"id": "sf", "type": "subflow", "name": "S", "in": [], "out": []},
    {"id": "inner", "type": "junction", "z": "sf"},
    {"id": "i1", "type": "subflow:sf", "z": "t"},
    {"id": "on_tab", "type": "junction", "z": "t"},
]


async def test_parent_keys_reach_the_tab_from_a_subflow_and_global_from_a_tab(tmp_path: Path) -> None:
    async with run_flow(with_settings(SUBFLOW_ON_TAB, **FILE_STORE), base_dir=tmp_path) as flow:
        inner, on_tab = flow.node("i1-inner").flow_context, flow.node("on_tab").flow_context
        inner.set("$parent.from_inner", 1)
        on_tab.set("from_tab", 2)
        on_tab.set("$parent.to_global", 3)
        assert on_tab.get("from_inner") == 1 and inner.get("from_inner") is None, "written one level up, not here"
        assert inner.get("$parent.from_tab") == 2
        assert inner.get("$parent.$parent.to_global") == 3 == flow.node("on_tab").global_context.get("to_global")
        inner.set("$parent.#:(file)::x", 9)
        inner.set("#:(file)::$parent.y", 8)
        assert (on_tab.get("x", "file"), on_tab.get("y", "file"), on_tab.get("x")) == (9, 8, None), "the store goes with the key either way"
        assert (await inner.aget("$parent.from_tab"), await inner.aget("$parent.$parent.$parent.to_global")) == (2, None)
        await inner.aset("$parent.from_inner", None)
        assert on_tab.get("from_inner") is None


async def test_a_parent_key_past_the_top_or_without_a_name_is_missing_and_never_written() -> None:
    async with run_flow(SUBFLOW_ON_TAB) as flow:
        node = flow.node("on_tab")
        node.context.set("$parent.n", 1)
        node.flow_context.set("$parent.$parent.g", 1)
        node.flow_context.set("$parent", 1)
        assert node.global_context.keys() == [] and node.flow_context.keys() == [] and node.context.keys() == []
        assert node.context.get("$parent.n") is None and node.global_context.get("$parent.anything") is None
        node.flow_context.set("$parents", 5)
        assert node.flow_context.get("$parents") == 5, "only the exact prefix means the parent"


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

    def disk_full(fd: int) -> None:
        raise OSError("disk full")

    store.set("global", "a", 2)
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError, match="disk full"):
            store.flush()
    assert json.loads((tmp_path / "global.json").read_text()) == {"a": 1}, "the old file is untouched"
    assert [p.name for p in tmp_path.iterdir()] == ["global.json"], "no temp file is left behind"
    store.flush()
    assert json.loads((tmp_path / "global.json").read_text()) == {"a": 2}, "the failed scope stayed dirty and is written next time"


async def test_the_file_store_refuses_values_it_cannot_persist(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(TypeError):
        store.set("global", "bad", object())
    assert store.keys("global") == []


async def test_an_unknown_store_module_is_an_error() -> None:
    with pytest.raises(FlowwireError, match="unknown module 'mongo'"):
        async with run_flow(with_settings([], contextStorage={"cache": {"module": "mongo"}})):
            pass


# --- file names: one file per scope, reversible, never shared ---

ODD_IDS = ["my node", "a/b", "../up", "a1b2.c3d4", ".hidden", "zähler", "計数器", "100%", "tab\tand~tilde", "🙂"]


async def test_ids_with_any_characters_survive_a_restart(tmp_path: Path) -> None:
    tabs = [{"id": f"tab {i}", "type": "tab"} for i in range(2)]
    nodes = tabs + [{"id": node_id, "type": "junction", "z": f"tab {i % 2}"} for i, node_id in enumerate(ODD_IDS)]
    document = with_settings(nodes, contextStorage={"default": {"module": "file", "dir": "ctx", "flushInterval": 3600}})
    async with run_flow(document, base_dir=tmp_path) as flow:
        for i, node_id in enumerate(ODD_IDS):
            flow.node(node_id).context.set("id", node_id)
            flow.node(node_id).flow_context.set(f"seen{i}", node_id)
    names = sorted(p.name for p in (tmp_path / "ctx").iterdir())
    assert all(name.isascii() and not name.startswith(".") for name in names), names
    assert "node-my%20node.json" in names and "node-a%2Fb.json" in names and "node-a1b2.c3d4.json" in names
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != tmp_path / "ctx"] == [], "nothing written outside the store's directory"
    async with run_flow(document, base_dir=tmp_path) as flow:
        for i, node_id in enumerate(ODD_IDS):
            assert flow.node(node_id).context.get("id") == node_id
            expected = sorted(f"seen{j}" for j in range(len(ODD_IDS)) if j % 2 == i % 2)
            assert sorted(flow.node(node_id).flow_context.keys()) == expected


async def test_ids_that_once_shared_a_file_keep_separate_values(tmp_path: Path) -> None:
    colliding = ["a b", "a/b", "a_b", "a?b", "a:b"]  # all were written to node-a_b.json
    for _ in range(2):  # the second round reads back what the first wrote
        store = FileStore(tmp_path)
        store.load()
        for node_id in colliding:
            if store.get(f"node-{node_id}", "v") is None:
                store.set(f"node-{node_id}", "v", node_id)
        store.flush()
    store = FileStore(tmp_path)
    store.load()
    assert [store.get(f"node-{node_id}", "v") for node_id in colliding] == colliding
    assert len(list(tmp_path.glob("*.json"))) == len(colliding)


async def test_files_named_by_earlier_versions_are_still_read(tmp_path: Path) -> None:
    (tmp_path / "global.json").write_text('{"total": 5}')
    (tmp_path / "node-a1b2.c3d4.json").write_text('{"count": 3}')
    (tmp_path / "flow-Main_Tab.json").write_text('{"mode": "fast"}')
    store = FileStore(tmp_path)
    store.load()
    assert (store.get("global", "total"), store.get("node-a1b2.c3d4", "count"), store.get("flow-Main_Tab", "mode")) == (5, 3, "fast")


async def test_a_file_whose_name_flowwire_never_writes_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stray = tmp_path / "my notes.json"
    stray.write_text('{"x": 1}')
    store = FileStore(tmp_path)
    store.load()
    store.set("global", "a", 1)
    store.flush()
    assert stray.read_text() == '{"x": 1}'
    assert any("my notes.json" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


async def test_a_scope_too_long_for_a_file_name_is_refused_at_set(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(FlowwireError, match="too long to name a file"):
        store.set("node-" + "ü" * 100, "a", 1)
    assert store.keys("node-" + "ü" * 100) == []


async def test_stores_on_one_directory_do_not_overwrite_each_other(tmp_path: Path) -> None:
    # `default` without a dir lands in .flowwire/context, where the built-in `file` store lives too
    document = with_settings([{"id": "a", "type": "junction"}], contextStorage={"default": {"module": "file"}})
    async with run_flow(document, base_dir=tmp_path) as flow:
        ctx = flow.node("a").global_context
        ctx.set("via_default", 1)
        ctx.set("#:(file)::via_file", 2)
    async with run_flow(document, base_dir=tmp_path) as flow:
        ctx = flow.node("a").global_context
        assert (ctx.get("via_default"), ctx.get("#:(file)::via_file")) == (1, 2)


# --- files that cannot be read back are kept aside, never overwritten ---

UNUSABLE = {
    "truncated": (b'{"count": 41, "names": ["a", "b', "is not valid JSON"),
    "empty": (b"", "is not valid JSON"),
    "null": (b"null", "holds null, not an object"),
    "array": (b"[1, 2]", "holds an array, not an object"),
    "string": (b'"hello"', "holds a string, not an object"),
    "number": (b"42", "holds a number, not an object"),
    "binary": (b'{"a": "\xff\xfe\x00\x81"}', "is not UTF-8 text (byte 0xff at offset 7)"),
}


@pytest.mark.parametrize("content,problem", UNUSABLE.values(), ids=UNUSABLE.keys())
async def test_an_unusable_file_is_kept_aside_and_the_scope_starts_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes, problem: str) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "node-a.json").write_bytes(content)
    (tmp_path / "ctx" / "global.json").write_text('{"kept": true}')
    document = with_settings([{"id": "a", "type": "junction"}], contextStorage={"default": {"module": "file", "dir": "ctx"}})
    async with run_flow(document, base_dir=tmp_path) as flow:
        ctx = flow.node("a").context
        assert (ctx.get("count"), ctx.keys()) == (None, []), "the scope starts empty"
        assert flow.node("a").global_context.get("kept") is True, "other scopes are unaffected"
        ctx.set("count", 1)
    [aside] = (tmp_path / "ctx").glob("node-a.json.corrupt-*")
    assert aside.read_bytes() == content, "the unusable file is kept byte for byte"
    assert json.loads((tmp_path / "ctx" / "node-a.json").read_text()) == {"count": 1}
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "flowwire.context"]
    assert str(tmp_path / "ctx" / "node-a.json") in warning and problem in warning and aside.name in warning


async def test_each_unusable_file_gets_its_own_copy(tmp_path: Path) -> None:
    for _ in range(3):
        (tmp_path / "global.json").write_text("{trunc")
        FileStore(tmp_path).load()
    assert len(list(tmp_path.glob("global.json.corrupt-*"))) == 3
    assert not (tmp_path / "global.json").exists()


async def test_a_file_that_cannot_be_kept_aside_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "global.json").write_text("{trunc")

    def read_only(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", read_only)
    with pytest.raises(FlowwireError, match=r"global.json is not valid JSON .*could not be kept aside .*Permission denied"):
        FileStore(tmp_path).load()
    assert (tmp_path / "global.json").read_text() == "{trunc"


# --- flushing ---

async def test_a_failing_periodic_flush_is_logged_and_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "ctx").write_text("a file where the directory should be")
    document = with_settings([{"id": "a", "type": "junction"}], contextStorage={"file": {"module": "file", "dir": "ctx", "flushInterval": 0.02}})
    async with run_flow(document, base_dir=tmp_path) as flow:
        flow.node("a").global_context.set("#:(file)::alive", True)
        await wait_until(lambda: any("periodic flush failed" in r.getMessage() for r in caplog.records), what="a logged failure")
        (tmp_path / "ctx").unlink()
        target = tmp_path / "ctx" / "global.json"
        await wait_until(lambda: target.is_file() and json.loads(target.read_text()) == {"alive": True}, what="a later flush")


async def test_flush_sync_writes_every_file_store_at_once(tmp_path: Path) -> None:
    settings = {"file": {"module": "file", "dir": "one", "flushInterval": 3600}, "other": {"module": "file", "dir": "two", "flushInterval": 3600}}
    async with run_flow(with_settings([{"id": "a", "type": "junction"}], contextStorage=settings), base_dir=tmp_path) as flow:
        node = flow.node("a")
        node.global_context.set("#:(file)::x", 1)
        node.context.set("#:(other)::y", [1, "two"])
        node.context.set("kept in memory", 3)
        flow.runtime.contexts.flush_sync()
        assert json.loads((tmp_path / "one" / "global.json").read_text()) == {"x": 1}
        assert json.loads((tmp_path / "two" / "node-a.json").read_text()) == {"y": [1, "two"]}
        inode = (tmp_path / "one" / "global.json").stat().st_ino
        flow.runtime.contexts.flush_sync()
        assert (tmp_path / "one" / "global.json").stat().st_ino == inode, "nothing new to write: the file is not rewritten"
        node.global_context.set("#:(file)::x", 2)
        flow.runtime.contexts.flush_sync()
        assert json.loads((tmp_path / "one" / "global.json").read_text()) == {"x": 2}
        assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["global.json"], "no temp file is left behind"


async def test_flush_sync_alongside_the_periodic_flush(tmp_path: Path) -> None:
    document = with_settings([{"id": "a", "type": "junction"}], contextStorage={"file": {"module": "file", "dir": "ctx", "flushInterval": 0.01}})
    target = tmp_path / "ctx" / "global.json"
    async with run_flow(document, base_dir=tmp_path) as flow:
        ctx = flow.node("a").global_context
        for n in range(200):
            ctx.set("#:(file)::n", n)
            if n % 3 == 0:
                flow.runtime.contexts.flush_sync()
            if n % 7 == 0:
                await asyncio.to_thread(flow.runtime.contexts.flush_sync)
            await asyncio.sleep(0)
        flow.runtime.contexts.flush_sync()
        assert json.loads(target.read_text()) == {"n": 199}
        ctx.set("#:(file)::n", 200)
        await wait_until(lambda: json.loads(target.read_text()) == {"n": 200}, what="the periodic flush still running after flush_sync")
    assert json.loads(target.read_text()) == {"n": 200}
    assert sorted(p.name for p in (tmp_path / "ctx").iterdir()) == ["global.json"]


class _ProcessEnds(BaseException):
    """Stands for os._exit: the flush below the signal handler never resumes."""


@pytest.mark.parametrize("below_resumes", [False, True], ids=["process-ends", "flush-below-resumes"])
async def test_a_flush_run_on_top_of_a_flush_writes_the_scope_being_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, below_resumes: bool) -> None:
    # A second SIGTERM that lands during the closing flush runs flush_sync in the same
    # (main) thread, on top of it, then ends the process before that flush renames its file.
    store = FileStore(tmp_path)
    store.set("global", "kept", "value")
    real_fsync = os.fsync
    signalled = False

    def second_signal_during_fsync(fd: int) -> None:
        nonlocal signalled
        real_fsync(fd)
        if not signalled:
            signalled = True
            store.flush()
            if not below_resumes:
                raise _ProcessEnds

    monkeypatch.setattr(os, "fsync", second_signal_during_fsync)
    if below_resumes:
        store.flush()
    else:
        with pytest.raises(_ProcessEnds):
            store.flush()
    assert signalled
    assert json.loads((tmp_path / "global.json").read_text()) == {"kept": "value"}
    assert [p.name for p in tmp_path.iterdir()] == ["global.json"]


async def test_flush_sync_keeps_going_past_a_failing_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    settings = {"file": {"module": "file", "dir": "one", "flushInterval": 3600}, "other": {"module": "file", "dir": "two", "flushInterval": 3600}}
    async with run_flow(with_settings([{"id": "a", "type": "junction"}], contextStorage=settings), base_dir=tmp_path) as flow:
        node = flow.node("a")
        node.global_context.set("#:(file)::x", 1)
        node.global_context.set("#:(other)::y", 2)
        real_replace = os.replace

        def full_disk_in_one(src: Any, dst: Any) -> None:
            if Path(dst).parent.name == "one":
                raise OSError(28, "No space left on device")
            real_replace(src, dst)

        with monkeypatch.context() as m:
            m.setattr(os, "replace", full_disk_in_one)
            flow.runtime.contexts.flush_sync()
        assert not (tmp_path / "one" / "global.json").exists() and list((tmp_path / "one").iterdir()) == [], "no partial or temp file"
        assert json.loads((tmp_path / "two" / "global.json").read_text()) == {"y": 2}
        assert any("No space left on device" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
        flow.runtime.contexts.flush_sync()
        assert json.loads((tmp_path / "one" / "global.json").read_text()) == {"x": 1}, "the failed store is retried"


async def test_flush_sync_before_the_stores_are_read_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "global.json").write_text('{"old": 1}')
    contexts = Contexts({"contextStorage": {"file": {"module": "file", "dir": "ctx"}}}, tmp_path)
    contexts.store("file").set("global", "new", 2)
    contexts.flush_sync()
    assert json.loads((tmp_path / "ctx" / "global.json").read_text()) == {"old": 1}
    await contexts.open()
    await contexts.close()
    assert json.loads((tmp_path / "ctx" / "global.json").read_text()) == {"old": 1, "new": 2}, "a value set before opening joins the stored ones"
