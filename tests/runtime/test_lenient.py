"""runtime.lenient: one reading of Node-RED's property values, in validation and in the JSON schema."""

from __future__ import annotations

from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field, ValidationError

from runtime import FlowError, lenient
from runtime.testing import build


class Sample(BaseModel):
    flag: lenient.Bool = True
    count: lenient.Int = 3
    ratio: lenient.OptFloat = None
    mode: lenient.Blank[Literal["a", "b"]] = Field("a")
    data: lenient.Json = None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"flag": "FALSE", "count": "7", "ratio": "2.5s", "mode": "b", "data": '{"x": [1]}'}, (False, 7, 2.5, "b", {"x": [1]})),
        ({"flag": "", "count": None, "ratio": " ", "mode": "", "data": ""}, (True, 3, None, "a", None)),
        ({"flag": 0, "count": 4, "ratio": 1, "mode": None, "data": [1]}, (False, 4, 1.0, "a", [1])),
    ],
)
def test_values_as_the_editor_writes_them(given: dict[str, Any], expected: tuple[Any, ...]) -> None:
    s = Sample.model_validate(given)
    assert (s.flag, s.count, s.ratio, s.mode, s.data) == expected


@pytest.mark.parametrize(("field", "value"), [("flag", "sometimes"), ("count", "many"), ("count", True), ("mode", "c"), ("data", "{oops")])
def test_unreadable_text_is_an_error_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Sample.model_validate({field: value})
    assert info.value.errors()[0]["loc"] == (field,)


def test_the_json_schema_accepts_what_validation_accepts() -> None:
    schema = Sample.model_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for good in ({"flag": "On", "count": "", "ratio": "2.5s", "mode": ""}, {"flag": True, "count": None, "mode": None}, {"flag": " no "}):
        validator.validate(good)
        Sample.model_validate(good)
    for bad in ({"flag": "sometimes"}, {"count": "many"}, {"mode": "c"}):
        assert not validator.is_valid(bad), bad


@pytest.mark.parametrize(
    ("node", "field"),
    [
        ({"type": "delay", "drop": "{}"}, "drop"),
        ({"type": "trigger", "extend": "{}"}, "extend"),
        ({"type": "switch", "checkall": "{}"}, "checkall"),
        ({"type": "rbe", "septopics": "{}"}, "septopics"),
        ({"type": "debug", "console": "{}"}, "console"),
        ({"type": "inject", "once": "{}"}, "once"),
    ],
)
def test_core_nodes_read_booleans_alike(node: dict[str, Any], field: str) -> None:
    """One parser across the family: "true"/"false"/blank read the same everywhere, other text is an error."""
    for text, expected in (("true", True), ("False", False), ("off", False), ("1", True)):
        runtime = build([{"id": "n", **node, field: text}])
        assert getattr(runtime.graph.nodes["n"].props, field) is expected, (node["type"], text)
    blank = build([{"id": "n", **node, field: ""}]).graph.nodes["n"].props
    assert getattr(blank, field) is type(blank).model_fields[field].default
    with pytest.raises(FlowError) as info:
        build([{"id": "n", **node, field: "sometimes"}])
    assert [(p.node_id, p.field) for p in info.value.problems] == [("n", field)]
