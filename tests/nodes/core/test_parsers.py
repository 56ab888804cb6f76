"""json, yaml, csv and xml: both directions, Node-RED's output shapes, and round trips."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.testing import run_flow


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    flow = [dict(n) for n in nodes] + [{"id": "sink", "type": "test-sink"}, {"id": "catch", "type": "catch", "wires": [["errors"]]}, {"id": "errors", "type": "test-sink"}]
    for node, nxt in zip(flow, flow[1 : len(nodes) + 1], strict=False):
        node["wires"] = [[nxt["id"]]]
    return flow


async def convert(node: dict[str, Any], msg: dict[str, Any], count: int = 1) -> list[dict[str, Any]]:
    async with run_flow(chain({"id": "n", **node})) as flow:
        await flow.inject("n", msg)
        return await flow.received("sink", count)


async def error_of(node: dict[str, Any], msg: dict[str, Any]) -> dict[str, Any]:
    async with run_flow(chain({"id": "n", **node})) as flow:
        await flow.inject("n", msg)
        [caught] = await flow.received("errors", 1)
        await flow.idle()
        assert flow.node("sink").messages == []
    return caught


# -- json ----------------------------------------------------------------------------------


async def test_json_parses_a_string_and_stringifies_an_object() -> None:
    [msg] = await convert({"type": "json"}, {"payload": '{"a":[1,2.5,"x"],"b":null}'})
    assert msg["payload"] == {"a": [1, 2.5, "x"], "b": None}
    [msg] = await convert({"type": "json"}, {"payload": {"a": [1, "é"], "b": True}})
    assert msg["payload"] == '{"a":[1,"é"],"b":true}'


async def test_json_pretty_and_forced_directions() -> None:
    [msg] = await convert({"type": "json", "pretty": True}, {"payload": {"a": 1}})
    assert msg["payload"] == '{\n    "a": 1\n}'
    [msg] = await convert({"type": "json", "action": "obj"}, {"payload": {"a": 1}})
    assert msg["payload"] == {"a": 1}
    [msg] = await convert({"type": "json", "action": "str"}, {"payload": "not json"})
    assert msg["payload"] == "not json"
    [msg] = await convert({"type": "json", "property": "data.x"}, {"data": {"x": "[1]"}})
    assert msg["data"]["x"] == [1]


async def test_json_without_the_property_passes_the_message_on() -> None:
    [msg] = await convert({"type": "json"}, {"topic": "t"})
    assert msg["topic"] == "t" and "payload" not in msg


async def test_json_parse_error_goes_to_catch_with_the_message() -> None:
    caught = await error_of({"type": "json"}, {"payload": "{bad", "topic": "t"})
    assert caught["topic"] == "t" and caught["payload"] == "{bad"
    assert caught["error"]["source"]["type"] == "json"


async def test_json_schema_validation() -> None:
    schema = {"type": "object", "required": ["a"]}
    [msg] = await convert({"type": "json"}, {"payload": '{"a":1}', "schema": schema})
    assert msg["payload"] == {"a": 1} and "schema" not in msg
    caught = await error_of({"type": "json"}, {"payload": '{"b":1}', "schema": schema})
    assert "validation" in caught["error"]["message"] and caught["schemaError"]


# -- yaml ----------------------------------------------------------------------------------


async def test_yaml_both_directions_like_js_yaml() -> None:
    [msg] = await convert({"type": "yaml"}, {"payload": "a: 1\nb:\n  - x\n  - true\n"})
    assert msg["payload"] == {"a": 1, "b": ["x", True]}
    [msg] = await convert({"type": "yaml"}, {"payload": {"b": 1, "a": ["x", {"c": None}]}})
    assert msg["payload"] == "b: 1\na:\n  - x\n  - c: null\n"


async def test_yaml_refuses_unsafe_tags() -> None:
    caught = await error_of({"type": "yaml"}, {"payload": "!!python/object/apply:os.system ['true']"})
    assert "yaml" in caught["error"]["message"]


# -- csv -----------------------------------------------------------------------------------


async def test_csv_to_a_message_per_row_with_parts() -> None:
    msgs = await convert({"type": "csv", "temp": "a,b,c"}, {"payload": '1,"x, y",3.5\n4,,six\n'}, 2)
    assert [m["payload"] for m in msgs] == [{"a": 1, "b": "x, y", "c": 3.5}, {"a": 4, "c": "six"}]
    assert [(m["parts"]["index"], m["parts"]["count"]) for m in msgs] == [(0, 2), (1, 2)]
    assert msgs[0]["columns"] == "a,b,c"


async def test_csv_header_row_skip_and_array_output() -> None:
    node = {"type": "csv", "hdrin": True, "skip": "1", "multi": "mult", "strings": False}
    [msg] = await convert(node, {"payload": "junk line\nname;age\nann;7\nbob;08\n".replace(";", ",")})
    assert msg["payload"] == [{"name": "ann", "age": "7"}, {"name": "bob", "age": "08"}]
    assert msg["columns"] == "name,age"


async def test_csv_without_template_names_columns_and_keeps_nulls_when_asked() -> None:
    [msg] = await convert({"type": "csv", "multi": "mult", "include_null_values": True}, {"payload": "1,,3"})
    assert msg["payload"] == [{"col1": 1, "col2": None, "col3": 3}]


async def test_csv_from_objects_with_header_and_quoting() -> None:
    node = {"type": "csv", "temp": "a,b", "hdrout": "all", "ret": "\\r\\n"}
    [msg] = await convert(node, {"payload": [{"a": 1, "b": 'say "hi"'}, {"a": "x,y", "b": None}]})
    assert msg["payload"] == 'a,b\r\n1,"say ""hi"""\r\n"x,y",\r\n'


async def test_csv_header_once_until_reset() -> None:
    node = {"id": "n", "type": "csv", "temp": "a", "hdrout": "once"}
    async with run_flow(chain(node)) as flow:
        for msg in ({"payload": {"a": 1}}, {"payload": {"a": 2}}, {"payload": {"a": 3}, "reset": True}):
            await flow.inject("n", msg)
        msgs = await flow.received("sink", 3)
    assert [m["payload"] for m in msgs] == ["a\n1\n", "2\n", "a\n3\n"]


async def test_csv_arrays_become_rows() -> None:
    [msg] = await convert({"type": "csv", "sep": "\\t"}, {"payload": [[1, "a b"], [2.0, True]]})
    assert msg["payload"] == "1\ta b\n2\ttrue\n"


async def test_csv_rfc_numbers_convert_as_javascript_number_unless_signed_or_zero_padded() -> None:
    node = {"type": "csv", "spec": "rfc", "temp": "a,b,c,d,e", "multi": "mult"}
    [msg] = await convert(node, {"payload": "1e3, 2 ,0x1F,007,+5\n"})
    assert msg["payload"] == [{"a": 1000, "b": 2, "c": 31, "d": "007", "e": "+5"}]
    assert type(msg["payload"][0]["a"]) is int


async def test_json_and_yaml_text_match_javascript() -> None:
    [msg] = await convert({"type": "json"}, {"payload": {"a": 1.0, "b": 1e-7, "c": float("nan"), "d": 1e21}})
    assert msg["payload"] == '{"a":1,"b":1e-7,"c":null,"d":1e+21}'
    [msg] = await convert({"type": "yaml"}, {"payload": {"n": "y"}})
    assert msg["payload"] == "'n': 'y'\n"


async def test_csv_round_trip_through_text_and_back() -> None:
    rows = [{"id": 1, "name": "Ann, the first", "note": 'a "quote"'}, {"id": 2, "name": "Bob", "note": "line"}]
    flow = [
        {"id": "to", "type": "csv", "temp": "id,name,note", "hdrout": "all", "wires": [["text", "from"]]},
        {"id": "text", "type": "test-sink"},
        {"id": "from", "type": "csv", "hdrin": True, "multi": "mult", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow) as f:
        await f.inject("to", {"payload": rows})
        [msg] = await f.received("sink", 1)
    assert msg["payload"] == rows


async def test_csv_lines_from_a_sequence_keep_the_header_and_the_parts() -> None:
    node = {"id": "n", "type": "csv", "hdrin": True}
    async with run_flow(chain(node)) as flow:
        for index, line in enumerate(["a,b", "1,2", "3,4"]):
            await flow.inject("n", {"payload": line, "parts": {"id": "f", "index": index, "count": 3, "type": "string", "ch": "\n"}})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert [(m["parts"]["index"], m["parts"]["count"]) for m in msgs] == [(0, 2), (1, 2)]
    assert msgs[1]["complete"] is True


# -- xml -----------------------------------------------------------------------------------


async def test_xml_parses_to_xml2js_shape() -> None:
    text = '<root a="1"><item>x</item><item id="2">y</item><empty/></root>'
    [msg] = await convert({"type": "xml"}, {"payload": text})
    assert msg["payload"] == {"root": {"$": {"a": "1"}, "item": ["x", {"$": {"id": "2"}, "_": "y"}], "empty": [""]}}


async def test_xml_custom_attribute_and_text_keys() -> None:
    [msg] = await convert({"type": "xml", "attr": "@", "chr": "#"}, {"payload": '<a k="v">t</a>'})
    assert msg["payload"] == {"a": {"@": {"k": "v"}, "#": "t"}}


async def test_xml_builds_from_an_object_and_round_trips() -> None:
    obj = {"root": {"$": {"a": "1"}, "item": ["x", {"$": {"id": "2"}, "_": "y"}], "n": [3]}}
    [msg] = await convert({"type": "xml"}, {"payload": obj})
    assert msg["payload"] == '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><root a="1"><item>x</item><item id="2">y</item><n>3</n></root>'
    [back] = await convert({"type": "xml"}, {"payload": msg["payload"]})
    assert back["payload"] == {"root": {"$": {"a": "1"}, "item": ["x", {"$": {"id": "2"}, "_": "y"}], "n": ["3"]}}


async def test_xml_malformed_text_goes_to_catch() -> None:
    caught = await error_of({"type": "xml"}, {"payload": "<a><b></a>"})
    assert caught["error"]["message"].startswith("xml:")


@pytest.mark.parametrize("node_type", ["json", "yaml", "xml"])
async def test_buffers_are_dropped_with_a_warning(node_type: str, caplog: pytest.LogCaptureFixture) -> None:
    async with run_flow(chain({"id": "n", "type": node_type})) as flow:
        await flow.inject("n", {"payload": b"\x00"})
        await flow.idle()
        assert flow.node("sink").messages == []
    assert "dropped" in caplog.text
