"""exec: cases ported from node-red/node-red test/nodes/core/function/90-exec_spec.js, against real processes.

Node-RED's spec stubs child_process for some cases; here every case runs a
real command (echo, printf, sleep, sh), so what is asserted is what a flow
would see.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX commands")


def _flow(**props: Any) -> list[dict[str, Any]]:
    return [
        {"id": "n1", "type": "exec", "wires": [["out"], ["err"], ["rc"]], **props},
        {"id": "out", "type": "test-sink"},
        {"id": "err", "type": "test-sink"},
        {"id": "rc", "type": "test-sink"},
    ]


def test_defaults() -> None:
    node = build(_flow()).graph.nodes["n1"]
    props = node.props
    assert (props.command, props.addpay, props.append, props.useSpawn, props.timer, props.oldrc) == ("", "payload", "", False, 0, False)


# -- exec mode ----------------------------------------------------------------------------------------


async def test_exec_a_simple_command() -> None:
    async with run_flow(_flow(command="echo", addpay=False, append="")) as f:
        await f.inject("n1", {"payload": "and"})
        [out] = await f.received("out")
        [rc] = await f.received("rc")
        assert f.sink("err").messages == []
    assert out["payload"] == "\n"
    assert out["rc"] == {"code": 0}
    assert rc["payload"] == {"code": 0}


async def test_exec_with_the_payload_and_extra_parameters() -> None:
    async with run_flow(_flow(command="echo", addpay=True, append="more")) as f:
        await f.inject("n1", {"payload": "and"})
        [out] = await f.received("out")
    assert out["payload"] == "and more\n"


async def test_exec_appends_another_property_and_numbers_as_javascript_writes_them() -> None:
    async with run_flow(_flow(command="echo", addpay="topic")) as f:
        await f.inject("n1", {"payload": "ignored", "topic": 2.0})
        [out] = await f.received("out")
    assert out["payload"] == "2\n"


async def test_exec_mode_is_a_shell_line() -> None:
    async with run_flow(_flow(command="echo one; echo two >&2; exit 3", addpay=False)) as f:
        await f.inject("n1", {"payload": None})
        [out] = await f.received("out")
        [err] = await f.received("err")
        [rc] = await f.received("rc")
    assert (out["payload"], err["payload"]) == ("one\n", "two\n")
    assert rc["payload"] == {"code": 3, "message": "Command failed: echo one; echo two >&2; exit 3\ntwo\n"}
    assert out["rc"] == err["rc"] == rc["payload"]


async def test_exec_returns_a_binary_buffer_for_output_that_is_not_utf8() -> None:
    async with run_flow(_flow(command=r"printf '\001\002\003\210'", addpay=False)) as f:
        await f.inject("n1", {})
        [out] = await f.received("out")
    assert out["payload"] == b"\x01\x02\x03\x88"


async def test_exec_times_out_a_long_running_command() -> None:
    async with run_flow(_flow(command="sleep", addpay=False, append="5", timer="0.3")) as f:
        await f.inject("n1", {})
        [rc] = await f.received("rc")
    assert rc["payload"]["signal"] == "SIGTERM"
    assert rc["payload"]["code"] is None


@pytest.mark.parametrize(("kill", "signal"), [("", "SIGTERM"), ("SIGINT", "SIGINT"), ("sigint", "SIGINT"), ("bogus", "SIGTERM")])
async def test_exec_kills_the_only_running_command(kill: str, signal: str) -> None:
    async with run_flow(_flow(command="sleep", addpay=False, append="5", timer="4")) as f:
        await f.inject("n1", {})
        node = f.node("n1")
        await wait_until(lambda: len(node._processes) == 1, what="the process started")
        await f.inject("n1", {"kill": kill})
        [out] = await f.received("out")
        [rc] = await f.received("rc")
    assert out["rc"] == {"code": None, "message": "Command failed: sleep 5\n", "signal": signal}
    assert rc["payload"]["signal"] == signal


async def test_oldrc_sends_the_bare_code_and_no_rc_message_on_success() -> None:
    async with run_flow(_flow(command="true", addpay=False, oldrc=True)) as f:
        await f.inject("n1", {})
        [out] = await f.received("out")
        await f.idle()
        assert f.sink("rc").messages == []
    assert "rc" not in out


# -- spawn mode -------------------------------------------------------------------------------------------


async def test_spawn_a_simple_command_with_quoted_arguments_and_no_shell() -> None:
    async with run_flow(_flow(command='echo "a  b" c;', useSpawn="true", addpay=True)) as f:
        await f.inject("n1", {"payload": "$HOME"})
        [out] = await f.received("out")
        [rc] = await f.received("rc")
    # No shell: the quotes only group words, `;` and `$HOME` stay literal.
    assert out["payload"] == "a  b c; $HOME\n"
    assert rc["payload"] == {"code": 0}


async def test_spawn_streams_output_as_it_arrives() -> None:
    script = "echo first; sleep 0.3; echo second; echo oops >&2; exit 2"
    async with run_flow(_flow(command="sh -c", addpay=True, useSpawn=True)) as f:
        await f.inject("n1", {"payload": f'"{script}"', "topic": "t"})
        [first] = await f.received("out", exact=False)
        assert f.sink("rc").messages == []  # still running
        outs = await f.received("out", 2)
        [err] = await f.received("err")
        [rc] = await f.received("rc")
    assert [m["payload"] for m in outs] == ["first\n", "second\n"]
    assert first["topic"] == "t" and err["payload"] == "oops\n"
    assert rc["payload"] == {"code": 2}


async def test_spawn_a_command_that_does_not_exist_returns_minus_two() -> None:
    async with run_flow(_flow(command="no-such-command-flowwire", addpay=False, useSpawn=True)) as f:
        await f.inject("n1", {})
        [rc] = await f.received("rc")
    assert rc["payload"] == {"code": -2}


async def test_spawn_timeout_and_kill_by_pid() -> None:
    async with run_flow(_flow(command="sleep", addpay=False, append="5", useSpawn=True, timer=0)) as f:
        node = f.node("n1")
        await f.inject("n1", {})
        await f.inject("n1", {})
        await wait_until(lambda: len(node._processes) == 2, what="two processes started")
        first, second = list(node._processes)
        await f.inject("n1", {"kill": "SIGKILL", "pid": second})
        [rc] = await f.received("rc", exact=False)
        assert rc["payload"] == {"code": None, "signal": "SIGKILL"}
        assert list(node._processes) == [first]
        await f.inject("n1", {"kill": "", "pid": first})
        rcs = await f.received("rc", 2)
    assert rcs[1]["payload"] == {"code": None, "signal": "SIGTERM"}


async def test_stopping_the_flow_kills_running_commands() -> None:
    async with run_flow(_flow(command="sleep", addpay=False, append="30", useSpawn=True)) as f:
        node = f.node("n1")
        await f.inject("n1", {})
        await wait_until(lambda: len(node._processes) == 1, what="the process started")
        process = next(iter(node._processes.values()))
        f.runtime.drain_timeout = 0.2
    assert process.returncode is not None


@pytest.mark.parametrize(("props", "field"), [({"timer": "-1"}, "timer"), ({"addpay": "a..b"}, "addpay")])
def test_bad_properties_are_problems(props: dict[str, Any], field: str) -> None:
    with pytest.raises(FlowError) as info:
        build(_flow(command="true", **props))
    assert [p.field for p in info.value.problems] == [field]
