"""`flowwire convert`: flows.json ↔ YAML, exact on the data both ways, over every flow file in the repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from runtime import _convert, cli
from runtime.testing import build

ROOT = Path(__file__).resolve().parents[2]
FLOW_FILES = sorted(
    [*ROOT.glob("flows/**/*.yaml"), *ROOT.glob("flows/**/*.yml"), *ROOT.glob("tests/**/fixtures/*.json"), *ROOT.glob("flows/**/*.json")],
)


def test_there_are_flow_files_to_convert() -> None:
    assert len(FLOW_FILES) >= 6


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_round_trip_keeps_every_value_and_key_order(path: Path, tmp_path: Path) -> None:
    original = _convert.read(path)
    as_json = _convert.to_json(original)
    yaml_file = tmp_path / "flow.yaml"
    yaml_file.write_text(_convert.to_yaml(original), encoding="utf-8")
    back = _convert.read(yaml_file)
    # Text comparison of the JSON: same values, same types, same key order, editor keys included.
    assert _convert.to_json(back) == as_json
    json_file = tmp_path / "flow.json"
    json_file.write_text(as_json, encoding="utf-8")
    assert _convert.to_yaml(_convert.read(json_file)) == _convert.to_yaml(original)


def test_awkward_strings_survive(tmp_path: Path) -> None:
    tricky = ["yes", "no", "null", "~", "1.0", "0x10", "2024-01-01", " lead", "trail ", "a: b", "# not a comment", "multi\nline\n", "trailing space \nline",
              "tab\tin", "\u2028sep", "emoji 😀", "", "'quote'", '"dq"', "- dash", "{not: map}", "line\n\n\n", "\ttabbed\nbody"]
    data = [{"id": "n1", "type": "function", "func": "if x:\n    return msg\nreturn None\n", "values": tricky, "nested": {"wires": [["a", "b"], []], "n": 1.5, "big": 2**63, "neg": -0.0}}]
    path = tmp_path / "f.yaml"
    path.write_text(_convert.to_yaml(data), encoding="utf-8")
    assert _convert.read(path) == data
    assert "func: |" in path.read_text()


def test_strip_layout_drops_only_the_editor_keys_of_nodes() -> None:
    data = [{"id": "g", "type": "group", "x": 1, "y": 2, "w": 3, "h": 4, "style": {"x": 9}}, {"id": "l", "type": "link out", "l": False, "links": []}]
    assert _convert.strip_layout(data) == [{"id": "g", "type": "group", "style": {"x": 9}}, {"id": "l", "type": "link out", "links": []}]


def test_cli_converts_both_ways_and_the_result_still_validates(tmp_path: Path) -> None:
    source = ROOT / "tests" / "nodes" / "core" / "fixtures" / "nodered-subflows.json"
    yaml_path, json_path = tmp_path / "f.yaml", tmp_path / "f.json"
    assert cli.main(["convert", str(source), "-o", str(yaml_path)]) == 0
    assert cli.main(["convert", str(yaml_path), "-o", str(json_path)]) == 0
    assert json.loads(json_path.read_text()) == json.loads(source.read_text())
    assert cli.main(["validate", str(yaml_path)]) == 0


def test_strip_layout_on_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = ROOT / "tests" / "nodes" / "core" / "fixtures" / "nodered-subflows.json"
    assert cli.main(["convert", str(source), "--strip-layout", "--to", "json"]) == 0
    nodes = json.loads(capsys.readouterr().out)
    assert len(nodes) == len(json.loads(source.read_text()))
    assert not any(key in node for node in nodes for key in _convert.LAYOUT_KEYS)


def test_split_writes_one_file_per_tab_and_subflow_which_run_together(tmp_path: Path) -> None:
    source = ROOT / "tests" / "nodes" / "core" / "fixtures" / "nodered-subflows.json"
    out = tmp_path / "parts"
    assert cli.main(["convert", str(source), "--split", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["_global.yaml", "subflow-badge.yaml", "subflow-parity.yaml", "subflow-scaler.yaml"]
    merged = [node for p in sorted(out.iterdir()) for node in _convert.read(p)]
    assert sorted(n["id"] for n in merged) == sorted(n["id"] for n in json.loads(source.read_text()))
    assert cli.main(["validate", *map(str, sorted(out.iterdir()))]) == 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [("- {id: a, type: inject, when: 2024-01-01}", "YAML date"), ("- {id: a, n: .nan}", "not a number"), ("- {1: a}", "not a string"), ("[1, 2", "not valid")],
)
def test_what_json_cannot_hold_is_refused_with_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["convert", str(path)]) == 2
    assert needle in capsys.readouterr().err


def test_converted_yaml_builds_the_same_graph(tmp_path: Path) -> None:
    source = ROOT / "tests" / "nodes" / "core" / "fixtures" / "nodered-everyday.json"
    path = tmp_path / "e.yaml"
    path.write_text(_convert.to_yaml(_convert.read(source)), encoding="utf-8")
    assert set(build(_convert.read(path)).graph.nodes) == set(build(json.loads(source.read_text())).graph.nodes)


def test_an_exports_javascript_function_bodies_stay_javascript_in_yaml(tmp_path: Path) -> None:
    source = ROOT / "tests" / "nodes" / "core" / "fixtures" / "nodered-functions.json"
    yaml_path, json_path = tmp_path / "f.yaml", tmp_path / "f.json"
    assert cli.main(["convert", str(source), "-o", str(yaml_path)]) == 0
    assert yaml.safe_load(yaml_path.read_text())["settings"] == {"functionLanguage": "javascript"}
    assert cli.main(["validate", str(yaml_path)]) == 0, "the bodies compile as JavaScript, not as Python"
    assert cli.main(["convert", str(yaml_path), "-o", str(json_path)]) == 0
    assert json.loads(json_path.read_text()) == json.loads(source.read_text())
