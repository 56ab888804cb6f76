"""debug: one line per message on stdout, the chosen property or the whole msg."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from runtime.secrets import redact
from runtime.testing import run_flow


async def printed(capsys: pytest.CaptureFixture[str], msg: dict[str, Any], **props: Any) -> list[str]:
    async with run_flow([{"id": "d", "type": "debug", **props}]) as flow:
        await flow.inject("d", msg)
        await flow.idle()
    return capsys.readouterr().out.splitlines()


async def test_prints_the_payload_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert await printed(capsys, {"payload": "hello"}) == ["[d] payload: hello"]
    assert await printed(capsys, {"payload": {"a": [1, True, None]}}, name="values") == ['[values] payload: {"a":[1,true,null]}']


async def test_prints_a_chosen_property_or_the_whole_msg(capsys: pytest.CaptureFixture[str]) -> None:
    assert await printed(capsys, {"payload": 1, "topic": "room/1"}, complete="topic") == ["[d] topic: room/1"]
    assert await printed(capsys, {"payload": {"deep": [0, "x"]}}, complete="payload.deep[1]") == ["[d] payload.deep[1]: x"]
    [line] = await printed(capsys, {"payload": 1, "_msgid": "m1"}, complete="true")
    assert line.startswith("[d] msg: ") and json.loads(line.removeprefix("[d] msg: ")) == {"payload": 1, "_msgid": "m1"}
    [line] = await printed(capsys, {"payload": 1}, complete="true", targetType="full")
    assert line == '[d] msg: {"payload":1}'


async def test_jsonata_expression(capsys: pytest.CaptureFixture[str]) -> None:
    assert await printed(capsys, {"payload": {"t": 20}}, complete="payload.t * 2", targetType="jsonata") == ["[d] payload.t * 2: 40"]


async def test_json_lines_format(capsys: pytest.CaptureFixture[str]) -> None:
    [line] = await printed(capsys, {"payload": {"v": 1}, "_msgid": "m7"}, name="out", format="json")
    assert json.loads(line) == {"node": "d", "name": "out", "msgid": "m7", "property": "payload", "value": {"v": 1}}


async def test_bytes_print_like_node_red_buffers(capsys: pytest.CaptureFixture[str]) -> None:
    assert await printed(capsys, {"payload": b"hi"}) == ['[d] payload: {"type":"Buffer","data":[104,105]}']


async def test_inactive_debug_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert await printed(capsys, {"payload": 1}, active=False) == []


async def test_console_also_logs_and_tostatus_sets_the_status(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="flowwire.debug")
    nodes = [{"id": "d", "type": "debug", "console": True, "tostatus": True, "tosidebar": False}, {"id": "s", "type": "status", "wires": [["out"]]}, {"id": "out", "type": "test-sink"}]
    async with run_flow(nodes) as flow:
        await flow.inject("d", {"payload": "seen"})
        [status] = await flow.received("out")
    assert capsys.readouterr().out == "", "tosidebar false: nothing on stdout"
    assert any(r.getMessage() == "[d] payload: seen" for r in caplog.records)
    assert status["status"]["text"] == "[d] payload: seen"


async def test_registered_secrets_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    redact("debug-test-secret-value")
    assert await printed(capsys, {"payload": "token=debug-test-secret-value"}) == ["[d] payload: token=***"]
