"""change: Node-RED's rules (set, change, delete, move) and value types."""

from __future__ import annotations

import time
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow


async def apply(rules: list[dict[str, Any]], msg: dict[str, Any], *, setup: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> tuple[dict[str, Any], Any]:
    """Run one message through a change node; returns the output msg and the node."""
    nodes = [{"id": "t", "type": "tab"}, {"id": "ch", "type": "change", "z": "t", "rules": rules, "wires": [["out"]]}, {"id": "out", "type": "test-sink", "z": "t"}]
    async with run_flow(nodes, env=env) as flow:
        node = flow.node("ch")
        for key, value in (setup or {}).items():
            scope, name = key.split(".", 1)
            (node.flow_context if scope == "flow" else node.global_context).set(name, value)
        await flow.inject("ch", msg)
        [out] = await flow.received("out")
    return out, node


# -- set ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "tot", "expected"),
    [
        ("hello", "str", "hello"),
        ("42", "num", 42),
        ("1.5", "num", 1.5),
        ("true", "bool", True),
        ("false", "bool", False),
        ('{"a": [1, 2]}', "json", {"a": [1, 2]}),
        ("topic", "msg", "the topic"),
        ("$uppercase(topic) & '!'", "jsonata", "THE TOPIC!"),
    ],
)
async def test_set_with_each_value_type(to: str, tot: str, expected: Any) -> None:
    out, _ = await apply([{"t": "set", "p": "payload", "pt": "msg", "to": to, "tot": tot}], {"payload": None, "topic": "the topic"})
    assert out["payload"] == expected


async def test_set_from_context_env_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANGE_TEST_REGION", "eu-west")
    rules = [
        {"t": "set", "p": "from_flow", "to": "limits.max", "tot": "flow"},
        {"t": "set", "p": "from_global", "to": "site", "tot": "global"},
        {"t": "set", "p": "from_env", "to": "CHANGE_TEST_REGION", "tot": "env"},
        {"t": "set", "p": "stamp", "to": "", "tot": "date"},
    ]
    before = int(time.time() * 1000)
    out, _ = await apply(rules, {}, setup={"flow.limits": {"max": 9}, "global.site": "north"})
    assert (out["from_flow"], out["from_global"], out["from_env"]) == (9, "north", "eu-west")
    assert before <= out["stamp"] <= int(time.time() * 1000)


async def test_set_from_a_missing_context_value_removes_the_target_as_node_red_does() -> None:
    rules = [
        {"t": "set", "p": "payload", "to": "never_set", "tot": "flow"},
        {"t": "set", "p": "topic", "to": "limits.absent", "tot": "global"},
        {"t": "set", "p": "kept", "pt": "flow", "to": "nowhere", "tot": "global"},
    ]
    out, node = await apply(rules, {"payload": 1, "topic": "t", "other": 2}, setup={"global.limits": {"max": 1}, "flow.kept": "old"})
    assert out == {"_msgid": out["_msgid"], "other": 2}, "not null: Node-RED's undefined deletes the property"
    assert node.flow_context.get("kept") is None


async def test_set_creates_missing_parents_and_writes_to_context() -> None:
    rules = [
        {"t": "set", "p": "payload.reading.value", "to": "7", "tot": "num"},
        {"t": "set", "p": "last", "pt": "flow", "to": "payload.reading", "tot": "msg"},
        {"t": "set", "p": "count", "pt": "global", "to": "1", "tot": "num"},
    ]
    out, node = await apply(rules, {"payload": "replaced"})
    assert out["payload"] == {"reading": {"value": 7}}
    assert node.flow_context.get("last") == {"value": 7}
    assert node.global_context.get("count") == 1


async def test_set_from_msg_is_a_reference_unless_deep_copy_is_asked_for() -> None:
    rules = [{"t": "set", "p": "ref", "to": "payload", "tot": "msg"}, {"t": "set", "p": "copy", "to": "payload", "tot": "msg", "dc": True}]
    out, _ = await apply(rules, {"payload": {"a": 1}})
    assert out["ref"] is out["payload"]
    assert out["copy"] == out["payload"] and out["copy"] is not out["payload"]


async def test_a_json_value_is_fresh_for_every_message() -> None:
    nodes = [{"id": "ch", "type": "change", "rules": [{"t": "set", "p": "payload", "to": '{"n": 0}', "tot": "json"}], "wires": [["out"]]}, {"id": "out", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        await flow.inject("ch", {})
        [first] = await flow.received("out")
        first["payload"]["n"] = 99
        await flow.inject("ch", {})
        _, second = await flow.received("out", count=2)
    assert second["payload"] == {"n": 0}


# -- change -------------------------------------------------------------------------------


async def change(current: Any, from_: Any, fromt: str, to: Any, tot: str) -> Any:
    out, _ = await apply([{"t": "change", "p": "payload", "from": from_, "fromt": fromt, "to": to, "tot": tot}], {"payload": current})
    return out["payload"]


async def test_change_replaces_every_occurrence_in_a_string() -> None:
    assert await change("a.b.a", "a", "str", "x", "str") == "x.b.x"
    assert await change("1+1", "+", "str", " plus ", "str") == "1 plus 1", "a str `from` is literal, not a regex"


async def test_change_with_a_regex_and_javascript_group_references() -> None:
    assert await change("2024-05-17", r"(\d+)-(\d+)-(\d+)", "re", "$3/$2/$1", "str") == "17/05/2024"
    assert await change("temp: 21", r"\d+", "re", "[$&]", "str") == "temp: [21]"
    assert await change("abc", "b", "re", "5", "num") == "a5c", "a regex replacement is text"


async def test_change_an_exact_match_to_a_typed_value() -> None:
    assert await change("on", "on", "str", "true", "bool") is True
    assert await change("42", "42", "num", "forty-two", "str") == "forty-two"
    assert await change("offline", "offline", "str", '{"up": false}', "json") == {"up": False}


async def test_change_numbers_and_booleans_only_when_the_from_value_has_their_type() -> None:
    assert await change(5, "5", "num", "five", "str") == "five"
    assert await change(5, "5", "str", "five", "str") == 5, "a str `from` never matches a number"
    assert await change(True, "true", "bool", "yes", "str") == "yes"
    assert await change(True, "true", "str", "yes", "str") is True
    assert await change(5, "6", "num", "six", "str") == 5


async def test_change_from_a_msg_property() -> None:
    out, _ = await apply([{"t": "change", "p": "payload", "from": "word", "fromt": "msg", "to": "***", "tot": "str"}], {"payload": "a secret secret", "word": "secret"})
    assert out["payload"] == "a *** ***"


async def test_change_in_context() -> None:
    rules = [{"t": "change", "p": "mode", "pt": "flow", "from": "auto", "fromt": "str", "to": "manual", "tot": "str"}]
    _, node = await apply(rules, {}, setup={"flow.mode": "auto"})
    assert node.flow_context.get("mode") == "manual"


# -- delete and move -------------------------------------------------------------------------


async def test_delete_from_msg_and_context() -> None:
    rules = [{"t": "delete", "p": "payload.secret"}, {"t": "delete", "p": "missing.deeper"}, {"t": "delete", "p": "old", "pt": "global"}]
    out, node = await apply(rules, {"payload": {"secret": 1, "kept": 2}}, setup={"global.old": 1})
    assert out["payload"] == {"kept": 2}
    assert node.global_context.get("old") is None


async def test_move_within_msg_and_into_context() -> None:
    rules = [{"t": "move", "p": "payload.temp", "to": "temperature", "tot": "msg"}, {"t": "move", "p": "topic", "to": "last_topic", "tot": "flow"}]
    out, node = await apply(rules, {"payload": {"temp": 21}, "topic": "room"})
    assert out["payload"] == {} and out["temperature"] == 21
    assert "topic" not in out and node.flow_context.get("last_topic") == "room"


async def test_rules_apply_in_order() -> None:
    rules = [
        {"t": "set", "p": "payload", "to": "a", "tot": "str"},
        {"t": "change", "p": "payload", "from": "a", "fromt": "str", "to": "b", "tot": "str"},
        {"t": "move", "p": "payload", "to": "result", "tot": "msg"},
    ]
    out, _ = await apply(rules, {})
    assert out["result"] == "b" and "payload" not in out


async def test_context_store_syntax_in_a_rule(tmp_path: Any) -> None:
    nodes = {
        "settings": {"contextStorage": {"file": {"module": "file", "dir": str(tmp_path)}}},
        "nodes": [
            {"id": "ch", "type": "change", "rules": [{"t": "set", "p": "#:(file)::saved", "pt": "global", "to": "payload", "tot": "msg"}], "wires": [["out"]]},
            {"id": "out", "type": "test-sink"},
        ],
    }
    async with run_flow(nodes) as flow:
        await flow.inject("ch", {"payload": 5})
        await flow.received("out")
        assert flow.node("ch").global_context.get("saved", "file") == 5
        assert flow.node("ch").global_context.get("saved") is None


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"t": "change", "p": "payload", "from": "([", "fromt": "re", "to": "x"}, "rules.0.from"),
        ({"t": "set", "p": "payload", "to": "{not json", "tot": "json"}, "rules.0.to"),
        ({"t": "set", "p": "payload", "to": "abc", "tot": "num"}, "rules.0.to"),
        ({"t": "set", "p": "payload..x", "to": "1", "tot": "str"}, "rules.0.p"),
        ({"t": "move", "p": "payload", "to": "x", "tot": "str"}, "rules.0.to"),
        ({"t": "set", "p": "payload", "to": "$$$(", "tot": "jsonata"}, "rules.0.to"),
    ],
)
def test_bad_rules_are_validation_errors(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(FlowError) as info:
        build([{"id": "ch", "type": "change", "rules": [rule]}])
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("ch", field)


async def test_change_regex_with_javascript_named_groups_and_dollar_escapes() -> None:
    assert await change("2024-05-17", r"(?<y>\d+)-(?<m>\d+)-(?<d>\d+)", "re", "$<d>.$<m>.$<y>", "str") == "17.05.2024"
    assert await change("price 5", r"(\d+)", "re", "$$$1", "str") == "price $5"
    assert await change("a\\b", "b", "re", "c\\d", "str") == "a\\c\\d", "backslashes in the replacement are literal"


async def test_set_with_jsonata_reading_context() -> None:
    rules = [{"t": "set", "p": "payload", "to": "$flowContext('limit') - payload", "tot": "jsonata"}]
    out, _ = await apply(rules, {"payload": 3}, setup={"flow.limit": 10})
    assert out["payload"] == 7
