"""switch: Node-RED's rule set, JavaScript comparisons, checkall, sequences and validation."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow

#: On looptime's clock a missing message fails at once instead of after a wall-clock timeout.
pytestmark = pytest.mark.looptime


def switch_flow(rules: list[dict[str, Any]], **props: Any) -> list[dict[str, Any]]:
    """A switch with one test-sink per rule: output i goes to sink `s<i>`."""
    outputs = max(len(rules), 1)
    return [
        {"id": "sw", "type": "switch", "property": "payload", "rules": rules, "wires": [[f"s{i}"] for i in range(outputs)], **props},
        *({"id": f"s{i}", "type": "test-sink"} for i in range(outputs)),
    ]


async def routed(rules: list[dict[str, Any]], messages: list[dict[str, Any]], **props: Any) -> list[list[Any]]:
    """The payloads each output received after all messages went through."""
    async with run_flow(switch_flow(rules, **props)) as flow:
        for msg in messages:
            await flow.inject("sw", msg)
        await flow.idle()
        return [[m.get("payload") for m in flow.node(f"s{i}").messages] for i in range(max(len(rules), 1))]


async def matches(rule: dict[str, Any], payload: Any, **props: Any) -> bool:
    [out] = await routed([rule], [{"payload": payload}], **props)
    return len(out) == 1


# -- operators, as Node-RED evaluates them (JavaScript comparisons) -------------------------------


@pytest.mark.parametrize(
    ("rule", "payload", "expected"),
    [
        ({"t": "eq", "v": "Hello", "vt": "str"}, "Hello", True),
        ({"t": "eq", "v": "Hello", "vt": "str"}, "Hello!", False),
        ({"t": "eq", "v": "10", "vt": "num"}, "10", True),  # "10" == 10 in JavaScript
        ({"t": "eq", "v": "10"}, 10, True),  # no vt: a number when it looks like one
        ({"t": "eq", "v": "true", "vt": "bool"}, True, True),
        ({"t": "neq", "v": "Hello", "vt": "str"}, "Hi", True),
        ({"t": "lt", "v": "3", "vt": "num"}, 2, True),
        ({"t": "lt", "v": "3", "vt": "num"}, "20", False),  # string vs number compares numerically
        ({"t": "lte", "v": "3", "vt": "num"}, 3, True),
        ({"t": "gt", "v": "3", "vt": "num"}, 4.5, True),
        ({"t": "gte", "v": "3", "vt": "num"}, 2, False),
        ({"t": "gt", "v": "b", "vt": "str"}, "c", True),  # two strings compare as strings
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 4, True),
        ({"t": "btwn", "v": "5", "vt": "num", "v2": "3", "v2t": "num"}, 4, True),  # either order
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 6, False),
        ({"t": "cont", "v": "ell", "vt": "str"}, "Hello", True),
        ({"t": "cont", "v": "2", "vt": "str"}, 123, True),
        ({"t": "regex", "v": "^he.*o$", "vt": "str"}, "hello", True),
        ({"t": "regex", "v": "^HE", "vt": "str", "case": True}, "hello", True),
        ({"t": "regex", "v": "^HE", "vt": "str", "case": False}, "hello", False),
        ({"t": "regex", "v": "(?<word>l+)", "vt": "str"}, "hello", True),  # JavaScript named group
        ({"t": "true"}, True, True),
        ({"t": "true"}, "true", False),
        ({"t": "false"}, False, True),
        ({"t": "null"}, None, True),
        ({"t": "nnull"}, 0, True),
        ({"t": "empty"}, "", True),
        ({"t": "empty"}, [], True),
        ({"t": "empty"}, {}, True),
        ({"t": "empty"}, 0, False),
        ({"t": "nempty"}, [1], True),
        ({"t": "nempty"}, 5, False),
        ({"t": "istype", "v": "string", "vt": "string"}, "x", True),
        ({"t": "istype", "v": "number", "vt": "number"}, "1", False),
        ({"t": "istype", "v": "boolean", "vt": "boolean"}, False, True),
        ({"t": "istype", "v": "array", "vt": "array"}, [1], True),
        ({"t": "istype", "v": "object", "vt": "object"}, [1], False),
        ({"t": "istype", "v": "object", "vt": "object"}, {"a": 1}, True),
        ({"t": "istype", "v": "json", "vt": "json"}, '{"a": 1}', True),
        ({"t": "istype", "v": "json", "vt": "json"}, "{a: 1}", False),
        ({"t": "istype", "v": "null", "vt": "null"}, None, True),
        ({"t": "istype", "v": "buffer", "vt": "buffer"}, b"ab", True),
        ({"t": "hask", "v": "a", "vt": "str"}, {"a": 0}, True),
        ({"t": "hask", "v": "b", "vt": "str"}, {"a": 0}, False),
        ({"t": "jsonata_exp", "v": "payload.status = 'requires_action'", "vt": "jsonata"}, {"status": "requires_action"}, True),
        ({"t": "jsonata_exp", "v": "payload > 5", "vt": "jsonata"}, 3, False),
    ],
)
async def test_operator(rule: dict[str, Any], payload: Any, expected: bool) -> None:
    assert await matches(rule, payload) is expected


#: Every comparison at its boundary, for numbers, numeric strings, other strings, null and
#: booleans. Expected values were computed by Node.js with Node-RED's operator functions
#: (`a >= b`, `(a >= b && a <= c) || (a <= b && a >= c)`, ...) and `Number(v)` for `vt: num`.
BOUNDARIES = [
        ({"t": "eq", "v": "3", "vt": "num"}, 3, True),
        ({"t": "eq", "v": "3", "vt": "num"}, "3", True),
        ({"t": "eq", "v": "3", "vt": "num"}, "3.0", True),
        ({"t": "eq", "v": "3", "vt": "num"}, " 3 ", True),
        ({"t": "eq", "v": "3", "vt": "num"}, 3.0001, False),
        ({"t": "eq", "v": "0", "vt": "num"}, "", True),
        ({"t": "eq", "v": "0", "vt": "num"}, None, False),
        ({"t": "eq", "v": "1", "vt": "num"}, True, True),
        ({"t": "eq", "v": "3", "vt": "str"}, "3.0", False),
        ({"t": "eq", "v": "3", "vt": "str"}, 3, True),
        ({"t": "neq", "v": "3", "vt": "num"}, 3, False),
        ({"t": "neq", "v": "3", "vt": "num"}, "3", False),
        ({"t": "neq", "v": "3", "vt": "num"}, 3.0001, True),
        ({"t": "neq", "v": "3", "vt": "num"}, "abc", True),
        ({"t": "neq", "v": "3", "vt": "str"}, "3.0", True),
        ({"t": "lt", "v": "3", "vt": "num"}, 3, False),
        ({"t": "lt", "v": "3", "vt": "num"}, "3", False),
        ({"t": "lt", "v": "3", "vt": "num"}, 2.9999, True),
        ({"t": "lt", "v": "3", "vt": "num"}, "abc", False),
        ({"t": "lt", "v": "9", "vt": "str"}, "10", True),
        ({"t": "lt", "v": "10", "vt": "num"}, "9", True),
        ({"t": "lt", "v": "0", "vt": "num"}, None, False),
        ({"t": "lte", "v": "3", "vt": "num"}, 3, True),
        ({"t": "lte", "v": "3", "vt": "num"}, "3", True),
        ({"t": "lte", "v": "3", "vt": "num"}, 3.0001, False),
        ({"t": "lte", "v": "0", "vt": "num"}, None, True),
        ({"t": "lte", "v": "3", "vt": "num"}, "abc", False),
        ({"t": "lte", "v": "b", "vt": "str"}, "b", True),
        ({"t": "gt", "v": "3", "vt": "num"}, 3, False),
        ({"t": "gt", "v": "3", "vt": "num"}, "3", False),
        ({"t": "gt", "v": "3", "vt": "num"}, 3.0001, True),
        ({"t": "gt", "v": "10", "vt": "str"}, "9", True),
        ({"t": "gt", "v": "3", "vt": "num"}, "abc", False),
        ({"t": "gt", "v": "0", "vt": "num"}, True, True),
        ({"t": "gte", "v": "3", "vt": "num"}, 3, True),
        ({"t": "gte", "v": "3", "vt": "num"}, "3", True),
        ({"t": "gte", "v": "3", "vt": "num"}, 2.9999, False),
        ({"t": "gte", "v": "0", "vt": "num"}, None, True),
        ({"t": "gte", "v": "b", "vt": "str"}, "b", True),
        ({"t": "gte", "v": "b", "vt": "str"}, "a", False),
        ({"t": "gte", "v": "3", "vt": "num"}, "abc", False),
        ({"t": "gte", "v": "1", "vt": "num"}, True, True),
        ({"t": "gte", "v": "10", "vt": "str"}, "9", True),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 3, True),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 5, True),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 4, True),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, "5", True),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 2.9999, False),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, 5.0001, False),
        ({"t": "btwn", "v": "5", "vt": "num", "v2": "3", "v2t": "num"}, 3, True),
        ({"t": "btwn", "v": "5", "vt": "num", "v2": "3", "v2t": "num"}, 5, True),
        ({"t": "btwn", "v": "5", "vt": "num", "v2": "3", "v2t": "num"}, 5.0001, False),
        ({"t": "btwn", "v": "a", "vt": "str", "v2": "c", "v2t": "str"}, "c", True),
        ({"t": "btwn", "v": "a", "vt": "str", "v2": "c", "v2t": "str"}, "d", False),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "5", "v2t": "num"}, "abc", False),
        ({"t": "btwn", "v": "3", "vt": "num", "v2": "3", "v2t": "num"}, 3, True),
]


def _boundary_id(case: tuple[dict[str, Any], Any, bool]) -> str:
    rule, payload, expected = case
    value = f"{rule['v']}..{rule['v2']}" if "v2" in rule else rule["v"]
    return f"{payload!r} {rule['t']} {rule['vt']}:{value} is {expected}"


@pytest.mark.parametrize(("rule", "payload", "expected"), BOUNDARIES, ids=[_boundary_id(c) for c in BOUNDARIES])
async def test_comparison_at_the_boundary(rule: dict[str, Any], payload: Any, expected: bool) -> None:
    assert await matches(rule, payload) is expected


async def test_missing_property_is_null_but_not_a_type() -> None:
    rules = [{"t": "null"}, {"t": "istype", "v": "undefined", "vt": "undefined"}, {"t": "istype", "v": "null", "vt": "null"}]
    async with run_flow(switch_flow(rules, property="missing")) as flow:
        await flow.inject("sw", {"payload": 1})
        await flow.idle()
        assert [len(flow.node(f"s{i}").messages) for i in range(3)] == [1, 1, 0]


async def test_value_types_msg_flow_global_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SW_LIMIT", "10")
    rules = [
        {"t": "eq", "v": "expected", "vt": "msg"},
        {"t": "eq", "v": "wanted", "vt": "flow"},
        {"t": "gt", "v": "SW_LIMIT", "vt": "env"},
    ]
    async with run_flow(switch_flow(rules)) as flow:
        flow.node("sw").flow_context.set("wanted", 42)
        await flow.inject("sw", {"payload": 42, "expected": 42})
        await flow.inject("sw", {"payload": 11, "expected": 0})
        await flow.idle()
        assert [[m["payload"] for m in flow.node(f"s{i}").messages] for i in range(3)] == [[42], [42], [42, 11]]


async def test_property_from_context_and_jsonata() -> None:
    async with run_flow(switch_flow([{"t": "eq", "v": "on", "vt": "str"}], property="mode", propertyType="global")) as flow:
        flow.node("sw").global_context.set("mode", "on")
        await flow.inject("sw", {"payload": 1})
        assert [m["payload"] for m in await flow.received("s0")] == [1]
    assert await routed([{"t": "eq", "v": "6", "vt": "num"}], [{"payload": {"a": 2, "b": 3}}], property="payload.a * payload.b", propertyType="jsonata") == [[{"a": 2, "b": 3}]]


async def test_prev_compares_with_the_previous_value() -> None:
    # Node-RED's "prev": the property of the previous message (null before the first).
    out = await routed([{"t": "gt", "v": "", "vt": "prev"}, {"t": "eq", "v": "", "vt": "prev"}], [{"payload": 1}, {"payload": 3}, {"payload": 2}, {"payload": 2}])
    assert out == [[1, 3], [2]]


async def test_nested_property_path() -> None:
    rules = [{"t": "eq", "v": "requires_action", "vt": "str"}, {"t": "else"}]
    out = await routed(rules, [{"payload": {"status": "requires_action"}}, {"payload": {"status": "completed"}}], property="payload.status")
    assert out == [[{"status": "requires_action"}], [{"status": "completed"}]]


# -- checkall: every matching rule vs stop at the first (Node-RED's own tests) --------------------


CHECKALL_RULES = [{"t": "eq", "v": "Hello", "vt": "str"}, {"t": "cont", "v": "ell", "vt": "str"}, {"t": "else"}]


async def test_checkall_true_sends_to_every_matching_output() -> None:
    assert await routed(CHECKALL_RULES, [{"payload": "Hello"}, {"payload": "Bye"}], checkall="true") == [["Hello"], ["Hello"], ["Bye"]]


async def test_checkall_false_stops_at_the_first_match() -> None:
    assert await routed(CHECKALL_RULES, [{"payload": "Hello"}, {"payload": "Jello"}, {"payload": "Bye"}], checkall="false") == [["Hello"], ["Jello"], ["Bye"]]


async def test_checkall_accepts_yaml_booleans() -> None:
    assert await routed(CHECKALL_RULES, [{"payload": "Hello"}], checkall=False) == [["Hello"], [], []]


async def test_else_only_when_nothing_before_it_matched() -> None:
    rules = [{"t": "gt", "v": "5", "vt": "num"}, {"t": "else"}, {"t": "lt", "v": "10", "vt": "num"}]
    assert await routed(rules, [{"payload": 7}, {"payload": 3}]) == [[7], [3], [7, 3]]


async def test_matching_outputs_get_separate_copies() -> None:
    rules = [{"t": "nnull"}, {"t": "nnull"}]
    async with run_flow(switch_flow(rules)) as flow:
        await flow.inject("sw", {"payload": {"n": 1}})
        [first] = await flow.received("s0")
        [second] = await flow.received("s1")
        assert first == second and first is not second


# -- sequences: head / tail / index and repair ---------------------------------------------------


def sequence(values: list[Any], seq_id: str = "seq1") -> list[dict[str, Any]]:
    return [{"payload": v, "parts": {"id": seq_id, "index": i, "count": len(values), "type": "array", "len": 1}} for i, v in enumerate(values)]


async def test_head_tail_index() -> None:
    rules = [{"t": "head", "v": "2", "vt": "num"}, {"t": "tail", "v": "2", "vt": "num"}, {"t": "index", "v": "1", "vt": "num", "v2": "2", "v2t": "num"}]
    assert await routed(rules, sequence(["a", "b", "c", "d", "e"])) == [["a", "b"], ["d", "e"], ["b", "c"]]


async def test_tail_waits_for_the_count_when_only_the_last_part_has_it() -> None:
    messages = sequence(["a", "b", "c"])
    for msg in messages[:-1]:
        del msg["parts"]["count"]
    assert await routed([{"t": "tail", "v": "1", "vt": "num"}], messages) == [["c"]]


async def test_repair_renumbers_parts_per_output() -> None:
    rules = [{"t": "gt", "v": "2", "vt": "num"}, {"t": "else"}]
    async with run_flow(switch_flow(rules, repair=True)) as flow:
        for msg in sequence([1, 5, 2, 7, 9]):
            await flow.inject("sw", msg)
        big = await flow.received("s0", 3)
        small = await flow.received("s1", 2)
    assert [m["payload"] for m in big] == [5, 7, 9]
    assert [(m["parts"]["index"], m["parts"]["count"]) for m in big] == [(0, 3), (1, 3), (2, 3)]
    assert [(m["parts"]["index"], m["parts"]["count"]) for m in small] == [(0, 2), (1, 2)]
    assert len({m["parts"]["id"] for m in big}) == 1 and big[0]["parts"]["id"] != "seq1" != small[0]["parts"]["id"]
    assert all(m["parts"]["type"] == "array" for m in big + small)


async def test_without_repair_parts_pass_unchanged() -> None:
    async with run_flow(switch_flow([{"t": "gt", "v": "2", "vt": "num"}])) as flow:
        for msg in sequence([1, 5]):
            await flow.inject("sw", msg)
        [msg] = await flow.received("s0")
        assert msg["parts"] == {"id": "seq1", "index": 1, "count": 2, "type": "array", "len": 1}


async def test_head_without_parts_is_an_error_for_catch() -> None:
    nodes = switch_flow([{"t": "head", "v": "1", "vt": "num"}])
    nodes += [{"id": "c", "type": "catch", "scope": ["sw"], "wires": [["errors"]]}, {"id": "errors", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        await flow.inject("sw", {"payload": 1})
        [caught] = await flow.received("errors")
        assert "msg.parts" in caught["error"]["message"]


# -- validation: names the node and the rule ---------------------------------------------------


def problems(rules: list[dict[str, Any]]) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(FlowError) as info:
        build(switch_flow(rules))
    return [(p.node_id, p.field, p.message) for p in info.value.problems]


def test_bad_regex_names_node_and_rule() -> None:
    [(node, field, message)] = problems([{"t": "eq", "v": "a"}, {"t": "regex", "v": "([a-z", "vt": "str"}])
    assert (node, field) == ("sw", "rules.1.v")
    assert "rule 2 (regex)" in message and "invalid regular expression" in message


def test_unknown_rule_type_names_node_and_rule() -> None:
    [(node, field, message)] = problems([{"t": "equals", "v": "a"}])
    assert (node, field) == ("sw", "rules.0.t")
    assert "unknown rule type 'equals'" in message


def test_bad_jsonata_rule_value() -> None:
    [(node, field, message)] = problems([{"t": "jsonata_exp", "v": "payload = (", "vt": "jsonata"}])
    assert (node, field) == ("sw", "rules.0.v")
    assert "JSONata" in message
