"""rbe (filter): report by exception, deadband, narrowband, per topic, msg.reset (Node-RED's tests)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.testing import run_flow


async def passed(values: list[Any], **props: Any) -> list[Any]:
    """The payloads that got through; dicts are whole messages, anything else a payload."""
    nodes = [{"id": "f", "type": "rbe", "wires": [["out"]], **props}, {"id": "out", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        for value in values:
            await flow.inject("f", value if isinstance(value, dict) else {"payload": value})
        await flow.idle()
        return [m.get("payload") for m in flow.node("out").messages]


async def test_rbe_blocks_unchanged_values() -> None:
    assert await passed(["a", "a", "b", "b", "a", 1, 1, True, 1]) == ["a", "b", "a", 1, True, 1]


async def test_rbe_compares_objects_by_content() -> None:
    assert await passed([{"payload": {"a": 1}}, {"payload": {"a": 1}}, {"payload": {"a": 2}}, {"payload": [1]}, {"payload": [1]}]) == [{"a": 1}, {"a": 2}, [1]]


async def test_rbei_ignores_the_first_value() -> None:
    assert await passed([1, 1, 2, 2, 3], func="rbei") == [2, 3]


async def test_per_topic_by_default_and_shared_when_septopics_is_false() -> None:
    msgs = [{"topic": "a", "payload": 1}, {"topic": "b", "payload": 1}, {"topic": "a", "payload": 1}]
    assert await passed(msgs) == [1, 1]
    assert await passed(msgs, septopics=False) == [1]


async def test_reset_forgets_the_topic_or_everything() -> None:
    msgs = [{"topic": "a", "payload": 1}, {"topic": "b", "payload": 1}, {"topic": "a", "reset": True}, {"topic": "a", "payload": 1}, {"topic": "b", "payload": 1}]
    assert await passed(msgs) == [1, 1, 1]
    assert await passed([1, {"reset": True}, 1]) == [1, 1]


async def test_deadband() -> None:
    # Passes when the change from the last value sent is more than the gap (22 is exactly 10 from 12).
    assert await passed([1, 5, 12, 22, 23, 35], func="deadband", gap="10") == [1, 12, 23, 35]


async def test_deadband_eq_passes_on_exactly_the_gap() -> None:
    assert await passed([0, 10, 15, 25], func="deadbandEq", gap="10") == [0, 10, 25]
    assert await passed([0, 10, 15, 25], func="deadband", gap="10") == [0, 15]


async def test_deadband_compare_with_last_input() -> None:
    # inout "in": the reference moves with every value received, so slow drifts never pass.
    assert await passed([0, 6, 12, 18], func="deadband", gap="10", inout="in") == [0]
    assert await passed([0, 6, 12, 18], func="deadband", gap="10", inout="out") == [0, 12]


async def test_deadband_percent() -> None:
    assert await passed([100, 105, 111, 130], func="deadband", gap="10%") == [100, 111, 130]


async def test_narrowband_blocks_outliers() -> None:
    assert await passed([10, 12, 50, 13, 9], func="narrowband", gap="5") == [10, 12, 13, 9]


async def test_narrowband_start_value() -> None:
    assert await passed([50, 10, 12], func="narrowband", gap="5", start="10") == [10, 12]


async def test_number_parsing_like_parse_float_and_non_numbers_warn(caplog: pytest.LogCaptureFixture) -> None:
    assert await passed(["10 C", "25 C", "abc"], func="deadband", gap="10") == ["10 C", "25 C"]
    assert "no number found" in caplog.text


async def test_other_property() -> None:
    msgs = [{"payload": 1, "data": {"v": 1}}, {"payload": 2, "data": {"v": 1}}, {"payload": 3, "data": {"v": 2}}]
    assert await passed(msgs, property="data.v") == [1, 3]
