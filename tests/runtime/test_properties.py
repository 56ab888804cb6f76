"""`runtime.properties`: message paths and Node-RED's typed values, as nodes rely on them.

Every node that reads or writes a message property goes through these functions, so
each behaviour a node documents (a path that creates what is missing, a `num` value
that accepts hex, a `json` value that is never shared between messages ...) is
specified here once.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from runtime.properties import (
    PathError,
    compile_setter,
    compile_value,
    delete_path,
    evaluate,
    get_path,
    set_path,
    split_store,
)
from runtime.testing import run_flow

# -- reading a path ---------------------------------------------------------------------


def test_get_path_walks_dicts_and_lists() -> None:
    msg = {"payload": {"items": [{"name": "a"}, {"name": "b"}]}}
    assert get_path(msg, "payload.items[1].name") == "b"
    assert get_path(msg, ("payload", "items", 0, "name")) == "a"
    assert get_path(msg, "payload.items[-1].name") == "b"


@pytest.mark.parametrize("path", ["nope", "payload.nope", "payload.items[5]", "payload.items.name", "payload.items[0].name.x"])
def test_get_path_gives_the_default_when_any_step_is_missing(path: str) -> None:
    msg = {"payload": {"items": [{"name": 1}]}}
    assert get_path(msg, path) is None
    assert get_path(msg, path, "fallback") == "fallback"


# -- writing a path ---------------------------------------------------------------------


def test_set_path_creates_dicts_and_a_list_before_an_index() -> None:
    msg: dict[str, Any] = {}
    set_path(msg, "a.b[2].c", 1)
    assert msg == {"a": {"b": [None, None, {"c": 1}]}}


def test_set_path_keeps_what_is_already_there() -> None:
    msg: dict[str, Any] = {"a": {"keep": 1, "list": [0, 1]}}
    set_path(msg, "a.new", 2)
    set_path(msg, "a.list[1]", "one")
    assert msg == {"a": {"keep": 1, "new": 2, "list": [0, "one"]}}


def test_set_path_replaces_a_scalar_in_the_way() -> None:
    msg: dict[str, Any] = {"a": "text", "b": 5}
    set_path(msg, "a.x", 1)
    set_path(msg, "b[0]", 2)
    assert msg == {"a": {"x": 1}, "b": [2]}


def test_set_path_without_create_leaves_a_missing_path_alone() -> None:
    msg: dict[str, Any] = {"a": {}, "s": "text"}
    set_path(msg, "missing.x", 1, create=False)
    set_path(msg, "s.x", 1, create=False)
    set_path(msg, "a.x", 1, create=False)
    assert msg == {"a": {"x": 1}, "s": "text"}


def test_set_path_index_at_or_past_the_end_extends_the_list() -> None:
    msg: dict[str, Any] = {"l": [0]}
    set_path(msg, "l[1]", 1)
    assert msg["l"] == [0, 1]
    set_path(msg, "l[4]", 4)
    assert msg["l"] == [0, 1, None, None, 4]


def test_set_path_index_into_a_list_replaces_that_element() -> None:
    msg: dict[str, Any] = {"l": [0, 1, 2]}
    set_path(msg, "l[0]", "zero")
    set_path(msg, "l[1]", "one")
    assert msg["l"] == ["zero", "one", 2]


def test_set_path_negative_index_counts_from_the_end() -> None:
    msg: dict[str, Any] = {"l": [0, 1, 2]}
    set_path(msg, "l[-1]", "last")
    set_path(msg, "l[-3]", "first")
    assert msg["l"] == ["first", 1, "last"]


def test_set_path_index_into_an_object_is_a_key() -> None:
    msg: dict[str, Any] = {"d": {"x": 1}}
    set_path(msg, "d[0]", "zero")
    set_path(msg, "d[-1]", "minus one")
    assert msg["d"] == {"x": 1, 0: "zero", -1: "minus one"}


@pytest.mark.parametrize(
    "path",
    ["top", "ab", "a.b", "a.b.c.d", "l[1]", "a.l[0].x", "new.b", "new.b.c", "s.a", "s.b", "s.b.c", "a.s.c"],
)
def test_a_compiled_setter_does_what_set_path_does(path: str) -> None:
    def fresh() -> dict[str, Any]:
        return {"a": {"b": {"c": {}}, "s": "text", "l": [{}]}, "l": [0], "s": "text"}

    expected, got = fresh(), fresh()
    set_path(expected, path, "v")
    compile_setter(path)(got, "v")
    assert got == expected


def test_a_compiled_setter_writes_into_the_existing_containers() -> None:
    inner: dict[str, Any] = {"old": 1}
    deep: dict[str, Any] = {}
    msg: dict[str, Any] = {"a": inner, "x": {"y": deep}}
    compile_setter("a.new")(msg, 2)
    compile_setter("x.y.z")(msg, 3)
    compile_setter(("top",))(msg, 4)
    assert msg["a"] is inner and inner == {"old": 1, "new": 2}
    assert msg["x"]["y"] is deep and deep == {"z": 3}
    assert msg["top"] == 4


def test_delete_path_removes_one_value_and_ignores_what_is_missing() -> None:
    msg: dict[str, Any] = {"a": {"b": 1, "c": 2}, "l": [0, 1, 2], "top": 1}
    delete_path(msg, "a.b")
    delete_path(msg, "l[1]")
    delete_path(msg, "top")
    for missing in ("a.nope", "nope.b", "l[9]", "top.x", "nope"):
        delete_path(msg, missing)
    assert msg == {"a": {"c": 2}, "l": [0, 2]}


def test_delete_path_reaches_deep_values() -> None:
    msg: dict[str, Any] = {"a": {"b": {"c": 1, "d": 2}, "c": "kept"}}
    delete_path(msg, "a.b.c")
    assert msg == {"a": {"b": {"d": 2}, "c": "kept"}}


# -- context keys -----------------------------------------------------------------------


def test_split_store_reads_an_inline_store_name() -> None:
    assert split_store("#:(file)::counter") == ("file", "counter")
    assert split_store("#:(file)::a.b") == ("file", "a.b")
    assert split_store("counter") == (None, "counter")
    assert split_store("#:()::counter") == (None, "#:()::counter")


# -- typed values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "value_type", "expected"),
    [
        ("text", "str", "text"),
        (5, "str", "5"),
        (None, "str", ""),
        ("text", None, "text"),
        ("text", "string", "text"),
        ("42", "num", 42),
        (" 42 ", "num", 42),
        ("-7", "num", -7),
        ("1.5", "num", 1.5),
        ("1e3", "num", 1000.0),
        ("0x1F", "num", 31),
        ("0o17", "num", 15),
        ("0b101", "num", 5),
        ("007", "num", 7),
        (3, "num", 3),
        (2.5, "num", 2.5),
        ("42", "NUM", 42),
        (True, "bool", True),
        (False, "bool", False),
        ("true", "bool", True),
        (" TRUE ", "bool", True),
        ("1", "bool", True),
        ("false", "bool", False),
        ("0", "bool", False),
        ("", "bool", False),
        ('"text"', "json", "text"),
        ("5", "json", 5),
        ("  ", "json", ""),
        ({"a": 1}, "json", {"a": 1}),
        ("[1, 2, 255]", "bin", b"\x01\x02\xff"),
        ([104, 105], "bin", b"hi"),
        ('"hi"', "bin", b"hi"),
        ("ignored", "null", None),
    ],
)
def test_constant_typed_values(value: Any, value_type: str | None, expected: Any) -> None:
    got = compile_value(value, value_type)({}, None)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "value_type", "message"),
    [
        ("abc", "num", "'abc' is not a number"),
        (True, "num", "True is not a number"),
        ("yes", "bool", "'yes' is not a boolean (true or false)"),
        ("{bad", "json", "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("5", "bin", "a bin value is a JSON array of bytes or a string"),
        ("x", "regex", "unknown value type 'regex'"),
    ],
)
def test_a_bad_constant_fails_when_compiled_with_a_clear_message(value: Any, value_type: str, message: str) -> None:
    with pytest.raises(PathError) as raised:
        compile_value(value, value_type)
    assert str(raised.value) == message


def test_a_json_object_value_is_a_fresh_copy_for_every_message() -> None:
    source = '{"list": [1, 2]}'
    getter = compile_value(source, "json")
    first = getter({}, None)
    first["list"].append(3)
    assert getter({}, None) == {"list": [1, 2]}
    given = {"list": [1]}
    from_object = compile_value(given, "json")({}, None)
    from_object["list"].append(2)
    assert given == {"list": [1]}


def test_a_re_value_is_a_compiled_pattern() -> None:
    pattern = compile_value("^a+$", "re")({}, None)
    assert isinstance(pattern, re.Pattern) and pattern.match("aaa") and not pattern.match("ab")


def test_a_msg_value_reads_the_message_at_use() -> None:
    getter = compile_value("payload.n", "msg")
    assert getter({"payload": {"n": 1}}, None) == 1
    assert getter({"payload": {"n": 2}}, None) == 2
    assert getter({}, None) is None
    assert compile_value("msg.payload", "msg")({"payload": "p"}, None) == "p"


def test_an_env_value_reads_the_environment_at_use(monkeypatch: pytest.MonkeyPatch) -> None:
    getter = compile_value("FW_TEST_VAR", "env")
    monkeypatch.delenv("FW_TEST_VAR", raising=False)
    assert getter({}, None) == ""
    monkeypatch.setenv("FW_TEST_VAR", "one")
    assert getter({}, None) == "one"
    monkeypatch.setenv("FW_TEST_OTHER", "two")
    assert compile_value("${FW_TEST_VAR}-${FW_TEST_OTHER}", "env")({}, None) == "one-two"


def _around(call: Any) -> tuple[float, Any, float]:
    """`call()` with the clock read just before and after, retried until no second boundary falls inside."""
    while True:
        before = time.time()
        got = call()
        after = time.time()
        if int(before) == int(after):
            return before, got, after


def test_a_date_value_is_now_in_milliseconds() -> None:
    getter = compile_value("", "date")
    before, got, after = _around(lambda: getter({}, None))
    assert isinstance(got, int)
    assert int(before * 1000) <= got <= int(after * 1000)


def test_an_iso_date_value_is_now_in_utc_with_milliseconds() -> None:
    getter = compile_value("iso", "date")
    before, got, after = _around(lambda: getter({}, None))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", got), got
    stamp = datetime.fromisoformat(got).timestamp()
    assert int(before * 1000) / 1000 <= stamp <= after


def test_an_iso_date_is_utc_whatever_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    try:
        before, got, after = _around(lambda: compile_value("iso", "date")({}, None))
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = datetime.fromisoformat(got).timestamp()
    assert int(before * 1000) / 1000 <= stamp <= after


def test_an_iso_date_takes_seconds_and_milliseconds_from_one_reading_of_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two readings straddling a second would give a time up to a second off (…:20.000 read as …:20.999 or :21 as :20)."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.9995)
    assert compile_value("iso", "date")({}, None) == "2023-11-14T22:13:20.999Z"


def test_a_jsonata_value_is_evaluated_against_the_message() -> None:
    getter = compile_value("payload * 2", "jsonata")
    assert getter({"payload": 3}, None) == 6
    assert getter({"payload": 5}, None) == 10


def test_evaluate_is_a_one_off_compile_and_call() -> None:
    assert evaluate("payload", "msg", {"payload": 7}) == 7
    assert evaluate("0x10", "num", {}) == 16


async def test_flow_and_global_values_read_their_own_context_and_store(tmp_path: Path) -> None:
    async with run_flow([{"id": "n", "type": "test-sink", "z": "tab"}], base_dir=tmp_path) as flow:
        node = flow.node("n")
        node.flow_context.set("count", {"n": [10, 11]})
        node.global_context.set("count", {"n": [20, 21]})
        node.flow_context.set("count", {"n": [30]}, store="file")
        assert compile_value("count", "flow")({}, node) == {"n": [10, 11]}
        assert compile_value("count.n[1]", "flow")({}, node) == 11
        assert compile_value("count.n[1]", "global")({}, node) == 21
        assert compile_value("#:(file)::count.n[0]", "flow")({}, node) == 30
        assert compile_value("missing", "flow")({}, node) is None
        assert evaluate("count.n[0]", "global", {}, node) == 20
        with pytest.raises(PathError, match="flow context needs a node"):
            compile_value("count", "flow")({}, None)
        with pytest.raises(PathError, match="global context needs a node"):
            compile_value("count", "global")({}, None)
