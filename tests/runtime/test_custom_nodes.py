"""Custom node types: the examples in flows/custom_nodes (quoted by docs/custom-nodes.md), `modules:` in a flow, entry points."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from _http_server import serve
from aiohttp import web

from runtime import FlowError, Msg, Node, Runtime, _registry, check_files, register
from runtime.testing import build, run_flow, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "flows" / "custom-node.yaml"
EXAMPLES = ROOT / "flows" / "custom_nodes"


def load_example(tmp_path: Path, name: str) -> None:
    """Register an example's node types the way a flow does: through its `modules:` list."""
    flow = tmp_path / f"uses-{name}.yaml"
    flow.write_text(f"modules: [{EXAMPLES / name}]\nnodes: []\n")
    check_files([flow])


async def test_the_example_flow_loads_its_module_and_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runtime = Runtime(check_files([EXAMPLE]))
    await runtime.start()
    try:
        output: list[str] = []
        await wait_until(lambda: output.extend(capsys.readouterr().out.splitlines()) or bool(output), what="debug output")
    finally:
        await runtime.stop()
    assert output == ["[custom] payload: HELLO FROM A CUSTOM NODE"]


async def test_the_example_node_reports_a_non_string_to_catch() -> None:
    check_files([EXAMPLE])  # registers `uppercase` through the flow's modules list
    nodes = [
        {"id": "up", "type": "uppercase", "property": "payload.text", "wires": [["out"]]},
        {"id": "c", "type": "catch", "wires": [["caught"]]},
        {"id": "out", "type": "test-sink"},
        {"id": "caught", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("up", {"payload": {"text": "quiet"}})
        await flow.inject("up", {"payload": {"text": 3}})
        [ok] = await flow.received("out")
        [failed] = await flow.received("caught")
    assert ok["payload"]["text"] == "QUIET"
    assert failed["error"]["message"] == "msg.payload.text is int, not a string"


def test_a_missing_module_file_is_a_validation_problem(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text("modules: [./nodes/missing.py]\nnodes: []\n")
    with pytest.raises(FlowError) as info:
        check_files([flow])
    [problem] = info.value.problems
    assert problem.field == "modules" and "missing.py" in problem.message


def test_a_module_that_fails_to_import_is_a_validation_problem(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('no luck')\n")
    flow = tmp_path / "flow.yaml"
    flow.write_text("modules: [./broken.py]\nnodes: []\n")
    with pytest.raises(FlowError, match="failed to import: RuntimeError: no luck"):
        check_files([flow])


def test_a_dotted_module_name_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "acme_nodes"
    package.mkdir()
    (package / "__init__.py").write_text(NODE_MODULE.format(type_name="acme-dotted"))
    monkeypatch.syspath_prepend(str(tmp_path))
    flow = tmp_path / "flow.yaml"
    flow.write_text("modules: [acme_nodes]\nnodes:\n  - {id: a, type: acme-dotted}\n")
    assert check_files([flow]).nodes["a"].cls.type == "acme-dotted"


def test_entry_points_in_the_flowwire_nodes_group_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "acme_plugin.py").write_text(NODE_MODULE.format(type_name="acme-plugin"))
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = EntryPoint(name="acme", value="acme_plugin", group=_registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(_registry, "entry_points", lambda group: [entry] if group == _registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(_registry, "_loaded", False)
    _registry.load_builtins()
    assert "acme_plugin" in sys.modules
    assert _registry.lookup("acme-plugin") is not None


# -- the async example: http_lookup.py -------------------------------------------------------


@pytest.fixture
async def lookup_server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    """A real HTTP server whose handler waits until 4 requests are in at once (or 2 s pass)."""
    seen = {"now": 0, "most": 0}
    four_in = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        seen["now"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        if seen["now"] == 4:
            four_in.set()
        try:
            await asyncio.wait_for(four_in.wait(), 2)
        except TimeoutError:
            pass
        seen["now"] -= 1
        name = request.match_info["name"]
        if name == "missing":
            return web.Response(status=404)
        return web.json_response({"name": name, "length": len(name)})

    app = web.Application()
    app.router.add_get("/things/{name}", handle)
    async with serve(app) as base:
        yield f"{base}/things", seen


async def test_the_async_example_runs_concurrency_requests_at_once(tmp_path: Path, lookup_server: tuple[str, dict[str, int]]) -> None:
    load_example(tmp_path, "http_lookup.py")
    url, seen = lookup_server
    nodes = [
        {"id": "look", "type": "http-lookup", "url": url, "wires": [["out"]]},
        {"id": "c", "type": "catch", "wires": [["caught"]]},
        {"id": "out", "type": "test-sink"},
        {"id": "caught", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        for name in ("ant", "bee", "cat", "dove"):
            await flow.inject("look", {"payload": name})
        found = await flow.received("out", count=4, timeout=1.5)  # under the server's 2 s: 4 were in at once
        await flow.inject("look", {"payload": "missing"})
        [failed] = await flow.received("caught")
    assert seen["most"] == 4
    assert sorted(m["payload"]["name"] for m in found) == ["ant", "bee", "cat", "dove"]
    assert failed["error"]["message"] == f"GET {url}/missing: HTTP 404"


# -- the source example: numbers.py ------------------------------------------------------------


@register("example-slow-gate")
class Gate(Node):
    """A slow downstream: each message waits until the test opens the gate."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.open = asyncio.Event()
        self.arrived = 0

    async def on_input(self, msg: Msg) -> Msg:
        self.arrived += 1
        await self.open.wait()
        return msg


async def test_the_source_example_is_held_back_by_a_slow_downstream(tmp_path: Path) -> None:
    load_example(tmp_path, "numbers.py")
    nodes = [
        {"id": "src", "type": "numbers", "count": "10", "wires": [["gate"]]},
        {"id": "gate", "type": "example-slow-gate", "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        source, gate = flow.node("src"), flow.node("gate")
        await wait_until(lambda: source.emitted == source.window, what="a full window")
        for _ in range(50):  # the source gets many loop turns, and stays at its window
            await asyncio.sleep(0)
        assert (source.emitted, gate.arrived, source.finished) == (3, 1, [])
        gate.open.set()
        received = await flow.received("out", count=10)
        await flow.idle()
    assert [m["payload"] for m in received] == list(range(1, 11))
    assert source.finished == list(range(1, 11))


# -- the timer example: debounce.py ------------------------------------------------------------


async def test_the_timer_example_sends_the_last_of_a_burst_and_holds_it_until_then(tmp_path: Path) -> None:
    load_example(tmp_path, "debounce.py")
    nodes = [{"id": "d", "type": "debounce", "wait": "0.1", "wires": [["out"]]}, {"id": "out", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        for n in (1, 2, 3):
            await flow.inject("d", {"payload": n})
        assert flow.runtime.in_flight == 1  # the latest is held open; the two before it are finished
        [msg] = await flow.received("out")
        await flow.idle()
        assert msg["payload"] == 3 and len(flow.node("out").messages) == 1


async def test_the_timer_example_cancels_its_timer_at_close(tmp_path: Path) -> None:
    load_example(tmp_path, "debounce.py")
    nodes = [{"id": "d", "type": "debounce", "wait": 60, "wires": [["out"]]}, {"id": "out", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        flow.runtime.drain_timeout = 0.05
        await flow.inject("d", {"payload": "late"})
        assert flow.runtime.in_flight == 1
    assert flow.runtime.in_flight == 0
    assert flow.node("out").messages == []


def test_the_timer_example_rejects_a_wait_of_zero(tmp_path: Path) -> None:
    load_example(tmp_path, "debounce.py")
    with pytest.raises(FlowError) as info:
        build([{"id": "d", "type": "debounce", "wait": 0}])
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("d", "wait")


# -- the config node example: tally.py ---------------------------------------------------------


async def test_the_config_example_is_shared_by_several_nodes(tmp_path: Path) -> None:
    load_example(tmp_path, "tally.py")
    nodes = [
        {"id": "total", "type": "tally", "start": "100"},
        {"id": "one", "type": "tally-add", "tally": "total", "wires": [["out"]]},
        {"id": "ten", "type": "tally-add", "tally": "total", "amount": 10, "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        for node_id in ("one", "ten", "one"):
            await flow.inject(node_id, {})
            await flow.idle()
        received = await flow.received("out", count=3)
    assert [m["total"] for m in received] == [101, 111, 112]


def test_the_config_example_needs_an_existing_tally(tmp_path: Path) -> None:
    load_example(tmp_path, "tally.py")
    with pytest.raises(FlowError) as info:
        build([{"id": "one", "type": "tally-add", "tally": "nowhere"}])
    assert [(p.node_id, p.field) for p in info.value.problems] == [("one", "tally")]


NODE_MODULE = '''
from runtime import Msg, Node, register


@register("{type_name}")
class Passthrough(Node):
    """Passes messages on (a test plug-in)."""

    def on_input(self, msg: Msg) -> Msg:
        return msg
'''
