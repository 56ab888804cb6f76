"""Flow documents: the shapes a document may take, YAML conveniences, `${VAR}` substitution,
several files in one runtime, credentials files, and a Node-RED export running unchanged.
"""

from __future__ import annotations

import json
import sys
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


@pytest.mark.parametrize("settings", ["5", "[1, 2]"])
def test_settings_that_are_not_a_mapping_are_a_problem(tmp_path: Path, settings: str) -> None:
    [problem] = _problems(check_files, [write(tmp_path / "flow.yaml", f"nodes: []\nsettings: {settings}\n")])
    assert (problem.line, problem.field, problem.message) == (2, "settings", "settings must be a mapping")


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


# -- how a file is read: JSON and YAML give the same nodes and lines -------------------------------


def pretty_export(nodes: int) -> str:
    """A pretty-printed export (Node-RED's `flowFilePretty`): every property on its own line."""
    items: list[dict[str, Any]] = [{"id": "tab", "type": "tab", "label": "t"}]
    for k in range(nodes):
        items.append(
            {
                "id": f"n{k}",
                "type": "change",
                "z": "tab",
                "rules": [{"t": "set", "p": "payload", "pt": "msg", "to": str(k), "tot": "num"}],
                "x": 100,
                "wires": [[f"n{k + 1}"]] if k + 1 < nodes else [],
            }
        )
    return json.dumps(items, indent=4)


def test_json_and_the_same_text_read_as_yaml_give_the_same_nodes_and_lines(tmp_path: Path) -> None:
    text = pretty_export(40)
    as_json = check_files([write(tmp_path / "flows.json", text)])
    # A comment first makes the text YAML-only (the JSON reader is tried for text starting with `[` or `{`).
    as_yaml = check_files([write(tmp_path / "flows.yaml", "# the same export\n" + text)])
    assert list(as_json.nodes) == list(as_yaml.nodes)
    for node_id, node in as_json.nodes.items():
        other = as_yaml.nodes[node_id].spec
        assert (node.spec.raw, node.spec.wires) == (other.raw, other.wires)
        assert node.spec.line == other.line - 1
        assert {k: v + 1 for k, v in node.spec.key_lines.items()} == dict(other.key_lines)


def test_a_problem_in_a_large_pretty_json_export_names_the_property_line(tmp_path: Path) -> None:
    items = json.loads(pretty_export(300))
    items[250]["rules"][0]["tot"] = "no-such-type"
    text = json.dumps(items, indent=4)
    with pytest.raises(FlowError) as info:
        check_files([write(tmp_path / "flows.json", text)])
    [problem] = info.value.problems
    lines = text.splitlines()
    assert problem.node_id == "n249" and problem.field is not None and problem.field.startswith("rules")
    assert lines[problem.line - 1].strip() == '"rules": [', "the line of the node's `rules` key"


def test_a_compact_json_export_puts_every_problem_on_its_one_line(tmp_path: Path) -> None:
    text = json.dumps([{"id": "a", "type": "debug", "wires": []}, {"id": "b", "type": "injct"}])
    [problem] = _problems(check_files, [write(tmp_path / "flows.json", text)])
    assert (problem.line, problem.node_id, problem.field) == (1, "b", "type")


def test_a_json_mapping_document_keeps_its_lines(tmp_path: Path) -> None:
    text = json.dumps({"settings": {"drainTimeout": 2}, "nodez": [], "nodes": [{"id": "a", "type": "debug"}, {"id": "b", "type": "injct"}]}, indent=2)
    problems = _problems(check_files, [write(tmp_path / "flows.json", text)])
    lines = text.splitlines()
    assert [(p.field, lines[(p.line or 0) - 1].strip()) for p in problems] == [("nodez", '"nodez": [],'), ("type", '"type": "injct"')]


def test_json_documents_get_the_same_wires_shorthand_and_env_substitution(tmp_path: Path) -> None:
    text = json.dumps([{"id": "i", "type": "inject", "topic": "site/${SITE}/t", "wires": "d"}, {"id": "d", "type": "debug", "name": "$${SITE}"}])
    graph = check_files([write(tmp_path / "flows.json", text)], env={"SITE": "north"})
    assert wires_of(graph, "i") == [["d"]]
    assert graph.nodes["i"].props.topic == "site/north/t"
    assert graph.nodes["d"].spec.name == "$${SITE}", "names are not properties and were never substituted"


def test_json_numbers_are_json_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "flows.json", '[{"id": "i", "type": "inject", "onceDelay": 5e-1, "repeat": 1E1}]')
    props = check_files([path]).nodes["i"].props
    assert (props.onceDelay, props.repeat) == (0.5, 10)


def test_json_looking_yaml_still_loads(tmp_path: Path) -> None:
    flow_style = write(tmp_path / "flow.yaml", "[{id: a, type: junction, wires: [b]}, {id: b, type: debug}]  # flow-style YAML\n")
    trailing_comma = write(tmp_path / "flows.json", '[\n  {"id": "c", "type": "debug"},\n]\n')
    assert set(check_files([flow_style, trailing_comma]).nodes) == {"a", "b", "c"}


def test_broken_json_names_the_json_error_and_its_line(tmp_path: Path) -> None:
    [problem] = _problems(check_files, [write(tmp_path / "flows.json", '[\n  {"id": "a", "type": "debug"}\n  {"id": "b"}\n]\n')])
    assert problem.line == 3 and problem.message.startswith("not valid JSON: Expecting ',' delimiter")


def _problems(check: Any, paths: list[Path]) -> list[Any]:
    with pytest.raises(FlowError) as info:
        check(paths)
    return info.value.problems


# -- text from elsewhere -----------------------------------------------------------------------------


def test_json_surrogate_pair_escapes_are_one_character(tmp_path: Path) -> None:
    # json.dumps writes non-BMP characters as surrogate-pair escapes, as JavaScript exports do.
    text = json.dumps([{"id": "i\U0001f600", "type": "inject", "topic": "smile \U0001f600"}, {"id": "f", "type": "function", "func": "return {'payload': '\U0001f600'}"}])
    assert "\\ud83d\\ude00" in text
    graph = check_files([write(tmp_path / "flows.json", text)])
    assert graph.nodes["i\U0001f600"].props.topic == "smile \U0001f600"
    assert graph.nodes["f"].props.func == "return {'payload': '\U0001f600'}"


def test_yaml_surrogate_pair_escapes_are_one_character(tmp_path: Path) -> None:
    path = write(tmp_path / "flow.yaml", '- {id: i, type: inject, topic: "smile \\ud83d\\ude00", payload: "\\U0001F600"}\n')
    props = check_files([path]).nodes["i"].props
    assert (props.topic, props.payload) == ("smile \U0001f600", "\U0001f600")


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("flows.json", '[\n  {"id": "i", "type": "inject", "topic": "\\ud83d!"}\n]', 2),
        ("flows.json", '[\n  {"id": "i", "type": "inject",\n   "topic": "\\ude00"}\n]', 3),
        ("flow.yaml", '- id: i\n  type: inject\n  topic: "half \\ud83d"\n', 3),
    ],
)
def test_half_a_surrogate_pair_is_a_located_problem(tmp_path: Path, name: str, text: str, line: int) -> None:
    [problem] = _problems(check_files, [write(tmp_path / name, text)])
    assert problem.line == line and "surrogate pair" in problem.message


def test_an_escaped_backslash_before_u_is_not_a_surrogate(tmp_path: Path) -> None:
    path = write(tmp_path / "flows.json", '[{"id": "i", "type": "inject", "topic": "C:\\\\ud83d"}]')
    assert check_files([path]).nodes["i"].props.topic == "C:\\ud83d"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_utf16_utf32_and_a_utf8_byte_order_mark_are_decoded(tmp_path: Path, encoding: str) -> None:
    text = '[{"id": "i", "type": "inject", "topic": "caf\u00e9 \U0001f600"}]'
    for name, body in [("flows.json", text), ("flow.yaml", "- {id: i, type: inject, topic: 'caf\u00e9 \U0001f600'}\n")]:
        path = tmp_path / name
        path.write_bytes(body.encode(encoding))
        assert check_files([path]).nodes["i"].props.topic == "caf\u00e9 \U0001f600", (name, encoding)


def test_latin1_bytes_are_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_bytes(b"- id: i\n  type: inject\n  topic: caf\xe9\n")
    [problem] = _problems(check_files, [path])
    assert problem.line == 3 and problem.message == "not UTF-8 text: byte 0xe9 at column 13 cannot be decoded; save the file as UTF-8"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- id: a\n  type: debug\n  [x, y]: 1\n", 3, "a mapping key must be a string or a number, not a list"),
        ("- id: a\n  type: debug\n  ? {k: v}\n  : 1\n", 3, "a mapping key must be a string or a number, not a mapping"),
        ("- id: a\n  type: inject\n  payload: 2024-02-30\n", 3, "cannot read this value: day is out of range for month"),
    ],
)
def test_yaml_values_python_cannot_hold_are_located_problems(tmp_path: Path, text: str, line: int, message: str) -> None:
    [problem] = _problems(check_files, [write(tmp_path / "flow.yaml", text)])
    assert problem.line == line and problem.message == f"not valid YAML/JSON: {message}"


def test_text_nested_past_the_recursion_limit_is_a_problem_not_a_recursion_error(tmp_path: Path) -> None:
    depth = sys.getrecursionlimit() + 100  # jsonata raises the limit to 10,000 once imported
    nested = "[" * depth + "]" * depth
    problems = _problems(check_files, [write(tmp_path / "flows.json", nested), write(tmp_path / "flow.yaml", nested)])
    assert [(p.line, p.message) for p in problems] == [(1, "not valid YAML/JSON: exceeded maximum nesting depth"), (None, "not valid JSON: nested too deeply")]


# -- aliases -----------------------------------------------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    """Billion laughs: each level is nine aliases of the one before, 9**levels strings in all from under 500 bytes."""
    lines = ["- id: n", "  type: inject", "  payload:", '    a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for level in range(1, levels):
        lines.append(f"    a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_passes_the_limit(tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text.encode()) < 500
    [problem] = _problems(check_files, [write(tmp_path / "bomb.yaml", text)])
    # a0..a4 hold 10, 91, 820, 7381 and 66430 nodes; a1..a4's aliases add 74718, a5's first alias of a4 passes 100,000.
    assert problem.line == 9 and text.splitlines()[8].startswith("    a5:")
    assert problem.message == "aliases expand this document past 100,000 nodes; refused (an alias bomb?)"


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    [problem] = _problems(check_files, [write(tmp_path / "flow.yaml", "- id: n\n  type: inject\n  payload: &p\n    - 1\n    - *p\n")])
    assert problem.line == 5 and problem.message == "alias *p is inside the node it names (a recursive alias)"


def test_a_few_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = write(
        tmp_path / "flow.yaml",
        """
- &sensor {id: a, type: inject, repeat: 5, topic: "room/${ROOM:-1}", props: &props [{p: payload}, {p: topic, vt: str}]}
- {<<: *sensor, id: b, topic: room/2}
- {id: c, type: inject, props: *props}
""",
    )
    graph = check_files([path], env={})
    assert [(graph.nodes[n].props.repeat, graph.nodes[n].props.topic) for n in "ab"] == [(5, "room/1"), (5, "room/2")]
    assert graph.nodes["c"].props.props == graph.nodes["a"].props.props
    assert graph.nodes["b"].spec.line == 3


def test_without_libyaml_a_document_reads_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime import _parsing

    path = write(tmp_path / "flow.yaml", "- &base {id: a, type: inject, repeat: 5, topic: t}\n- {<<: *base, id: b}\n- id: c\n  type: debug\n")
    bomb = write(tmp_path / "bomb.yaml", alias_bomb())
    with_libyaml = check_files([path])
    bomb_problems = _problems(check_files, [bomb])
    monkeypatch.setattr(_parsing, "CParser", None)
    without = check_files([path])
    assert [(n.spec.raw, n.spec.line, dict(n.spec.key_lines)) for n in without.nodes.values()] == [
        (n.spec.raw, n.spec.line, dict(n.spec.key_lines)) for n in with_libyaml.nodes.values()
    ]
    assert _problems(check_files, [bomb]) == bomb_problems
