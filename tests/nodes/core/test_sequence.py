"""split, join, sort and batch, as Node-RED documents them (and as its own node tests check).

The `parts` bookkeeping is the contract: split sets `{id, index, count, type,
ch/len/key}`, pushes existing parts onto `parts.parts`, and join in automatic
mode reverses it exactly, whatever the order the parts arrive in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow, wait_until


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    """Wire nodes in order, ending in a test-sink called 'sink'."""
    flow = [dict(n) for n in nodes] + [{"id": "sink", "type": "test-sink"}]
    for node, nxt in zip(flow, flow[1:], strict=False):
        node["wires"] = [[nxt["id"]]]
    return flow


def split(**props: Any) -> dict[str, Any]:
    return {"id": "split", "type": "split", **props}


def join(**props: Any) -> dict[str, Any]:
    return {"id": "join", "type": "join", **props}


async def run_split(msg: dict[str, Any], count: int, **props: Any) -> list[dict[str, Any]]:
    async with run_flow(chain(split(**props))) as flow:
        await flow.inject("split", msg)
        return await flow.received("sink", count)


# -- split ---------------------------------------------------------------------------------


async def test_split_string_on_newline_by_default() -> None:
    msgs = await run_split({"payload": "a\nb\nc", "topic": "t"}, 3)
    assert [m["payload"] for m in msgs] == ["a", "b", "c"]
    group = msgs[0]["parts"]["id"]
    for index, m in enumerate(msgs):
        assert m["parts"] == {"id": group, "type": "string", "ch": "\n", "index": index, "count": 3}
        assert m["topic"] == "t"
    assert len({m["_msgid"] for m in msgs}) == 3, "each part is a new message"


async def test_split_string_on_a_custom_separator_and_by_length() -> None:
    msgs = await run_split({"payload": "a,b"}, 2, splt=",")
    assert [m["payload"] for m in msgs] == ["a", "b"]
    assert msgs[0]["parts"]["ch"] == ","
    msgs = await run_split({"payload": "abcde"}, 3, splt="2", spltType="len")
    assert [m["payload"] for m in msgs] == ["ab", "cd", "e"]
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2]
    assert msgs[0]["parts"]["count"] == 3 and msgs[0]["parts"]["len"] == 2 and msgs[0]["parts"]["ch"] == ""


async def test_split_array_one_by_one_and_in_chunks() -> None:
    msgs = await run_split({"payload": [1, 2, 3]}, 3)
    assert [m["payload"] for m in msgs] == [1, 2, 3]
    assert msgs[2]["parts"] == {"id": msgs[0]["parts"]["id"], "type": "array", "index": 2, "count": 3, "len": 1}
    msgs = await run_split({"payload": [1, 2, 3, 4, 5]}, 3, arraySplt=2)
    assert [m["payload"] for m in msgs] == [[1, 2], [3, 4], [5]]
    assert msgs[0]["parts"]["len"] == 2 and msgs[0]["parts"]["count"] == 3


async def test_split_object_by_key_copying_the_key() -> None:
    msgs = await run_split({"payload": {"a": 1, "b": {"x": 2}}}, 2, addname="topic")
    assert [(m["payload"], m["topic"], m["parts"]["key"]) for m in msgs] == [(1, "a", "a"), ({"x": 2}, "b", "b")]
    assert msgs[1]["parts"]["type"] == "object" and msgs[1]["parts"]["count"] == 2


async def test_split_buffer_on_a_byte_sequence() -> None:
    msgs = await run_split({"payload": b"ab\x00cd\x00ef"}, 3, splt="[0]", spltType="bin")
    assert [m["payload"] for m in msgs] == [b"ab", b"cd", b"ef"]
    assert msgs[0]["parts"]["ch"] == [0] and msgs[0]["parts"]["type"] == "buffer"
    assert [m["parts"]["count"] for m in msgs] == [3, 3, 3]


async def test_split_stream_mode_carries_the_remainder_into_the_next_message() -> None:
    async with run_flow(chain(split(stream=True))) as flow:
        await flow.inject("split", {"payload": "a\nb"})
        await flow.inject("split", {"payload": "c\nd"})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == ["a", "bc"]
    assert [m["parts"]["index"] for m in msgs] == [0, 1]
    assert all("count" not in m["parts"] for m in msgs)


async def test_split_buffer_stream_mode_by_length_and_by_separator() -> None:
    async with run_flow(chain(split(stream=True, splt="2", spltType="len"))) as flow:
        await flow.inject("split", {"payload": b"abc"})
        await flow.inject("split", {"payload": b"def"})
        msgs = await flow.received("sink", 3)
    assert [m["payload"] for m in msgs] == [b"ab", b"cd", b"ef"]
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2]
    assert all("count" not in m["parts"] and m["parts"]["len"] == 2 for m in msgs)
    async with run_flow(chain(split(stream=True, splt="[10]", spltType="bin"))) as flow:
        await flow.inject("split", {"payload": b"a\nb"})
        await flow.inject("split", {"payload": b"c\nd"})
        msgs = await flow.received("sink", 2)
    assert [(m["payload"], m["parts"]["index"]) for m in msgs] == [(b"a", 0), (b"bc", 1)]


async def test_split_numbers_each_message_from_zero_whatever_came_before() -> None:
    async with run_flow(chain(split(splt=","))) as flow:
        await flow.inject("split", {"payload": b"a,b"})
        await flow.inject("split", {"payload": "c,d"})
        msgs = await flow.received("sink", 4)
    assert [(m["payload"], m["parts"]["index"], m["parts"]["count"]) for m in msgs] == [(b"a", 0, 2), (b"b", 1, 2), ("c", 0, 2), ("d", 1, 2)]


async def test_split_pushes_existing_parts_onto_a_stack() -> None:
    outer = {"id": "outer", "index": 1, "count": 2, "type": "array"}
    msgs = await run_split({"payload": "x y", "parts": outer}, 2, splt=" ")
    assert msgs[0]["parts"]["parts"] == outer


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("splt", "0", "invalid split length"), ("arraySplt", "x", "invalid array split length"), ("splt", "[300]", "not a JSON array of bytes")],
)
def test_bad_split_settings_are_reported_at_validation(field: str, value: str, expected: str) -> None:
    props = {field: value, "spltType": "len" if value == "0" else "bin" if value.startswith("[") else "str"}
    with pytest.raises(FlowError) as err:
        build(chain(split(**props)))
    assert "split" in str(err.value) and expected in str(err.value)


@pytest.mark.parametrize(
    ("node", "field"),
    [
        ({"id": "split", "type": "split", "property": "payload["}, "property"),
        ({"id": "join", "type": "join", "mode": "custom", "build": "object", "key": "a..b"}, "key"),
        ({"id": "sort", "type": "sort", "target": "[0"}, "target"),
        ({"id": "batch", "type": "batch", "count": "many"}, "count"),
    ],
)
def test_unreadable_settings_are_reported_at_validation_naming_the_field(node: dict[str, Any], field: str) -> None:
    with pytest.raises(FlowError) as err:
        build(chain(node))
    assert [p.field for p in err.value.problems] == [field]


async def test_settings_as_the_editor_writes_them() -> None:
    custom = join(mode="custom", build="merged", accumulate="true", count="", timeout="")
    async with run_flow(chain(custom)) as flow:
        await flow.inject("join", {"payload": {"a": 1}, "complete": True})
        await flow.inject("join", {"payload": {"b": 2}})
        await flow.inject("join", {"payload": {"c": 3}, "complete": True})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [{"a": 1}, {"b": 2, "c": 3}]


# -- join: automatic mode ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "props"),
    [
        ("a\nb\nc", {}),
        ("one, two,,three", {"splt": ","}),
        ("abcdefg", {"splt": "3", "spltType": "len"}),
        ([1, "two", {"three": 3}, [4]], {}),
        (list(range(7)), {"arraySplt": 3}),
        ({"a": 1, "b": [2], "c": {"d": None}}, {}),
        (b"ab\r\ncd\r\n\r\nef", {"splt": "[13,10]", "spltType": "bin"}),
        (b"abcdefgh", {"splt": "3", "spltType": "len"}),
    ],
)
async def test_split_then_join_restores_the_original_message(payload: Any, props: dict[str, Any]) -> None:
    async with run_flow(chain(split(**props), join())) as flow:
        await flow.inject("split", {"payload": payload, "topic": "keep me", "other": {"x": 1}})
        [msg] = await flow.received("sink", 1)
        await flow.idle()
    assert msg["payload"] == payload
    assert msg["topic"] == "keep me" and msg["other"] == {"x": 1}
    assert "parts" not in msg
    assert flow.runtime.in_flight == 0


async def test_nested_split_join_round_trip_keeps_the_parts_stack() -> None:
    payload = [["a", "b"], ["c"], ["d", "e", "f"]]
    flow_nodes = [
        {"id": "s1", "type": "split", "wires": [["s2"]]},
        {"id": "s2", "type": "split", "wires": [["inner", "j1"]]},
        {"id": "inner", "type": "test-sink"},
        {"id": "j1", "type": "join", "wires": [["middle", "j2"]]},
        {"id": "middle", "type": "test-sink"},
        {"id": "j2", "type": "join", "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
    ]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("s1", {"payload": payload})
        [msg] = await flow.received("sink", 1)
        inner = await flow.received("inner", 6)
        middle = await flow.received("middle", 3)
    assert msg["payload"] == payload and "parts" not in msg
    assert inner[0]["parts"]["parts"]["index"] == 0 and inner[0]["parts"]["parts"]["count"] == 3
    assert [m["payload"] for m in middle] == payload
    assert all(m["parts"]["type"] == "array" and "parts" not in m["parts"] for m in middle)


async def test_join_auto_puts_parts_back_in_index_order() -> None:
    async with run_flow(chain(join())) as flow:
        for index in (2, 0, 1):
            await flow.inject("join", {"payload": f"p{index}", "parts": {"id": "g", "index": index, "count": 3, "type": "string", "ch": "-"}})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == "p0-p1-p2"


async def test_join_auto_flattens_array_chunks_but_not_an_unknown_type() -> None:
    async with run_flow(chain(join())) as flow:
        for kind in ("array", "other"):
            for index, chunk in ((1, [3]), (0, [1, 2])):
                await flow.inject("join", {"payload": chunk, "parts": {"id": kind, "type": kind, "index": index, "count": 2, "len": 2}})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [[1, 2, 3], [[1, 2], [3]]]


async def test_join_auto_keeps_groups_apart_by_parts_id() -> None:
    async with run_flow(chain(join())) as flow:
        for gid, index, value in (("a", 0, 1), ("b", 0, 10), ("b", 1, 20), ("a", 1, 2)):
            await flow.inject("join", {"payload": value, "parts": {"id": gid, "index": index, "count": 2, "type": "array"}})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [[10, 20], [1, 2]]


async def test_join_auto_drops_messages_without_parts_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with run_flow(chain(join())) as flow:
        await flow.inject("join", {"payload": 1})
        await flow.idle()
        assert flow.node("sink").messages == []
    assert "cannot join in 'auto' mode" in caplog.text


async def test_parts_held_by_join_complete_when_the_joined_message_is_sent() -> None:
    async with run_flow(chain(join())) as flow:
        for index in (0, 1):
            await flow.inject("join", {"payload": index, "parts": {"id": "g", "index": index, "count": 3, "type": "array"}})
        await wait_until(lambda: flow.runtime.in_flight == 2, what="two parts held by the join")
        assert flow.node("sink").messages == []
        await flow.inject("join", {"payload": 2, "parts": {"id": "g", "index": 2, "count": 3, "type": "array"}})
        await flow.received("sink", 1)
        await flow.idle()
        assert flow.runtime.in_flight == 0


async def test_join_reset_drops_the_group_and_its_parts() -> None:
    async with run_flow(chain(join())) as flow:
        await flow.inject("join", {"payload": 0, "parts": {"id": "g", "index": 0, "count": 2, "type": "array"}})
        await flow.inject("join", {"reset": True, "parts": {"id": "g", "index": 0, "count": 2}})
        await flow.idle()
        await flow.inject("join", {"payload": 1, "parts": {"id": "g", "index": 1, "count": 2, "type": "array"}})
        await flow.inject("join", {"payload": 0, "parts": {"id": "g", "index": 0, "count": 2, "type": "array"}})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == [0, 1]


# -- join: manual mode ---------------------------------------------------------------------


async def test_join_manual_array_by_count() -> None:
    async with run_flow(chain(join(mode="custom", build="array", count="3"))) as flow:
        for value in range(7):
            await flow.inject("join", {"payload": value, "topic": f"t{value}"})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [[0, 1, 2], [3, 4, 5]]
    assert msgs[0]["topic"] == "t2", "the joined message carries the last message's properties"


async def test_join_manual_string_with_joiner_and_escape() -> None:
    async with run_flow(chain(join(mode="custom", build="string", joiner="\\n", count="3"))) as flow:
        for value in ("a", 2, True):
            await flow.inject("join", {"payload": value})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == "a\n2\ntrue"


async def test_join_manual_object_keyed_by_topic() -> None:
    async with run_flow(chain(join(mode="custom", build="object", key="topic", count="2"))) as flow:
        await flow.inject("join", {"topic": "x", "payload": 1})
        await flow.inject("join", {"topic": "x", "payload": 2})
        await flow.inject("join", {"topic": "y", "payload": 3})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == {"x": 2, "y": 3}


async def test_join_manual_merged_object_and_msg_complete() -> None:
    async with run_flow(chain(join(mode="custom", build="merged", count=""))) as flow:
        await flow.inject("join", {"payload": {"a": 1}})
        await flow.inject("join", {"payload": {"b": 2, "a": 0}})
        await flow.inject("join", {"payload": {"c": 3}, "complete": True})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == {"a": 0, "b": 2, "c": 3}
    assert "complete" not in msg


async def test_join_manual_whole_messages() -> None:
    async with run_flow(chain(join(mode="custom", build="array", propertyType="full", count="2"))) as flow:
        await flow.inject("join", {"payload": 1, "topic": "a"})
        await flow.inject("join", {"payload": 2, "topic": "b"})
        [msg] = await flow.received("sink", 1)
    assert [(m["payload"], m["topic"]) for m in msg["payload"]] == [(1, "a"), (2, "b")]


async def test_join_manual_buffer_with_binary_joiner() -> None:
    async with run_flow(chain(join(mode="custom", build="buffer", joiner="[44]", joinerType="bin", count="3"))) as flow:
        for value in (b"a", "b", [99]):
            await flow.inject("join", {"payload": value})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == b"a,b,c"


@pytest.mark.looptime
async def test_join_manual_timeout_sends_what_has_arrived_when_the_timeout_expires() -> None:
    async with run_flow(chain(join(mode="custom", build="array", count="10", timeout="5"))) as flow:
        start = asyncio.get_running_loop().time()
        await flow.inject("join", {"payload": 1})
        await flow.inject("join", {"payload": 2})
        [msg] = await flow.received("sink", 1, timeout=10)
        await flow.idle()
        assert flow.sink("sink").times[0] - start == pytest.approx(5, abs=0.001), "the timeout runs from the first part"
    assert msg["payload"] == [1, 2]
    assert flow.runtime.in_flight == 0


async def test_join_manual_accumulate_keeps_building() -> None:
    async with run_flow(chain(join(mode="custom", build="object", count="2", accumulate=True))) as flow:
        await flow.inject("join", {"topic": "a", "payload": 1})
        await flow.inject("join", {"topic": "b", "payload": 2})
        await flow.inject("join", {"topic": "c", "payload": 3})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [{"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}]


async def test_join_manual_count_from_parts_when_count_is_blank() -> None:
    async with run_flow(chain(split(), join(mode="custom", build="array", count=""))) as flow:
        await flow.inject("split", {"payload": "x\ny"})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == ["x", "y"]


async def test_join_manual_with_useparts_false_ignores_and_drops_incoming_parts() -> None:
    # Node-RED 4 exports carry useparts: false; the count then comes from the node, not msg.parts.
    async with run_flow(chain(split(), join(mode="custom", build="array", count="2", useparts=False))) as flow:
        await flow.inject("split", {"payload": "a\nb\nc\nd"})
        msgs = await flow.received("sink", 2)
    assert [m["payload"] for m in msgs] == [["a", "b"], ["c", "d"]]
    assert all("parts" not in m for m in msgs)


async def test_split_on_another_property_and_join_auto_puts_it_back() -> None:
    async with run_flow(chain(split(property="payload.items"), join())) as flow:
        await flow.inject("split", {"payload": {"items": [1, 2], "keep": "x"}, "topic": "t"})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == {"items": [1, 2], "keep": "x"} and "parts" not in msg


async def test_split_pieces_keep_the_input_key_order() -> None:
    [first, _] = await run_split({"payload": "a\nb", "topic": "t"}, 2)
    assert [key for key in first if key != "_msgid"] == ["payload", "topic", "parts"]


# -- join: reduce mode ---------------------------------------------------------------------


async def test_join_reduce_averages_a_sequence() -> None:
    reduce = join(mode="reduce", reduceExp="$A+payload", reduceInit="0", reduceInitType="num", reduceFixup="$A/$N")
    async with run_flow(chain(split(), reduce)) as flow:
        await flow.inject("split", {"payload": [1, 2, 3, 6]})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == 3
    assert set(msg) == {"payload", "_msgid"}


async def test_join_reduce_right_uses_index_and_order() -> None:
    reduce = join(mode="reduce", reduceExp="$append($A, [payload & $string($I)])", reduceInit="[]", reduceInitType="json", reduceRight=True)
    async with run_flow(chain(split(), reduce)) as flow:
        await flow.inject("split", {"payload": ["a", "b", "c"]})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == ["c2", "b1", "a0"]


def test_join_reduce_with_a_bad_expression_is_reported_at_validation() -> None:
    with pytest.raises(FlowError) as err:
        build(chain(join(mode="reduce", reduceExp="$A +", reduceInit="0", reduceInitType="num")))
    assert "reduceExp" in str(err.value)


# -- sort ----------------------------------------------------------------------------------


async def test_sort_an_array_property() -> None:
    async with run_flow(chain({"id": "sort", "type": "sort", "targetType": "msg", "target": "payload", "msgKeyType": "elem"})) as flow:
        await flow.inject("sort", {"payload": [3, 1, 2]})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == [1, 2, 3]


async def test_sort_descending_as_numbers_and_by_jsonata_key() -> None:
    node = {"id": "sort", "type": "sort", "targetType": "msg", "target": "payload", "msgKey": "v", "msgKeyType": "jsonata", "order": "descending", "as_num": True}
    async with run_flow(chain(node)) as flow:
        await flow.inject("sort", {"payload": [{"v": "2"}, {"v": "10"}, {"v": "1"}]})
        [msg] = await flow.received("sink", 1)
    assert [e["v"] for e in msg["payload"]] == ["10", "2", "1"]


async def test_sort_a_message_sequence_renumbers_the_parts() -> None:
    node = {"id": "sort", "type": "sort", "targetType": "seq", "seqKey": "payload", "seqKeyType": "msg"}
    async with run_flow(chain(split(), node)) as flow:
        await flow.inject("split", {"payload": ["c", "a", "b"]})
        msgs = await flow.received("sink", 3)
        await flow.idle()
    assert [m["payload"] for m in msgs] == ["a", "b", "c"]
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2]
    assert flow.runtime.in_flight == 0


async def test_sort_then_join_gives_a_sorted_array() -> None:
    node = {"id": "sort", "type": "sort", "targetType": "seq", "seqKey": "payload", "seqKeyType": "msg", "order": "descending"}
    async with run_flow(chain(split(), node, join())) as flow:
        await flow.inject("split", {"payload": [2, 9, 4]})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == [9, 4, 2]


# -- batch ---------------------------------------------------------------------------------


def batch(**props: Any) -> dict[str, Any]:
    return {"id": "batch", "type": "batch", **props}


async def test_batch_by_count_makes_sequences() -> None:
    async with run_flow(chain(batch(mode="count", count="2"))) as flow:
        for value in range(5):
            await flow.inject("batch", {"payload": value})
        msgs = await flow.received("sink", 4)
    assert [m["payload"] for m in msgs] == [0, 1, 2, 3]
    assert [(m["parts"]["index"], m["parts"]["count"]) for m in msgs] == [(0, 2), (1, 2), (0, 2), (1, 2)]
    assert msgs[0]["parts"]["id"] == msgs[0]["_msgid"] and msgs[2]["parts"]["id"] == msgs[2]["_msgid"]
    assert msgs[0]["parts"]["id"] != msgs[2]["parts"]["id"]


async def test_batch_by_count_with_overlap() -> None:
    async with run_flow(chain(batch(mode="count", count="3", overlap="1"))) as flow:
        for value in range(5):
            await flow.inject("batch", {"payload": value})
        msgs = await flow.received("sink", 6)
    assert [m["payload"] for m in msgs] == [0, 1, 2, 2, 3, 4]


async def test_batch_then_join_builds_arrays_of_n() -> None:
    async with run_flow(chain(batch(mode="count", count="3"), join())) as flow:
        for value in range(6):
            await flow.inject("batch", {"payload": value})
        msgs = await flow.received("sink", 2)
        await flow.idle()
    assert [m["payload"] for m in msgs] == [[0, 1, 2], [3, 4, 5]]
    assert flow.runtime.in_flight == 0


def test_batch_overlap_must_be_smaller_than_count() -> None:
    with pytest.raises(FlowError) as err:
        build(chain(batch(mode="count", count="2", overlap="2")))
    assert "overlap" in str(err.value)


@pytest.mark.looptime
async def test_batch_by_interval_sends_what_arrived_and_empty_sequences() -> None:
    async with run_flow(chain(batch(mode="interval", interval="2", allowEmptySequence=True))) as flow:
        start = asyncio.get_running_loop().time()
        await flow.inject("batch", {"payload": "a"})
        await flow.inject("batch", {"payload": "b"})
        msgs = await flow.received("sink", 3, timeout=10, exact=False)
        times = [t - start for t in flow.sink("sink").times[:3]]
    assert times == pytest.approx([2, 2, 4], abs=0.001), "one batch per interval, an empty one when nothing came"
    assert [m["payload"] for m in msgs[:2]] == ["a", "b"]
    assert [m["parts"]["count"] for m in msgs[:2]] == [2, 2]
    assert msgs[2]["payload"] is None and msgs[2]["parts"]["count"] == 1


async def test_batch_concat_joins_topic_sequences_in_topic_order() -> None:
    node = batch(mode="concat", topics=[{"topic": "x"}, {"topic": "y"}])
    async with run_flow(chain(node)) as flow:
        await flow.inject("batch", {"topic": "y", "payload": "y0", "parts": {"id": "Y", "index": 0, "count": 1}})
        await flow.inject("batch", {"topic": "x", "payload": "x0", "parts": {"id": "X", "index": 0, "count": 2}})
        await flow.inject("batch", {"topic": "x", "payload": "x1", "parts": {"id": "X", "index": 1, "count": 2}})
        msgs = await flow.received("sink", 3)
    assert [m["payload"] for m in msgs] == ["x0", "x1", "y0"]
    assert [(m["parts"]["index"], m["parts"]["count"]) for m in msgs] == [(0, 3), (1, 3), (2, 3)]
