"""switch: Node-RED's rule set, JavaScript comparisons, checkall, sequences and validation."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from nodes.core.switch import RULE_TYPES
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


#: Cases Node-RED settles in ways a reader might not guess, each a rule, a payload and whether it matches.
EDGES = [
    # a rule value without a type: a number when it looks like one, "" when missing, else the text
    ({"t": "lt", "v": "10"}, "9", True),  # 9 < 10 as numbers ("9" < "10" as text is false)
    ({"t": "eq"}, "", True),
    ({"t": "eq"}, "0", False),
    ({"t": "eq", "v": "abc"}, "abc", True),
    # json and null typed values stand for the type names themselves (Node-RED's backwards compatibility)
    ({"t": "eq", "v": "{}", "vt": "json"}, "json", True),
    ({"t": "eq", "v": "", "vt": "null"}, "null", True),
    # regex: a missing pattern matches anything; "string" is the same type as "str"
    ({"t": "regex"}, "anything", True),
    ({"t": "regex", "v": "^a", "vt": "string"}, "abc", True),
    # hask on what has no keys, on arrays and strings (length and indexes), on objects
    ({"t": "hask", "v": "length", "vt": "str"}, [1, 2], True),
    ({"t": "hask", "v": "1", "vt": "str"}, [1, 2], True),
    ({"t": "hask", "v": "2", "vt": "str"}, [1, 2], False),
    ({"t": "hask", "v": "x", "vt": "str"}, [1, 2], False),
    ({"t": "hask", "v": "0", "vt": "str"}, "ab", True),
    ({"t": "hask", "v": "a", "vt": "str"}, None, False),
    ({"t": "hask", "v": "a", "vt": "str"}, 5, False),
    ({"t": "hask", "v": "key", "vt": "msg"}, {"key": 1}, False),  # msg.key is missing: undefined is no key
    # istype: JSON text (a number's text is JSON, an object is not), numbers are not booleans, unknown types match nothing
    ({"t": "istype", "v": "json", "vt": "json"}, 5, True),
    ({"t": "istype", "v": "json", "vt": "json"}, {"a": 1}, False),
    ({"t": "istype", "v": "number", "vt": "number"}, True, False),
    ({"t": "istype", "v": "number", "vt": "number"}, 1.5, True),
    ({"t": "istype", "v": "date", "vt": "date"}, 1, False),
    ({"t": "nnull"}, None, False),
    ({"t": "false"}, True, False),
    ({"t": "null"}, 0, False),
]


@pytest.mark.parametrize(("rule", "payload", "expected"), EDGES)
async def test_edge_cases_as_node_red_settles_them(rule: dict[str, Any], payload: Any, expected: bool) -> None:
    assert await matches(rule, payload) is expected


async def test_hask_with_a_key_taken_from_the_message() -> None:
    rules = [{"t": "hask", "v": "key", "vt": "msg"}]
    assert await routed(rules, [{"payload": {"a": 1}, "key": "a"}, {"payload": {"a": 1}, "key": "b"}, {"payload": {"a": 1}, "key": {"a": 1}}]) == [[{"a": 1}]]


@pytest.mark.parametrize("path", ["missing", "payload.a.b"])
async def test_missing_property_is_null_but_not_a_type(path: str) -> None:
    rules = [{"t": "null"}, {"t": "istype", "v": "undefined", "vt": "undefined"}, {"t": "istype", "v": "null", "vt": "null"}, {"t": "nnull"}]
    async with run_flow(switch_flow(rules, property=path)) as flow:
        await flow.inject("sw", {"payload": 1})
        await flow.idle()
        assert [len(flow.node(f"s{i}").messages) for i in range(4)] == [1, 1, 0, 0]


async def test_a_property_from_flow_context_or_env() -> None:
    rules = [{"t": "istype", "v": "undefined", "vt": "undefined"}, {"t": "istype", "v": "null", "vt": "null"}, {"t": "eq", "v": "on", "vt": "str"}]
    async with run_flow(switch_flow(rules, property="mode", propertyType="flow")) as flow:
        await flow.inject("sw", {"payload": "unset"})
        flow.node("sw").flow_context.set("mode", "on")
        await flow.inject("sw", {"payload": "set"})
        await flow.idle()
        assert [[m["payload"] for m in flow.node(f"s{i}").messages] for i in range(3)] == [["unset"], [], ["set"]]
    # An unset environment variable is "", as Node-RED evaluates an env property.
    assert await routed([{"t": "empty"}], [{"payload": "unset"}], property="SW_SURELY_UNSET_VARIABLE", propertyType="env") == [["unset"]]


async def test_a_property_expression_that_fails_is_a_warning_and_the_message_goes_nowhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert await routed([{"t": "else"}], [{"payload": "x"}], property="$number(payload)", propertyType="jsonata") == [[]]
    assert "invalid property expression: JSONata expression '$number(payload)' failed: could not convert string to float: 'x'" in caplog.text


async def test_rule_values_from_the_message_context_and_jsonata() -> None:
    rules = [
        {"t": "btwn", "v": "low", "vt": "msg", "v2": "high", "v2t": "msg"},
        {"t": "btwn", "v": "0", "vt": "num", "v2": "limit", "v2t": "flow"},
        {"t": "eq", "v": "payload.expected", "vt": "jsonata"},
    ]
    async with run_flow(switch_flow(rules, property="payload.n")) as flow:
        flow.node("sw").flow_context.set("limit", 5)
        await flow.inject("sw", {"payload": {"n": 4, "expected": 4}, "low": 3, "high": 4})
        await flow.inject("sw", {"payload": {"n": 6, "expected": 7}, "low": 5, "high": 7})
        await flow.idle()
        assert [[m["payload"]["n"] for m in flow.node(f"s{i}").messages] for i in range(3)] == [[4, 6], [4], [4]]


async def test_a_regex_from_the_message_with_and_without_case() -> None:
    rules = [{"t": "regex", "v": "pattern", "vt": "msg", "case": True}, {"t": "regex", "v": "pattern", "vt": "msg"}]
    out = await routed(rules, [{"payload": "HELLO", "pattern": "^hel"}, {"payload": "hello", "pattern": "^hel"}, {"payload": "bye", "pattern": "^hel"}])
    assert out == [["HELLO", "hello"], ["hello"]]


async def test_a_regex_from_the_message_that_does_not_compile_is_an_error_for_catch() -> None:
    nodes = switch_flow([{"t": "eq", "v": "x", "vt": "str"}, {"t": "regex", "v": "pattern", "vt": "msg"}])
    nodes += [{"id": "c", "type": "catch", "scope": ["sw"], "wires": [["errors"]]}, {"id": "errors", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        await flow.inject("sw", {"payload": "a", "pattern": "([a-z"})
        [caught] = await flow.received("errors")
        assert caught["error"]["message"] == "rule 2 (regex): invalid regular expression '([a-z': unterminated character set at position 1"
        assert caught["payload"] == "a"


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


async def test_prev_before_the_first_message_is_null() -> None:
    assert await routed([{"t": "eq", "v": "", "vt": "prev"}], [{"payload": None}]) == [[None]]


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


async def test_each_else_looks_back_to_the_previous_else() -> None:
    # Node-RED's elseflag: an else matches when no rule matched since the previous else (that else included).
    rules = [{"t": "eq", "v": "a", "vt": "str"}, {"t": "else"}, {"t": "eq", "v": "b", "vt": "str"}, {"t": "else"}]
    assert await routed(rules, [{"payload": "a"}, {"payload": "b"}, {"payload": "c"}]) == [["a"], ["b", "c"], ["b"], ["a"]]


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


async def test_jsonata_rules_see_the_position_in_the_sequence_as_i_and_n() -> None:
    rules = [{"t": "jsonata_exp", "v": "$I = $N - 1", "vt": "jsonata"}]
    assert await routed(rules, sequence(["a", "b", "c"])) == [["c"]]
    # ... also when a tail rule collects the sequence first
    rules += [{"t": "tail", "v": "2", "vt": "num"}]
    assert await routed(rules, sequence(["a", "b", "c"])) == [["c"], ["b", "c"]]


async def test_without_tail_or_repair_a_sequence_passes_message_by_message() -> None:
    async with run_flow(switch_flow([{"t": "head", "v": "5", "vt": "num"}])) as flow:
        first, second = sequence(["a", "b", "c"])[:2]
        await flow.inject("sw", first)
        await flow.inject("sw", second)
        assert [m["payload"] for m in await flow.received("s0", 2)] == ["a", "b"], "not held back for the rest of the sequence"


async def test_with_repair_a_message_outside_any_sequence_passes_at_once() -> None:
    assert await routed([{"t": "nnull"}], [{"payload": 1}], repair=True) == [[1]]


@pytest.mark.parametrize(
    ("rule", "parts", "expected"),
    [
        ({"t": "head", "v": "2", "vt": "num"}, {"count": 3}, False),  # no index: undefined < 2 is false
        ({"t": "tail", "v": "1", "vt": "num"}, {"index": 1}, False),  # no count: NaN
        ({"t": "tail", "v": "3", "vt": "num"}, {"count": 3}, False),
        ({"t": "index", "v": "0", "vt": "num", "v2": "2", "v2t": "num"}, {"count": 3}, False),
    ],
)
async def test_position_rules_on_incomplete_parts(rule: dict[str, Any], parts: dict[str, Any], expected: bool) -> None:
    assert (await routed([rule], [{"payload": "x", "parts": parts}]) == [["x"]]) is expected


async def test_tail_waits_for_the_count_when_only_the_last_part_has_it() -> None:
    messages = sequence(["a", "b", "c"])
    for msg in messages[:-1]:
        del msg["parts"]["count"]
    assert await routed([{"t": "tail", "v": "2", "vt": "num"}], messages) == [["b", "c"]]


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


@pytest.mark.parametrize("rule", [{"t": "head", "v": "1", "vt": "num"}, {"t": "tail", "v": "1", "vt": "num"}, {"t": "index", "v": "0", "vt": "num", "v2": "1", "v2t": "num"}])
async def test_a_position_rule_without_parts_is_an_error_for_catch(rule: dict[str, Any]) -> None:
    nodes = switch_flow([rule])
    nodes += [{"id": "c", "type": "catch", "scope": ["sw"], "wires": [["errors"]]}, {"id": "errors", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        await flow.inject("sw", {"payload": 1})
        [caught] = await flow.received("errors")
        assert caught["error"]["message"] == f"rule {rule['t']!r} tests the position in a sequence, but the message has no msg.parts"


async def test_an_error_inside_a_repaired_sequence_is_caught_with_its_message_and_the_rest_are_sent() -> None:
    rules = [{"t": "regex", "v": "pattern", "vt": "msg"}]
    nodes = switch_flow(rules, repair=True)
    nodes += [{"id": "c", "type": "catch", "scope": ["sw"], "wires": [["errors"]]}, {"id": "errors", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        messages = sequence(["a", "b", "c"])
        messages[1]["pattern"] = "([a-z"
        for msg in messages:
            await flow.inject("sw", {**msg, "pattern": msg.get("pattern", ".")})
        [caught] = await flow.received("errors")
        assert caught["payload"] == "b" and caught["error"]["message"].startswith("rule 1 (regex): invalid regular expression")
        sent = await flow.received("s0", 2)
        assert [(m["payload"], m["parts"]["index"], m["parts"]["count"]) for m in sent] == [("a", 0, 2), ("c", 1, 2)]


async def test_a_message_the_property_expression_fails_on_leaves_a_repaired_sequence(caplog: pytest.LogCaptureFixture) -> None:
    async with run_flow(switch_flow([{"t": "else"}], repair=True, property="$number(payload)", propertyType="jsonata")) as flow:
        for msg in sequence(["1", "x", "3"]):
            await flow.inject("sw", msg)
        msgs = await flow.received("s0", 2)
    assert [(m["payload"], m["parts"]["index"], m["parts"]["count"]) for m in msgs] == [("1", 0, 2), ("3", 1, 2)]


async def test_sequences_waiting_past_node_message_buffer_max_length_are_dropped_with_an_error() -> None:
    nodes = switch_flow([{"t": "tail", "v": "1", "vt": "num"}])
    nodes += [{"id": "c", "type": "catch", "scope": ["sw"], "wires": [["errors"]]}, {"id": "errors", "type": "test-sink"}]
    async with run_flow({"settings": {"nodeMessageBufferMaxLength": 3}, "nodes": nodes}) as flow:
        waiting = sequence(["a", "b", "c", "d", "e"])
        for msg in waiting[:4]:
            del msg["parts"]["count"]
            await flow.inject("sw", msg)
        [caught] = await flow.received("errors")
        assert caught["error"]["message"] == "too many pending messages (nodeMessageBufferMaxLength)"
        assert caught["payload"] == "d", "three may wait, the fourth is too many"
        assert flow.runtime.in_flight == 0, "the waiting ones were let go"
        for msg in sequence(["x", "y", "z"], "seq2"):
            await flow.inject("sw", msg)
        assert [m["payload"] for m in await flow.received("s0")] == ["z"], "counting starts afresh"
        for msg in sequence(["p", "q", "r"], "seq3"):
            await flow.inject("sw", msg)
        assert [m["payload"] for m in await flow.received("s0", 2)] == ["z", "r"], "a sent sequence no longer counts"


async def test_incomplete_sequences_at_shutdown_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    nodes = switch_flow([{"t": "tail", "v": "1", "vt": "num"}])
    async with run_flow({"settings": {"drainTimeout": 0.05}, "nodes": nodes}) as flow:
        for msg in sequence(["a", "b", "c"])[:2]:
            await flow.inject("sw", msg)
    assert "closing with 2 message(s) of incomplete sequences; they are dropped" in caplog.text


# -- validation: names the node and the rule ---------------------------------------------------


def problems(rules: list[dict[str, Any]]) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(FlowError) as info:
        build(switch_flow(rules))
    return [(p.node_id, p.field, p.message) for p in info.value.problems]


@pytest.mark.parametrize("vt", ["str", "string"])
def test_bad_regex_names_node_and_rule(vt: str) -> None:
    [(node, field, message)] = problems([{"t": "eq", "v": "a"}, {"t": "regex", "v": "([a-z", "vt": vt}])
    assert (node, field) == ("sw", "rules.1.v")
    assert message == "rule 2 (regex): invalid regular expression '([a-z': unterminated character set at position 1"


def test_unknown_rule_type_names_node_and_rule() -> None:
    [(node, field, message)] = problems([{"t": "eq", "v": "a"}, {"t": "equals", "v": "a"}])
    assert (node, field) == ("sw", "rules.1.t")
    assert message == f"rule 2: unknown rule type 'equals' (expected one of {', '.join(RULE_TYPES)})"


def test_a_value_that_is_not_a_number_names_the_value_it_is_in() -> None:
    rules = [{"t": "btwn", "v": "1", "vt": "num", "v2": "ten", "v2t": "num"}, {"t": "eq", "v": "abc", "vt": "num"}]
    assert problems(rules) == [("sw", "rules.0.v2", "rule 1 (btwn): 'ten' is not a number"), ("sw", "rules.1.v", "rule 2 (eq): 'abc' is not a number")]


def test_an_unknown_property_type_is_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build(switch_flow([{"t": "else"}], propertyType="vault"))
    assert [(p.field, p.message) for p in info.value.problems] == [("propertyType", "unknown property type 'vault' (expected msg, flow, global, env or jsonata)")]


def test_bad_jsonata_rule_value() -> None:
    [(node, field, message)] = problems([{"t": "jsonata_exp", "v": "payload = (", "vt": "jsonata"}])
    assert (node, field) == ("sw", "rules.0.v")
    assert "JSONata" in message
