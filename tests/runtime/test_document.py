"""Flow documents: the shapes a document may take, YAML conveniences, `${VAR}` substitution,
several files in one runtime, credentials files, and a Node-RED export running unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime import FlowError, Runtime, check_files
from runtime.testing import run_flow, wait_until

FIXTURES = Path(__file__).parent / "fixtures"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def wires_of(graph: Any, node_id: str) -> list[list[str]]:
    return graph.nodes[node_id].spec.wires  # type: ignore[no-any-return]


# -- shapes --------------------------------------------------------------------------------


def test_a_document_is_a_bare_list_of_nodes(tmp_path: Path) -> None:
    path = write(tmp_path / "flow.yaml", "- {id: a, type: junction, wires: [[b]]}\n- {id: b, type: debug}\n")
    graph = check_files([path])
    assert set(graph.nodes) == {"a", "b"}


def test_a_document_is_a_mapping_with_nodes_settings_and_modules(tmp_path: Path) -> None:
    path = write(
        tmp_path / "flow.yaml",
        "name: demo\ndescription: a mapping\nsettings:\n  drainTimeout: 3\nmodules: []\nnodes:\n  - {id: a, type: debug}\n",
    )
    graph = check_files([path])
    assert set(graph.nodes) == {"a"}
    assert graph.settings == {"drainTimeout": 3}
    assert Runtime(graph).drain_timeout == 3.0


def test_an_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "flow.yaml", "nodes: []\nnode: []\n")
    with pytest.raises(FlowError) as info:
        check_files([path])
    [problem] = info.value.problems
    assert (problem.line, problem.field) == (2, "node") and "unknown top-level key" in problem.message


def test_json_is_a_document_too(tmp_path: Path) -> None:
    path = write(tmp_path / "flows.json", json.dumps([{"id": "a", "type": "junction", "wires": [["b"]]}, {"id": "b", "type": "debug", "wires": []}]))
    assert set(check_files([path]).nodes) == {"a", "b"}


# -- YAML conveniences -----------------------------------------------------------------------


def test_wires_shorthand(tmp_path: Path) -> None:
    path = write(
        tmp_path / "flow.yaml",
        """
nodes:
  - {id: list, type: junction, wires: [b, c]}
  - {id: single, type: junction, wires: b}
  - {id: ports, type: function, outputs: 2, wires: [[b], [c]]}
  - {id: none, type: junction}
  - {id: b, type: debug}
  - {id: c, type: debug}
""",
    )
    graph = check_files([path])
    assert wires_of(graph, "list") == [["b", "c"]], "`wires: [b, c]` means both on port 0"
    assert wires_of(graph, "single") == [["b"]]
    assert wires_of(graph, "ports") == [["b"], ["c"]]
    assert wires_of(graph, "none") == []


async def test_the_wires_shorthand_fans_out_on_port_0() -> None:
    async with run_flow([{"id": "j", "type": "junction", "wires": ["a", "b"]}, {"id": "a", "type": "test-sink"}, {"id": "b", "type": "test-sink"}]) as flow:
        await flow.inject("j", {"payload": 1})
        await flow.received("a")
        await flow.received("b")


def test_several_files_make_one_graph(tmp_path: Path) -> None:
    first = write(tmp_path / "sources.yaml", "nodes:\n  - {id: src, type: inject, wires: [out]}\nsettings: {drainTimeout: 1}\n")
    second = write(tmp_path / "sinks.yaml", "nodes:\n  - {id: out, type: debug}\nsettings: {nodeCloseTimeout: 2}\n")
    graph = check_files([first, second])
    assert set(graph.nodes) == {"src", "out"}
    assert graph.files == [str(first), str(second)]
    assert graph.settings == {"drainTimeout": 1, "nodeCloseTimeout": 2}


def test_an_id_defined_in_two_files_is_a_duplicate(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "- {id: x, type: debug}\n")
    second = write(tmp_path / "b.yaml", "- {id: other, type: debug}\n- {id: x, type: debug}\n")
    with pytest.raises(FlowError) as info:
        check_files([first, second])
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.node_id) == (str(second), 2, "x")
    assert f"first defined at {first}:1" in problem.message


# -- environment -------------------------------------------------------------------------------


def test_env_substitution_whole_value_substring_default_and_escape(tmp_path: Path) -> None:
    path = write(
        tmp_path / "flow.yaml",
        """
- id: i
  type: inject
  topic: "site/${SITE}/temp"
  payload: "${GREETING:-hello}"
  payloadType: "${PTYPE}"
  repeat: "${EVERY:-0}"
- id: c
  type: change
  rules:
    - {t: set, p: literal, to: "$${SITE}", tot: str}
- id: f
  type: function
  func: "return {'payload': '${SITE}'}"
""",
    )
    graph = check_files([path], env={"SITE": "north", "PTYPE": "str"})
    inject = graph.nodes["i"].props
    assert inject.topic == "site/north/temp", "substitution works inside a string"
    assert inject.payload == "hello", "${VAR:-default} uses the default when unset"
    assert inject.payloadType == "str"
    assert inject.repeat == 0
    assert graph.nodes["c"].props.rules[0].to == "${SITE}", "$${VAR} is a literal ${VAR}"
    assert graph.nodes["f"].props.func == "return {'payload': '${SITE}'}", "code is never substituted"


def test_an_empty_variable_is_set(tmp_path: Path) -> None:
    path = write(tmp_path / "flow.yaml", "- {id: i, type: inject, topic: '${EMPTY:-fallback}'}\n")
    assert check_files([path], env={"EMPTY": ""}).nodes["i"].props.topic == ""


# -- credentials --------------------------------------------------------------------------------


def test_credentials_come_from_the_sidecar_file(tmp_path: Path) -> None:
    path = write(tmp_path / "flows.json", json.dumps([{"id": "i", "type": "inject", "topic": "kept"}]))
    write(tmp_path / "flows_cred.json", json.dumps({"i": {"topic": "from-credentials", "payload": "secret"}}))
    props = check_files([path]).nodes["i"].props
    assert props.topic == "kept", "a value in the flow wins"
    assert props.payload == "secret"


def test_an_encrypted_credentials_file_is_a_clear_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "flows.json", "[]")
    write(tmp_path / "flows_cred.json", json.dumps({"$": "abcdef0123"}))
    with pytest.raises(FlowError, match="encrypted or malformed credentials file"):
        check_files([path])


# -- disabled nodes and tabs ----------------------------------------------------------------------


def test_disabled_nodes_and_tabs_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "flow.yaml",
        """
- {id: t, type: tab, disabled: true}
- {id: on-disabled-tab, type: no-such-type, z: t}
- {id: inactive, type: debug, d: true, complete: 5}
- {id: src, type: junction, wires: [inactive]}
""",
    )
    graph = check_files([path])
    assert set(graph.nodes) == {"src"}


# -- a Node-RED export ---------------------------------------------------------------------------


def test_a_node_red_export_validates(caplog: pytest.LogCaptureFixture) -> None:
    graph = check_files([FIXTURES / "nodered-export.json"])
    types = {c.spec.type for c in graph.nodes.values()}
    assert types == {"tab", "comment", "inject", "change", "debug", "complete", "catch", "status"}
    assert graph.warnings == [], "Node-RED's own editor fields are known, not warned about"


async def test_a_node_red_export_runs_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((FIXTURES / "nodered-export.json").read_text())
    async with run_flow(data) as flow:
        lines: list[str] = []

        def two_lines() -> bool:
            lines.extend(capsys.readouterr().out.splitlines())
            return len(lines) >= 2

        await wait_until(two_lines, what="two debug lines")
        await flow.idle()
    lines.extend(capsys.readouterr().out.splitlines())
    [reading] = [line for line in lines if line.startswith("[reading out]")]
    [completed] = [line for line in lines if line.startswith("[completed]")]
    msg = json.loads(reading.removeprefix("[reading out] msg: "))
    assert msg["payload"] == {"unit": "C"} and msg["temperature"] == 21.5 and msg["topic"] == "room/1"
    assert completed == "[completed] topic: room/1"
    assert not any(line.startswith(("[errors]", "[disabled]")) for line in lines)
