"""Custom node types: the example in flows/, `modules:` in a flow, entry points."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from runtime import FlowError, Runtime, _registry, check_files
from runtime.testing import run_flow, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "flows" / "custom-node.yaml"


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


NODE_MODULE = '''
from runtime import Msg, Node, register


@register("{type_name}")
class Passthrough(Node):
    """Passes messages on (a test plug-in)."""

    def on_input(self, msg: Msg) -> Msg:
        return msg
'''
