"""Validation: every class of problem is reported with file, line, node id and field,
all of them at once, before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from runtime import ConfigNode, ConfigRef, FlowError, Msg, Node, NodeProps, Problem, check_files, register
from runtime.testing import build


class DatabaseProps(NodeProps):
    url: str


@register("test-database")
class Database(ConfigNode):
    """A config node for these tests."""

    Props = DatabaseProps


@register("test-other-config")
class OtherConfig(ConfigNode):
    """A config node of the wrong type for `test-query`."""


class QueryProps(NodeProps):
    database: Annotated[str, ConfigRef("test-database")]
    backup: Annotated[str, ConfigRef("test-database", optional=True)] = ""
    limit: int = 10
    table: str


@register("test-query")
class Query(Node):
    """A node that needs a test-database config node."""

    Props = QueryProps

    def on_input(self, msg: Msg) -> Msg:
        return msg


def problems_in(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[Problem]:
    path = tmp_path / "flow.yaml"
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    with pytest.raises(FlowError) as info:
        check_files([path], env=env or {})
    for problem in info.value.problems:
        assert problem.file == str(path)
    return info.value.problems


def where(problem: Problem) -> tuple[int | None, str | None, str | None]:
    return problem.line, problem.node_id, problem.field


def test_unknown_type_suggests_close_names(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: a\n  type: chnage\n")
    assert where(problem) == (2, "a", "type")
    assert "unknown node type 'chnage'" in problem.message and "did you mean 'change'" in problem.message


def test_wire_to_an_unknown_id(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: a\n  type: junction\n  wires: [b, outt]\n- id: out\n  type: debug\n- id: b\n  type: debug\n")
    assert where(problem) == (3, "a", "wires")
    assert "unknown node id 'outt'" in problem.message and "did you mean 'out'" in problem.message


def test_wire_into_a_config_node(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- {id: db, type: test-database, url: x}\n- {id: a, type: junction, wires: [db]}\n")
    assert where(problem) == (2, "a", "wires") and "config node 'db'" in problem.message


def test_malformed_wires(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: a\n  type: junction\n  wires: {port: b}\n")
    assert where(problem) == (3, "a", "wires")


def test_duplicate_id(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: a\n  type: debug\n- id: a\n  type: junction\n")
    assert where(problem) == (3, "a", "id") and "duplicate id" in problem.message


def test_missing_id_and_missing_type(tmp_path: Path) -> None:
    no_id, no_type = problems_in(tmp_path, "- type: debug\n- id: b\n")
    assert (no_id.line, no_id.field) == (1, "id")
    assert where(no_type) == (2, "b", "type")


def test_missing_config_node_reference(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: q\n  type: test-query\n  table: t\n  database: ''\n")
    assert where(problem) == (4, "q", "database") and "needs a test-database config node id" in problem.message


def test_config_reference_to_an_unknown_id(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: q\n  type: test-query\n  table: t\n  database: db1\n")
    assert where(problem) == (4, "q", "database") and "'db1' does not exist" in problem.message


def test_config_reference_to_a_node_of_the_wrong_type(tmp_path: Path) -> None:
    text = "- {id: other, type: test-other-config}\n- id: q\n  type: test-query\n  table: t\n  database: other\n  backup: other\n"
    database, backup = problems_in(tmp_path, text)
    assert where(database) == (5, "q", "database") and "is a 'test-other-config', expected a test-database" in database.message
    assert where(backup) == (6, "q", "backup"), "optional references are still checked when given"


def test_a_valid_config_reference_passes(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("- {id: db, type: test-database, url: x}\n- {id: q, type: test-query, table: t, database: db}\n")
    assert set(check_files([path]).nodes) == {"db", "q"}


def test_missing_and_wrong_typed_properties(tmp_path: Path) -> None:
    text = "- {id: db, type: test-database, url: x}\n- id: q\n  type: test-query\n  database: db\n  limit: lots\n"
    problems = problems_in(tmp_path, text)
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"table", "limit"}
    assert where(by_field["limit"]) == (5, "q", "limit") and "valid integer" in by_field["limit"].message and "'lots'" in by_field["limit"].message
    assert where(by_field["table"]) == (2, "q", "table") and "required" in by_field["table"].message.lower()


def test_a_nested_property_names_its_path(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: c\n  type: change\n  rules:\n    - {t: sett, p: payload}\n")
    assert problem.node_id == "c" and problem.field == "rules.0.t" and "'set', 'change', 'delete' or 'move'" in problem.message


def test_function_code_that_does_not_compile_names_its_line(tmp_path: Path) -> None:
    text = """
- id: f
  type: function
  func: |
    total = 0
    for item in msg.payload
        total += item
    return msg
"""
    [problem] = problems_in(tmp_path, text)
    assert where(problem) == (3, "f", "func")
    assert "does not compile" in problem.message and "line 2 of the code" in problem.message


def test_a_type_check_finds_bad_values_inside_properties(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: c\n  type: change\n  rules:\n    - {t: change, p: payload, from: '(', fromt: re, to: x}\n")
    assert problem.node_id == "c" and problem.field == "rules.0.from"


def test_an_unset_variable_without_default_names_variable_and_node(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: i\n  type: inject\n  topic: 'sensors/${SITE_NAME}'\n")
    assert where(problem) == (3, "i", "topic")
    assert "'SITE_NAME' is not set and has no default" in problem.message


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = """
- {id: a, type: injekt, wires: [nowhere]}
- {id: b, type: debug}
- {id: b, type: debug}
- {id: f, type: function, func: "return ("}
- {id: i, type: inject, topic: "${NOPE}"}
"""
    problems = problems_in(tmp_path, text)
    assert [(p.node_id, p.field) for p in problems] == [("a", "type"), ("a", "wires"), ("b", "id"), ("f", "func"), ("i", "topic")]
    assert [p.line for p in problems] == [1, 1, 3, 4, 5], "sorted by location"


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    [problem] = problems_in(tmp_path, "- id: a\n  type: debug\n - id: b\n")
    assert problem.line == 3 and "not valid YAML" in problem.message


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="cannot read the file"):
        check_files([tmp_path / "missing.yaml"])


def test_unknown_properties_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("- id: d\n  type: debug\n  colour: red\n")
    [warning] = check_files([path]).warnings
    assert where(warning) == (3, "d", "colour") and "not used by 'debug' nodes" in warning.message


def test_problems_print_as_file_line_node_field_message() -> None:
    problem = Problem("bad", file="f.yaml", line=3, node_id="n", field="p")
    assert str(problem) == "f.yaml:3: node 'n': field 'p': bad"


def test_a_property_nested_too_deeply_is_a_problem_not_a_recursion_error(tmp_path: Path) -> None:
    deep = "[" * 101 + "]" * 101
    problems = problems_in(tmp_path, f"- id: ok\n  type: inject\n  payload: {'[' * 100 + ']' * 100}\n- id: i\n  type: inject\n  payload: {deep}\n")
    [problem] = problems
    assert where(problem) == (6, "i", "payload") and problem.message == "nested deeper than 100 levels of lists and mappings"


def test_a_rejected_value_is_not_echoed_when_the_field_may_hold_a_secret() -> None:
    secret = "hunter2-" + "x9" * 10
    nodes = [{"id": "r", "type": "http request", "url": "http://h/", "password": {"not": secret}, "authType": "basic"}]
    with pytest.raises(FlowError) as info:
        build(nodes)
    [problem] = info.value.problems
    assert problem.field == "password"
    assert secret not in str(problem)


def test_a_rejected_value_is_echoed_for_an_ordinary_field() -> None:
    with pytest.raises(FlowError) as info:
        build([{"id": "r", "type": "http request", "url": ["not", "text"]}])
    assert "(got ['not', 'text'])" in str(info.value.problems[0])
