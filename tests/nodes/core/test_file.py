"""file and file in against a real temporary directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runtime.testing import run_flow


def chain(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": "n", **node, "wires": [["sink"]]},
        {"id": "sink", "type": "test-sink"},
        {"id": "catch", "type": "catch", "wires": [["errors"]]},
        {"id": "errors", "type": "test-sink"},
    ]


async def test_file_appends_with_newlines_and_passes_the_message_on(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    async with run_flow(chain({"type": "file", "filename": str(target), "filenameType": "str", "appendNewline": True})) as flow:
        for payload in ("a", 2, {"k": True}):
            await flow.inject("n", {"payload": payload})
        msgs = await flow.received("sink", 3)
    assert target.read_text() == f'a{os.linesep}2{os.linesep}{{"k":true}}{os.linesep}'
    assert msgs[0]["filename"] == str(target)


async def test_file_rebuilds_a_split_string_with_no_newline_after_its_last_part(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    flow = [{"id": "split", "type": "split", "wires": [["n"]]}, *chain({"type": "file", "filename": str(target), "filenameType": "str", "appendNewline": True})]
    async with run_flow(flow) as f:
        await f.inject("split", {"payload": "a\nb"})
        await f.received("sink", 2)
    assert target.read_text() == f"a{os.linesep}b"


async def test_file_overwrites_and_writes_buffers_as_is(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_text("old")
    async with run_flow(chain({"type": "file", "filename": str(target), "filenameType": "str", "overwriteFile": "true", "appendNewline": True})) as flow:
        await flow.inject("n", {"payload": b"\x00\x01"})
        await flow.received("sink", 1)
    assert target.read_bytes() == b"\x00\x01"


async def test_file_name_from_msg_creates_the_directory_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.txt"
    node = {"type": "file", "filename": "filename", "filenameType": "msg", "createDir": True, "appendNewline": False}
    async with run_flow(chain(node)) as flow:
        await flow.inject("n", {"payload": "hi", "filename": str(target)})
        await flow.received("sink", 1)
    assert target.read_text() == "hi"


async def test_legacy_blank_filename_means_msg_filename_and_encoding_applies(tmp_path: Path) -> None:
    target = tmp_path / "latin.txt"
    node = {"type": "file", "filename": "", "appendNewline": False, "encoding": "latin1", "overwriteFile": "true"}
    async with run_flow(chain(node)) as flow:
        await flow.inject("n", {"payload": "é", "filename": str(target)})
        await flow.received("sink", 1)
    assert target.read_bytes() == b"\xe9"


async def test_file_delete_and_a_missing_directory_error(tmp_path: Path) -> None:
    target = tmp_path / "gone.txt"
    target.write_text("x")
    async with run_flow(chain({"type": "file", "filename": str(target), "filenameType": "str", "overwriteFile": "delete"})) as flow:
        await flow.inject("n", {"payload": "ignored"})
        await flow.received("sink", 1)
        assert not target.exists()
        await flow.inject("n", {"payload": "again", "topic": "t"})
        [caught] = await flow.received("errors", 1)
    assert "failed to delete" in caught["error"]["message"] and caught["topic"] == "t"


async def test_file_write_into_a_missing_directory_goes_to_catch(tmp_path: Path) -> None:
    node = {"type": "file", "filename": str(tmp_path / "no" / "x.txt"), "filenameType": "str"}
    async with run_flow(chain(node)) as flow:
        await flow.inject("n", {"payload": "x"})
        [caught] = await flow.received("errors", 1)
        await flow.idle()
        assert flow.node("sink").messages == []
    assert "ENOENT" in caught["error"]["message"]


async def test_file_in_reads_utf8_and_bytes(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes("héllo\n".encode())
    async with run_flow(chain({"type": "file in", "filename": str(source), "filenameType": "str", "format": "utf8"})) as flow:
        await flow.inject("n", {"topic": "t"})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == "héllo\n" and msg["topic"] == "t" and msg["filename"] == str(source)
    async with run_flow(chain({"type": "file in", "filename": str(source), "filenameType": "str", "format": ""})) as flow:
        await flow.inject("n", {})
        [msg] = await flow.received("sink", 1)
    assert msg["payload"] == "héllo\n".encode()


async def test_file_in_lines_makes_a_sequence_that_join_reassembles(tmp_path: Path) -> None:
    source = tmp_path / "lines.txt"
    source.write_text("a\nb\nc")
    flow_nodes = [
        {"id": "n", "type": "file in", "filename": "filename", "filenameType": "msg", "format": "lines", "wires": [["sink", "join"]]},
        {"id": "sink", "type": "test-sink"},
        {"id": "join", "type": "join", "wires": [["joined"]]},
        {"id": "joined", "type": "test-sink"},
    ]
    async with run_flow(flow_nodes) as flow:
        await flow.inject("n", {"filename": str(source), "topic": "t", "other": 1})
        msgs = await flow.received("sink", 3)
        [joined] = await flow.received("joined", 1)
    assert [m["payload"] for m in msgs] == ["a", "b", "c"]
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2]
    assert "count" not in msgs[0]["parts"] and msgs[2]["parts"]["count"] == 3
    assert msgs[0]["parts"]["ch"] == "\n" and msgs[0]["parts"]["type"] == "string"
    assert msgs[0]["topic"] == "t" and "other" not in msgs[0], "only topic and filename are copied unless allProps"
    assert joined["payload"] == "a\nb\nc"


async def test_file_in_missing_file_goes_to_catch_and_sends_the_error(tmp_path: Path) -> None:
    node = {"type": "file in", "filename": str(tmp_path / "none.txt"), "filenameType": "str", "format": "utf8", "sendError": True}
    async with run_flow(chain(node)) as flow:
        await flow.inject("n", {"payload": "p", "topic": "t"})
        [caught] = await flow.received("errors", 1)
        [sent] = await flow.received("sink", 1)
    assert caught["topic"] == "t" and "ENOENT" in caught["error"]["message"]
    assert "payload" not in sent and sent["error"]["code"] == "ENOENT"


@pytest.mark.parametrize("encoding", ["klingon"])
def test_unknown_encoding_is_reported_at_validation(encoding: str) -> None:
    from runtime import FlowError
    from runtime.testing import build

    with pytest.raises(FlowError) as err:
        build(chain({"type": "file", "filename": "x", "filenameType": "str", "encoding": encoding}))
    assert "encoding" in str(err.value)
