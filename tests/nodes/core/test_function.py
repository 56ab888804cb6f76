"""function: Python code with Node-RED's function-node semantics."""

from __future__ import annotations

import inspect
import logging
import textwrap
from typing import Any

import pytest

from runtime import FlowError
from runtime.testing import build, run_flow, wait_until


def function(code: str, outputs: int = 1, **props: Any) -> list[dict[str, Any]]:
    sinks = [f"out{i}" for i in range(outputs)]
    return [
        {"id": "t", "type": "tab"},
        {"id": "f", "type": "function", "z": "t", "func": textwrap.dedent(code), "outputs": outputs, "wires": [[s] for s in sinks], **props},
        *({"id": s, "type": "test-sink", "z": "t"} for s in sinks),
    ]


async def run(code: str, msg: dict[str, Any], outputs: int = 1, **props: Any) -> list[list[dict[str, Any]]]:
    """One message in; what each output port received."""
    async with run_flow(function(code, outputs, **props)) as flow:
        await flow.inject("f", msg)
        await flow.idle()
    return [flow.node(f"out{i}").messages for i in range(outputs)]


# -- return semantics --------------------------------------------------------------------------


async def test_return_msg_passes_it_on() -> None:
    [[out]] = await run("msg['payload'] += 1\nreturn msg", {"payload": 1})
    assert out["payload"] == 2


async def test_return_none_sends_nothing() -> None:
    assert await run("return None", {"payload": 1}) == [[]]
    assert await run("x = 1", {"payload": 1}) == [[]], "falling off the end is returning None"


async def test_return_a_new_msg() -> None:
    [[out]] = await run("return {'payload': 'fresh'}", {"payload": 1, "_msgid": "m1"})
    assert out["payload"] == "fresh" and "_msgid" in out


async def test_return_a_list_per_port_with_lists_of_messages() -> None:
    code = """
    if msg.payload > 0:
        return [msg, None]
    return [None, [{'payload': 'a'}, {'payload': 'b'}]]
    """
    assert [[m["payload"] for m in port] for port in await run(code, {"payload": 5}, outputs=2)] == [[5], []]
    assert [[m["payload"] for m in port] for port in await run(code, {"payload": -1}, outputs=2)] == [[], ["a", "b"]]


# -- the msg object ----------------------------------------------------------------------------


async def test_attribute_access_beside_item_access() -> None:
    code = """
    msg.topic = 'sensor/' + msg['payload'].room
    msg.payload.reading.value *= 10
    del msg.drop_me
    return msg
    """
    [[out]] = await run(code, {"payload": {"room": "kitchen", "reading": {"value": 2}}, "drop_me": 1})
    assert out["topic"] == "sensor/kitchen"
    assert out["payload"]["reading"]["value"] == 20
    assert "drop_me" not in out
    assert type(out) is dict and type(out["payload"]) is dict and type(out["payload"]["reading"]) is dict, "plain dicts leave the node"


async def test_a_missing_attribute_is_none_like_undefined() -> None:
    [[out]] = await run("msg.payload = msg.nothing_here is None\nreturn msg", {})
    assert out["payload"] is True


# -- the node object --------------------------------------------------------------------------------


async def test_node_send_sends_copies_now_and_return_sends_after() -> None:
    code = """
    for i in range(3):
        msg.payload = i
        node.send(msg)
    msg.payload = 'last'
    return msg
    """
    [[*sent]] = await run(code, {"payload": None})
    assert [m["payload"] for m in sent] == [0, 1, 2, "last"]


async def test_node_warn_error_and_status(caplog: pytest.LogCaptureFixture) -> None:
    nodes = [
        *function("node.warn('careful')\nnode.status({'fill': 'red', 'shape': 'ring', 'text': 'down'})\nnode.error('broken', msg)"),
        {"id": "c", "type": "catch", "z": "t", "wires": [["caught"]]},
        {"id": "s", "type": "status", "z": "t", "wires": [["statuses"]]},
        {"id": "caught", "type": "test-sink", "z": "t"},
        {"id": "statuses", "type": "test-sink", "z": "t"},
    ]
    caplog.set_level(logging.WARNING)
    async with run_flow(nodes) as flow:
        await flow.inject("f", {"payload": "p"})
        [caught] = await flow.received("caught")
        [status] = await flow.received("statuses")
    assert caught["payload"] == "p" and caught["error"]["message"] == "broken"
    assert status["status"] == {"fill": "red", "shape": "ring", "text": "down", "source": {"id": "f", "type": "function", "name": ""}}
    assert any(r.levelno == logging.WARNING and "careful" in r.getMessage() and "f" in r.getMessage() for r in caplog.records)


async def test_an_exception_reaches_catch_with_the_line_in_the_stack() -> None:
    nodes = [*function("x = 1\nraise ValueError(f'bad {msg.payload}')"), {"id": "c", "type": "catch", "z": "t", "wires": [["caught"]]}, {"id": "caught", "type": "test-sink", "z": "t"}]
    async with run_flow(nodes) as flow:
        await flow.inject("f", {"payload": 3})
        [caught] = await flow.received("caught")
    assert caught["error"]["message"] == "ValueError: bad 3"
    assert 'File "f.func", line 2' in caught["error"]["stack"]


# -- context and env ----------------------------------------------------------------------------


async def test_context_flow_and_global() -> None:
    code = """
    n = (context.get('n') or 0) + 1
    context.set('n', n)
    flow.set('seen.' + msg.topic, True)
    global_.set('total', (global_.get('total') or 0) + msg.payload)
    msg.payload = {'n': n, 'keys': sorted(flow.keys()), 'total': global_.get('total')}
    return msg
    """
    async with run_flow(function(code)) as flow:
        await flow.inject("f", {"topic": "a", "payload": 2})
        await flow.inject("f", {"topic": "b", "payload": 3})
        first, second = await flow.received("out0", count=2)
        assert flow.node("f").flow_context.get("seen") == {"a": True, "b": True}
    assert first["payload"] == {"n": 1, "keys": ["seen"], "total": 2}
    assert second["payload"] == {"n": 2, "keys": ["seen"], "total": 5}


async def test_env_get(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNCTION_TEST_MODE", "strict")
    [[out]] = await run("msg.payload = [env.get('FUNCTION_TEST_MODE'), env.get('FUNCTION_TEST_UNSET', 'dflt')]\nreturn msg", {})
    assert out["payload"] == ["strict", "dflt"]


# -- setup, close, async ------------------------------------------------------------------------


async def test_initialize_runs_before_messages_and_finalize_at_close() -> None:
    nodes = function("msg.payload = context.get('prefix') + msg.payload\nreturn msg", initialize="context.set('prefix', '>> ')", finalize="global_.set('closed', True)")
    async with run_flow(nodes) as flow:
        await flow.inject("f", {"payload": "x"})
        [out] = await flow.received("out0")
        assert flow.node("f").global_context.get("closed") is None
    assert out["payload"] == ">> x"
    assert flow.node("f").global_context.get("closed") is True


async def test_an_async_body_awaits_and_keeps_order() -> None:
    code = """
    import asyncio
    await asyncio.sleep(0.001 * (5 - msg.payload))
    return msg
    """
    async with run_flow(function(code)) as flow:
        assert inspect.iscoroutinefunction(flow.node("f").on_input), "a body with await runs as an async handler"
        for i in range(5):
            await flow.inject("f", {"payload": i})
        msgs = await flow.received("out0", count=5)
    assert [m["payload"] for m in msgs] == [0, 1, 2, 3, 4]


async def test_an_async_body_can_send_while_it_works() -> None:
    code = """
    import asyncio
    node.send({'payload': 'started'})
    await asyncio.sleep(0)
    return {'payload': 'finished'}
    """
    async with run_flow(function(code)) as flow:
        await flow.inject("f", {})
        msgs = await flow.received("out0", count=2)
        await wait_until(lambda: flow.runtime.in_flight == 0, what="idle")
    assert [m["payload"] for m in msgs] == ["started", "finished"]


# -- timeout ----------------------------------------------------------------------------------------


def with_catch(code: str, **props: Any) -> list[dict[str, Any]]:
    return [*function(code, **props), {"id": "c", "type": "catch", "z": "t", "wires": [["caught"]]}, {"id": "caught", "type": "test-sink", "z": "t"}]


#: Spins for 3 s (not forever, so that a broken timeout fails the test rather than hanging it).
RUNAWAY = """
import time
end = time.monotonic() + 3
if msg.payload == 'spin':
    while time.monotonic() < end:
        pass
return msg
"""


async def test_a_runaway_body_times_out_to_catch_and_the_next_message_goes_through() -> None:
    async with run_flow(with_catch(RUNAWAY, timeout=0.2)) as flow:
        await flow.inject("f", {"payload": "spin", "topic": "first"})
        [caught] = await flow.received("caught")
        await flow.inject("f", {"payload": "fine"})
        [out] = await flow.received("out0")
    assert caught["error"]["message"] == "function timed out after 0.2 s"
    assert caught["error"]["source"]["id"] == "f"
    assert (caught["payload"], caught["topic"]) == ("spin", "first"), "the msg reaches catch intact"
    assert out["payload"] == "fine"


@pytest.mark.parametrize(
    ("what", "code"),
    [
        ("a blocking sleep", "import time\ntime.sleep(3)\nreturn msg"),
        ("a loop that catches Exception", "import time\nend = time.monotonic() + 3\nwhile time.monotonic() < end:\n    try:\n        sum(range(100))\n    except Exception:\n        pass\nreturn msg"),
        ("a runaway loop after an await", "import asyncio, time\nawait asyncio.sleep(0)\nend = time.monotonic() + 3\nwhile time.monotonic() < end:\n    pass\nreturn msg"),
        ("a long await", "import asyncio\nawait asyncio.sleep(3)\nreturn msg"),
    ],
)
async def test_the_timeout_stops(what: str, code: str) -> None:
    async with run_flow(with_catch(code, timeout=0.1)) as flow:
        await flow.inject("f", {"payload": what})
        [caught] = await flow.received("caught")
        await flow.idle()
    assert caught["error"]["message"] == "function timed out after 0.1 s", what
    assert caught["payload"] == what


async def test_bodies_within_their_timeout_are_not_disturbed_by_earlier_deadlines() -> None:
    # Five calls of 0.1 s under a 0.3 s timeout: the later ones run past the first one's deadline.
    code = "import time\ntime.sleep(0.1)\nreturn msg"
    async with run_flow(with_catch(code, timeout=0.3)) as flow:
        for i in range(5):
            await flow.inject("f", {"payload": i})
        msgs = await flow.received("out0", count=5)
        await flow.idle()
        assert flow.node("caught").messages == []
    assert [m["payload"] for m in msgs] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("raw", "seconds"), [("", 0), (None, 0), ("0", 0), ("1.5", 1.5), (2, 2)])
def test_timeout_reads_like_node_red(raw: Any, seconds: float) -> None:
    runtime = build(function("return msg", timeout=raw))
    assert runtime.graph.nodes["f"].props.timeout == seconds


def test_a_negative_timeout_is_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build(function("return msg", timeout=-1))
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("f", "timeout")


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "code", "line"), [("func", "x = 1\nreturn (", 2), ("initialize", "if True\n  pass", 1), ("finalize", "a = 1\nb = 2\n  c = 3", 3)])
def test_code_that_does_not_compile_is_a_validation_error_with_its_line(field: str, code: str, line: int) -> None:
    with pytest.raises(FlowError) as info:
        build([{"id": "f", "type": "function", field: code}])
    [problem] = info.value.problems
    assert (problem.node_id, problem.field) == ("f", field)
    assert f"line {line} of the code" in problem.message
