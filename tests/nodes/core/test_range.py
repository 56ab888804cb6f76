"""range: scale, clamp, roll and drop, as Node-RED's range node (Math.round for rounding)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow


def range_flow(**props: Any) -> list[dict[str, Any]]:
    settings = {"minin": 0, "maxin": 10, "minout": 0, "maxout": 100, **props}
    return [{"id": "r", "type": "range", "wires": [["out"]], **settings}, {"id": "out", "type": "test-sink"}]


async def mapped(value: Any, **props: Any) -> list[Any]:
    async with run_flow(range_flow(**props)) as flow:
        await flow.inject("r", {"payload": value})
        await flow.idle()
        return [m.get("payload") for m in flow.node("out").messages]


@pytest.mark.parametrize(
    ("action", "value", "expected"),
    [
        ("scale", 5, 50),
        ("scale", 15, 150),  # scale does not limit
        ("scale", "2.5", 25),  # numeric strings are numbers
        ("clamp", 15, 100),
        ("clamp", -3, 0),
        ("roll", 12, 20),  # 12 rolls round to 2
        ("roll", -1, 90),
        ("drop", 5, 50),
    ],
)
async def test_actions(action: str, value: Any, expected: Any) -> None:
    assert await mapped(value, action=action) == [expected]


async def test_drop_discards_values_outside_the_input_range() -> None:
    assert await mapped(11, action="drop") == []


async def test_results_are_integers_when_whole_and_round_goes_half_up() -> None:
    [value] = await mapped(5, action="scale")
    assert type(value) is int
    assert await mapped(3, minin=0, maxin=4, minout=0, maxout=10) == [7.5]
    assert await mapped(3, minin=0, maxin=4, minout=0, maxout=10, round=True) == [8]
    assert await mapped(-1, minin=0, maxin=4, minout=0, maxout=10, round=True) == [-2]  # -2.5 rounds up to -2, as Math.round


async def test_other_property_and_string_settings() -> None:
    async with run_flow(range_flow(property="data.level", minin="0", maxin="1023", minout="0", maxout="100", round=True)) as flow:
        await flow.inject("r", {"data": {"level": 512}})
        [msg] = await flow.received("out")
        assert msg["data"]["level"] == 50


async def test_missing_property_passes_through_and_non_numbers_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async with run_flow(range_flow()) as flow:
        await flow.inject("r", {"topic": "no payload"})
        await flow.inject("r", {"payload": "abc"})
        await flow.idle()
        assert [m.get("topic") for m in flow.node("out").messages] == ["no payload"]
    assert "not a number" in caplog.text


def test_empty_input_range_is_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build(range_flow(minin=5, maxin=5))
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("r", "maxin")
