"""template: mustache (pystache) with Node-RED's lookups, mustache.js printing and escaping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nodes.core.template import compile_template, render
from runtime import FlowError, NodeError
from runtime.testing import build, run_flow

#: What Node-RED's template node rendered (mustache.js through its lookup); fixtures/record_mustache.py writes it.
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "mustache-cases.json").read_text(encoding="utf-8"))


def template_flow(template: str, **props: Any) -> list[dict[str, Any]]:
    return [
        {"id": "t", "type": "template", "template": template, "wires": [["out"]], **props},
        {"id": "out", "type": "test-sink"},
        {"id": "c", "type": "catch", "scope": ["t"], "wires": [["errors"]]},
        {"id": "errors", "type": "test-sink"},
    ]


async def rendered(template: str, msg: dict[str, Any], **props: Any) -> Any:
    async with run_flow(template_flow(template, **props)) as flow:
        await flow.inject("t", msg)
        [out] = await flow.received("out")
        return out.get(props.get("field", "payload").split(".")[0])


@pytest.mark.parametrize(
    ("template", "msg", "expected"),
    [
        ("Hello {{payload}}!", {"payload": "World"}, "Hello World!"),
        ("{{topic}}: {{payload.a.b}}", {"topic": "t", "payload": {"a": {"b": 7}}}, "t: 7"),
        ("{{payload}}", {"payload": "<b>&'/"}, "&lt;b&gt;&amp;&#39;&#x2F;"),  # mustache.js escaping
        ("{{{payload}}}", {"payload": "<b>&'/"}, "<b>&'/"),
        ("{{&payload}}", {"payload": "<b>"}, "<b>"),
        ("[{{missing}}] [{{payload.none.deeper}}]", {"payload": 1}, "[] []"),
        # values print as JavaScript prints them
        ("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}", {"a": True, "b": False, "c": 2.0, "d": [1, "x"], "e": {"k": 1}, "f": None}, "true false 2 1,x [object Object] "),
        ("{{#payload}}<{{name}}>{{/payload}}", {"payload": [{"name": "a"}, {"name": "b"}]}, "<a><b>"),
        ("{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}", {"flag": False}, "off"),
        ("{{#obj}}has {{k}}{{/obj}}", {"obj": {"k": 1}}, "has 1"),
        ("{{payload.0}}-{{payload.1}}", {"payload": ["x", "y"]}, "x-y"),
    ],
)
async def test_mustache(template: str, msg: dict[str, Any], expected: str) -> None:
    assert await rendered(template, msg) == expected


@pytest.mark.parametrize("case", RECORDED["cases"], ids=lambda case: f"{case['template']!r}{' json' if case['json'] else ''}")
def test_renders_what_node_red_renders(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(NodeError, match="invalid mustache template"):
            compile_template(case["template"])
    else:
        assert render(compile_template(case["template"]), RECORDED["msg"], json_strings=case["json"]) == case["rendered"]


async def test_flow_global_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPLATE_GREETING", "Hi")
    async with run_flow(template_flow("{{env.TEMPLATE_GREETING}} {{flow.name}} of {{global.team.name}}; {{flow.unset}}.")) as flow:
        node = flow.node("t")
        node.flow_context.set("name", "Ada")
        node.global_context.set("team", {"name": "R&D"})
        await flow.inject("t", {"payload": ""})
        [out] = await flow.received("out")
        assert out["payload"] == "Hi Ada of R&amp;D; ."


async def test_message_property_wins_over_context() -> None:
    async with run_flow(template_flow("{{flow.x}}")) as flow:
        flow.node("t").flow_context.set("x", "context")
        await flow.inject("t", {"flow": {"x": "message"}})
        [out] = await flow.received("out")
        assert out["payload"] == "message"


async def test_json_output_parses_and_escapes_strings() -> None:
    template = '{"text": "{{payload}}", "n": {{n}}}'
    assert await rendered(template, {"payload": 'line1\nline2 \\ end', "n": 3}, output="json") == {"text": "line1\nline2 \\ end", "n": 3}


async def test_yaml_output() -> None:
    assert await rendered("name: {{payload}}\nitems: [1, 2]", {"payload": "x"}, output="yaml") == {"name": "x", "items": [1, 2]}


async def test_invalid_json_output_is_an_error() -> None:
    async with run_flow(template_flow("{not json {{payload}}", output="json")) as flow:
        await flow.inject("t", {"payload": 1})
        [caught] = await flow.received("errors")
        assert "not valid JSON" in caught["error"]["message"]


async def test_plain_syntax_is_not_rendered() -> None:
    assert await rendered("{{payload}} stays", {"payload": 1}, syntax="plain") == "{{payload}} stays"


async def test_into_nested_field_and_context() -> None:
    assert await rendered("v={{payload}}", {"payload": 1}, field="result.text") == {"text": "v=1"}  # the top-level key of the field
    async with run_flow(template_flow("v={{payload}}", field="last", fieldType="flow")) as flow:
        await flow.inject("t", {"payload": 2})
        [out] = await flow.received("out")
        assert out["payload"] == 2
        assert flow.node("t").flow_context.get("last") == "v=2"


async def test_msg_template_used_when_the_node_has_none() -> None:
    assert await rendered("", {"payload": "x", "template": "from msg: {{payload}}"}) == "from msg: x"


def test_template_is_exempt_from_env_substitution() -> None:
    runtime = build(template_flow("${NOT_SET_ANYWHERE} {{payload}}"))
    assert runtime.graph.nodes["t"].props.template == "${NOT_SET_ANYWHERE} {{payload}}"


def test_broken_template_is_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build(template_flow("{{#open}} never closed"))
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("t", "template")
    assert "{{#open}}" in problem.message and "(line 1)" in problem.message
