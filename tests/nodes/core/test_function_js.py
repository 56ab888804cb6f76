"""function, language javascript: cases ported from Node-RED's own function node spec.

Node-RED's `test/nodes/core/function/10-function_spec.js` was read for its
cases; these tests are written anew against flowwire's test flow helpers.
Left out, and why:
- "should be loaded" / editor-only properties: nothing to run.
- the `libs` (require) cases: external modules are out of scope; a node listing libs
  is a validation error (tested here instead).
- `RED.util.getSetting`'s flow/global env inheritance (flowwire resolves env from the
  process environment and Node-RED's NR_* built-ins only).
- context stores backed by Node-RED's localfilesystem module (flowwire's file store
  has its own tests; the store argument is covered with two named stores here).
- metrics (`node.metric`) and `NODE_RED_FUNCTION_TIME`: not part of flowwire.
- `util` / `promisify` / `URL` sandbox globals: not provided.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runtime import FlowError, check_files
from runtime.testing import build, run_flow


def function(code: str, outputs: int = 1, catch: bool = False, settings: dict[str, Any] | None = None, **props: Any) -> Any:
    sinks = [f"out{i}" for i in range(outputs)]
    nodes: list[dict[str, Any]] = [
        {"id": "t", "type": "tab"},
        {"id": "f", "type": "function", "z": "t", "name": props.pop("name", "fn"), "language": "javascript", "func": code, "outputs": outputs, "wires": [[s] for s in sinks], **props},
        *({"id": s, "type": "test-sink", "z": "t"} for s in sinks),
    ]
    if catch:
        nodes += [{"id": "c", "type": "catch", "z": "t", "scope": None, "wires": [["caught"]]}, {"id": "caught", "type": "test-sink", "z": "t"}]
    if settings:
        return {"nodes": nodes, "settings": settings}
    return nodes


async def run(code: str, *msgs: dict[str, Any], outputs: int = 1, **props: Any) -> list[list[dict[str, Any]]]:
    async with run_flow(function(code, outputs, **props)) as flow:
        for msg in msgs:
            await flow.inject("f", msg)
        await flow.idle()
    return [flow.node(f"out{i}").messages for i in range(outputs)]


async def caught(code: str, msg: dict[str, Any], **props: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with run_flow(function(code, catch=True, **props)) as flow:
        await flow.inject("f", msg)
        await flow.idle()
    return flow.node("out0").messages, flow.node("caught").messages


# -- returning and sending -----------------------------------------------------------------------


async def test_sends_returned_message() -> None:
    [[out]] = await run("return msg;", {"payload": "foo", "topic": "bar"})
    assert (out["payload"], out["topic"]) == ("foo", "bar")


async def test_sends_message_with_node_send() -> None:
    [[out]] = await run("node.send(msg);", {"payload": "foo", "topic": "bar"})
    assert (out["payload"], out["topic"]) == ("foo", "bar")


async def test_node_id_name_and_output_count() -> None:
    [[out], _] = await run("return [{topic: node.name, payload: node.id, outputCount: node.outputCount}];", {"payload": ""}, outputs=2, name="test-function")
    assert (out["payload"], out["topic"], out["outputCount"]) == ("f", "test-function", 2)


@pytest.mark.parametrize("args", ["msg", "[msg]", "[[msg],[null]]", "[null,msg]", "[null,[msg]]"])
async def test_send_clones_the_first_message(args: str) -> None:
    ports = await run(f"node.send({args}); msg.payload = 'changed';", {"payload": "foo", "topic": "bar"}, outputs=2)
    [out] = ports[0] + ports[1]
    assert out["payload"] == "foo"


async def test_send_with_false_does_not_clone() -> None:
    # Without a clone, the later change is visible: the message crosses to Python when the body returns.
    [[out]] = await run("node.send(msg, false); msg.payload = 'changed'; return null;", {"payload": "foo"})
    assert out["payload"] in ("foo", "changed")


async def test_passes_underscore_properties_through() -> None:
    [[out]] = await run("return msg;", {"payload": "foo", "_topic": "baz"})
    assert out["_topic"] == "baz"


async def test_sends_to_multiple_outputs() -> None:
    [[a], [b]] = await run("return [{payload: '1'}, {payload: '2'}];", {"payload": "x"}, outputs=2)
    assert (a["payload"], b["payload"]) == ("1", "2")


async def test_sends_multiple_messages_with_the_input_msgid() -> None:
    [port] = await run("return [[{payload: 1}, {payload: 2}]];", {"payload": "foo", "_msgid": "1234"})
    assert [(m["payload"], m["_msgid"]) for m in port] == [(1, "1234"), (2, "1234")]


async def test_returning_null_discards() -> None:
    assert await run("return null", {"payload": "foo"}) == [[]]


async def test_falling_off_the_end_sends_nothing() -> None:
    assert await run("var a = 1;", {"payload": "foo"}) == [[]]


async def test_null_amongst_valid_messages() -> None:
    ports = await run("return [[msg, null, msg], null]", {"payload": "foo"}, outputs=2)
    assert [len(p) for p in ports] == [2, 0]


@pytest.mark.parametrize(("code", "kind"), [('return "foo"', "string"), ('return Buffer.from("hello")', "Buffer"), ("return [[[1,2,3]]]", "Array"), ("return true", "boolean"), ("return 123", "number")])
async def test_non_object_messages_are_dropped_and_logged(code: str, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert await run(code, {}) == [[]]
    assert f"Function tried to send a message of type {kind}" in caplog.text


# -- errors ----------------------------------------------------------------------------------------


async def test_script_error_names_the_line(caplog: pytest.LogCaptureFixture) -> None:
    out, [err] = await caught("var a = 1;\nretunr", {"payload": "foo"})
    assert out == []
    assert "ReferenceError: retunr is not defined (line 2, col 1)" in err["error"]["message"]


async def test_thrown_error_reaches_catch_with_the_message() -> None:
    _, [err] = await caught("throw new Error('boom');", {"payload": "foo", "topic": "bar"})
    assert err["payload"] == "foo" and "boom" in err["error"]["message"]


async def test_node_error_with_msg_reaches_catch() -> None:
    out, [err] = await caught("node.error('This is an error', msg);", {"payload": "foo", "topic": "bar"})
    assert out == [] and err["error"]["message"] == "This is an error" and err["topic"] == "bar"


async def test_node_error_without_msg_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        _, got = await caught("node.error('just a log'); return msg;", {"payload": 1})
    assert got == [] and "just a log" in caplog.text


async def test_node_warn_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        await run("node.warn('careful'); return msg;", {"payload": 1})
    assert "careful" in caplog.text


@pytest.mark.parametrize("method", ["log", "debug", "trace"])
async def test_node_log_levels_do_not_fail(method: str) -> None:
    [[out]] = await run(f"node.{method}('text'); return msg;", {"payload": 1})
    assert out["payload"] == 1


async def test_rejected_promise_reaches_catch() -> None:
    _, [err] = await caught("await null; throw new TypeError('late');", {"payload": 2})
    assert "TypeError: late" in err["error"]["message"] and err["payload"] == 2


async def test_on_input_listener_is_refused() -> None:
    _, [err] = await caught("node.on('input', function(){}); return msg;", {"payload": 1})
    assert "input" in err["error"]["message"]


# -- context ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["context", "flow", "global"])
async def test_context_set_and_get(scope: str) -> None:
    code = f"{scope}.set('count', ({scope}.get('count') || 0) + 1); msg.payload = {scope}.get('count'); return msg;"
    [port] = await run(code, {"payload": 0}, {"payload": 0})
    assert [m["payload"] for m in port] == [1, 2]


@pytest.mark.parametrize("scope", ["context", "flow", "global"])
async def test_context_keys(scope: str) -> None:
    [[out]] = await run(f"{scope}.set('a', 1); {scope}.set('b', 2); msg.payload = {scope}.keys().sort(); return msg;", {})
    assert out["payload"] == ["a", "b"]


async def test_context_flow_and_global_through_context_object() -> None:
    [[out]] = await run("context.flow.set('f', 1); context.global.set('g', 2); msg.payload = [flow.get('f'), global.get('g')]; return msg;", {})
    assert out["payload"] == [1, 2]


async def test_context_multiple_keys() -> None:
    [[out]] = await run("flow.set(['a', 'b'], [1, 2]); msg.payload = flow.get(['a', 'b']); return msg;", {})
    assert out["payload"] == [1, 2]


async def test_context_nested_path() -> None:
    [[out]] = await run("flow.set('o', {x: {y: 1}}); msg.payload = flow.get('o.x.y'); return msg;", {})
    assert out["payload"] == 1


async def test_context_set_undefined_deletes() -> None:
    [[out]] = await run("flow.set('a', 1); flow.set('a', undefined); msg.payload = flow.get('a') === undefined; return msg;", {})
    assert out["payload"] is True


@pytest.mark.parametrize("scope", ["context", "flow", "global"])
async def test_context_callback_forms(scope: str) -> None:
    code = f"{scope}.set('x', 5, function(err) {{ {scope}.get('x', function(err, v) {{ msg.payload = v; {scope}.keys(function(e, k) {{ msg.keys = k; node.send(msg); }}); }}); }});"
    [[out]] = await run(code, {})
    assert out["payload"] == 5 and out["keys"] == ["x"]


async def test_context_named_stores() -> None:
    settings = {"contextStorage": {"memory1": {"module": "memory"}, "memory2": {"module": "memory"}}}
    code = "flow.set('k', 'one', 'memory1'); flow.set('k', 'two', 'memory2'); msg.payload = [flow.get('k', 'memory1'), flow.get('k', 'memory2')]; return msg;"
    async with run_flow(function(code, settings=settings)) as flow:
        await flow.inject("f", {})
        [out] = await flow.received("out0")
    assert out["payload"] == ["one", "two"]


async def test_context_unknown_store_is_an_error() -> None:
    _, [err] = await caught("flow.get('k', 'nope'); return msg;", {"payload": 1})
    assert "nope" in err["error"]["message"]


async def test_context_shared_with_python_nodes() -> None:
    nodes = function("msg.payload = flow.get('fromPy'); flow.set('fromJs', {n: [1, 2]}); return msg;")
    nodes[1]["wires"] = [["py"]]
    nodes.append({"id": "py", "type": "function", "z": "t", "language": "python", "func": "msg.back = flow.get('fromJs')\nreturn msg", "wires": [["out0"]]})
    async with run_flow(nodes) as flow:
        flow.node("f").flow_context.set("fromPy", {"a": b"\x01"})
        await flow.inject("f", {})
        [out] = await flow.received("out0")
    assert out["payload"] == {"a": b"\x01"} and out["back"] == {"n": [1, 2]}


async def test_separate_nodes_have_separate_globals() -> None:
    nodes = function("counter = (typeof counter === 'undefined' ? 0 : counter) + 1; msg.payload = counter; return msg;")
    nodes[1]["wires"] = [["g"]]
    nodes.append({"id": "g", "type": "function", "z": "t", "language": "javascript", "func": "counter = (typeof counter === 'undefined' ? 0 : counter) + 1; msg.second = counter; return msg;", "wires": [["out0"]]})
    async with run_flow(nodes) as flow:
        await flow.inject("f", {})
        await flow.inject("f", {})
        msgs = await flow.received("out0", 2)
    assert [(m["payload"], m["second"]) for m in msgs] == [(1, 1), (2, 2)]


# -- env -------------------------------------------------------------------------------------------


async def test_env_get_process_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TEST_FOO_", "bar")
    [[out]] = await run("msg.payload = env.get('_TEST_FOO_'); return msg;", {})
    assert out["payload"] == "bar"


async def test_env_get_missing_is_undefined() -> None:
    [[out]] = await run("msg.payload = env.get('_SURELY_NOT_SET_') === undefined; return msg;", {})
    assert out["payload"] is True


@pytest.mark.parametrize(("name", "expected"), [("NR_NODE_ID", "f"), ("NR_NODE_NAME", "fn"), ("NR_FLOW_ID", "t"), ("NR_NODE_PATH", "t/f")])
async def test_env_builtins(name: str, expected: str) -> None:
    [[out]] = await run(f"msg.payload = env.get('{name}'); return msg;", {})
    assert out["payload"] == expected


# -- status ------------------------------------------------------------------------------------


async def test_status_reaches_status_nodes() -> None:
    nodes = function("node.status({fill: 'red', shape: 'dot', text: 'hi'}); return msg;")
    nodes += [{"id": "s", "type": "status", "z": "t", "scope": None, "wires": [["st"]]}, {"id": "st", "type": "test-sink", "z": "t"}]
    async with run_flow(nodes) as flow:
        await flow.inject("f", {})
        [status] = await flow.received("st")
    assert status["status"]["text"] == "hi" and status["status"]["fill"] == "red"


# -- timers, async, done -----------------------------------------------------------------------------


async def test_set_timeout_sends_later_and_completes_the_message() -> None:
    async with run_flow(function("setTimeout(function() { node.send(msg); }, 30);")) as flow:
        await flow.inject("f", {"payload": "later"})
        assert flow.runtime.in_flight >= 1, "held until the timer ran"
        await flow.idle()
        assert [m["payload"] for m in flow.node("out0").messages] == ["later"]


async def test_clear_timeout_cancels() -> None:
    assert await run("var t = setTimeout(function() { node.send(msg); }, 20); clearTimeout(t);", {"payload": 1}) == [[]]


async def test_set_interval_and_clear_interval() -> None:
    code = "var n = 0; var i = setInterval(function() { n++; node.send({payload: n}); if (n === 3) clearInterval(i); }, 5);"
    async with run_flow(function(code)) as flow:
        await flow.inject("f", {})
        msgs = await flow.received("out0", 3)
    assert [m["payload"] for m in msgs] == [1, 2, 3]


async def test_timer_error_is_reported() -> None:
    async with run_flow(function("setTimeout(function() { throw new Error('in timer'); }, 5);", catch=True)) as flow:
        await flow.inject("f", {})
        [err] = await flow.received("caught")
    assert "in timer" in err["error"]["message"]


async def test_timers_are_cleared_when_the_node_stops() -> None:
    async with run_flow(function("setInterval(function() { node.send({payload: 1}); }, 10000); return msg;")) as flow:
        await flow.inject("f", {})
        await flow.received("out0")
        body = flow.node("f")
    assert body._js.timers == {}


async def test_await_a_timer_promise() -> None:
    [[early, result]] = await run("await new Promise(r => setTimeout(r, 20)); node.send({payload: 'early'}); return {payload: msg.payload + 1};", {"payload": 1})
    assert (early["payload"], result["payload"]) == ("early", 2)


async def test_node_done_finishes_the_message() -> None:
    code = "setTimeout(function() { node.send(msg); node.done(); }, 20);"
    async with run_flow(function(code)) as flow:
        await flow.inject("f", {"payload": 1})
        assert flow.runtime.in_flight >= 1
        await flow.idle()
        assert len(flow.node("out0").messages) == 1


async def test_body_calling_node_done_is_held_until_it_does() -> None:
    code = "context.set('pending', true); if (msg.payload === 'finish') { node.done(); } return msg;"
    async with run_flow(function(code, settings={"drainTimeout": 0.1})) as flow:
        await flow.inject("f", {"payload": "hold"})
        await flow.received("out0")
        assert flow.runtime.in_flight == 1, "no node.done() for this one yet"
        await flow.inject("f", {"payload": "finish"})
        await flow.received("out0", 2)
        assert flow.runtime.in_flight == 1, "the finished message is complete, the held one is not"


async def test_promise_then_runs() -> None:
    [[out]] = await run("Promise.resolve(3).then(v => { msg.payload = v; node.send(msg); });", {})
    assert out["payload"] == 3


# -- initialize / finalize / timeout / limits -------------------------------------------------------


async def test_initialize_runs_before_messages() -> None:
    [[out]] = await run("msg.payload = context.get('ready'); return msg;", {}, initialize="context.set('ready', 'yes');")
    assert out["payload"] == "yes"


async def test_initialize_may_send() -> None:
    async with run_flow(function("return msg;", initialize="node.send({payload: 'boot'});")) as flow:
        [out] = await flow.received("out0")
    assert out["payload"] == "boot"


async def test_finalize_runs_at_close() -> None:
    async with run_flow(function("return msg;", finalize="global.set('closed', true);")) as flow:
        node = flow.node("f")
    assert node.global_context.get("closed") is True


async def test_timeout_stops_an_infinite_loop_and_the_node_keeps_working() -> None:
    code = "if (msg.payload === 'loop') { while (true) {} } return msg;"
    async with run_flow(function(code, catch=True, timeout=0.2)) as flow:
        await flow.inject("f", {"payload": "loop"})
        [err] = await flow.received("caught")
        await flow.inject("f", {"payload": "ok"})
        [out] = await flow.received("out0")
    assert "timed out" in err["error"]["message"] and out["payload"] == "ok"


async def test_try_catch_cannot_swallow_the_timeout() -> None:
    code = "for (;;) { try { while (true) {} } catch (e) {} }"
    _, [err] = await caught(code, {}, timeout=0.2)
    assert "timed out" in err["error"]["message"]


async def test_timeout_stops_a_loop_after_await() -> None:
    _, [err] = await caught("await null; while (true) {}", {}, timeout=0.2)
    assert "timed out" in err["error"]["message"]


@pytest.mark.parametrize(
    "code",
    [
        "await new Promise(r => setTimeout(r, 5)); while (true) {}",
        "setTimeout(function() { while (true) {} }, 5);",
        "await new Promise(r => setTimeout(r, 5)); await null; for (;;) { try { while (true) {} } catch (e) {} }",
    ],
    ids=["await-timer-continuation", "timer-callback", "promise-job-after-timer"],
)
async def test_timeout_in_a_later_continuation_fails_the_message_and_completes_it(code: str) -> None:
    async with run_flow(function(code, catch=True, timeout=0.2, settings={"drainTimeout": 30})) as flow:
        await flow.inject("f", {"payload": "spin", "topic": "t"})
        [err] = await flow.received("caught")
        await flow.idle()
        assert flow.runtime.in_flight == 0, "the stopped message is complete, not held until close"
        flow.assert_no_more("out0", 0)
    assert "timed out" in err["error"]["message"] and (err["payload"], err["topic"]) == ("spin", "t")


@pytest.mark.parametrize("code", ["await null; while (true) {}", "await new Promise(r => setTimeout(r, 5)); while (true) {}"], ids=["same-turn", "later-turn"])
async def test_a_message_stopped_after_await_reaches_catch_once_and_complete_never(code: str) -> None:
    nodes = function(code, catch=True, timeout=0.2)
    nodes += [{"id": "done", "type": "complete", "z": "t", "scope": ["f"], "wires": [["completed"]]}, {"id": "completed", "type": "test-sink", "z": "t"}]
    async with run_flow(nodes) as flow:
        await flow.inject("f", {"payload": "spin"})
        [err] = await flow.received("caught")
        await flow.idle()
        await flow.settle()
        flow.assert_no_more("caught", 1)
        flow.assert_no_more("completed", 0)
    assert err["payload"] == "spin"


async def test_a_stopped_continuation_fails_only_its_own_message() -> None:
    code = "await new Promise(r => setTimeout(r, msg.payload === 'spin' ? 5 : 60)); if (msg.payload === 'spin') { while (true) {} } return msg;"
    async with run_flow(function(code, catch=True, timeout=0.5)) as flow:
        await flow.inject("f", {"payload": "calm"})
        await flow.inject("f", {"payload": "spin"})
        [err] = await flow.received("caught")
        [out] = await flow.received("out0")
        await flow.idle()
        assert flow.runtime.in_flight == 0
    assert (err["payload"], out["payload"]) == ("spin", "calm")


async def test_memory_limit_stops_unbounded_allocation() -> None:
    code = "if (msg.payload === 'grow') { var a = []; while (true) a.push('x'.repeat(1000) + a.length); } return msg;"
    async with run_flow(function(code, catch=True, settings={"functionMemoryLimit": 16})) as flow:
        await flow.inject("f", {"payload": "grow"})
        [err] = await flow.received("caught", timeout=20)
        await flow.inject("f", {"payload": "ok"})
        [out] = await flow.received("out0")
    assert "memory" in err["error"]["message"] and out["payload"] == "ok"


async def test_no_file_process_or_network_access() -> None:
    [[out]] = await run("msg.payload = [typeof require, typeof process, typeof fetch, typeof std, typeof os]; return msg;", {})
    assert out["payload"] == ["undefined"] * 5


# -- Buffer, RED.util, built-ins ---------------------------------------------------------------------


async def test_buffer_round_trip_with_python_bytes() -> None:
    [[out]] = await run("msg.payload = Buffer.concat([msg.payload, Buffer.from('!')]); msg.len = msg.payload.length; return msg;", {"payload": b"\x00\xffab"})
    assert out["payload"] == b"\x00\xffab!" and out["len"] == 5


@pytest.mark.parametrize(("encoding", "text"), [("utf8", "héllo €"), ("hex", "00ff10"), ("base64", "aGVsbG8="), ("latin1", "caf\u00e9")])
async def test_buffer_encodings(encoding: str, text: str) -> None:
    [[out]] = await run(f"var b = Buffer.from(msg.payload, '{encoding}'); msg.back = b.toString('{encoding}'); msg.payload = b; return msg;", {"payload": text})
    assert out["back"] == text
    expected = {"utf8": text.encode, "hex": lambda: bytes.fromhex(text), "base64": lambda: b"hello", "latin1": lambda: text.encode("latin-1")}[encoding]()
    assert out["payload"] == expected


async def test_buffer_json_form_and_slice() -> None:
    [[out]] = await run("var b = Buffer.from('abcdef'); msg.json = JSON.stringify(b.slice(1, 3)); msg.isBuf = Buffer.isBuffer(b.slice(0, 1)); return msg;", {})
    assert out["json"] == '{"type":"Buffer","data":[98,99]}' and out["isBuf"] is True


async def test_red_util_clone_message() -> None:
    [[out]] = await run("var c = RED.util.cloneMessage(msg); c.payload.a = 2; msg.copy = c.payload.a; return msg;", {"payload": {"a": 1}})
    assert out["payload"] == {"a": 1} and out["copy"] == 2


async def test_red_util_message_properties() -> None:
    code = "RED.util.setMessageProperty(msg, 'a.b[1].c', 5); msg.got = RED.util.getMessageProperty(msg, 'msg.a.b[1].c'); msg.id = RED.util.generateId(); return msg;"
    [[out]] = await run(code, {})
    assert out["a"] == {"b": [None, {"c": 5}]} and out["got"] == 5 and len(out["id"]) == 16


async def test_date_json_math_regexp() -> None:
    code = "msg.payload = [new Date(0).toISOString(), JSON.parse('{\"a\":1}').a, Math.max(1, 5), /b+/.exec('abbc')[0], [1,2,3].at(-1)]; return msg;"
    [[out]] = await run(code, {})
    assert out["payload"] == ["1970-01-01T00:00:00.000Z", 1, 5, "bb", 3]


async def test_python_objects_pass_through_untouched() -> None:
    marker = object()
    async with run_flow(function("msg.topic = 'seen'; return msg;")) as flow:
        await flow.inject("f", {"payload": 1, "res": marker})
        [out] = await flow.received("out0")
    assert out["res"] is marker and out["topic"] == "seen"


async def test_long_concatenated_strings_cross_to_python(caplog: pytest.LogCaptureFixture) -> None:
    """QuickJS builds long `a + b` strings as ropes, which the binding cannot hand to Python as they are."""
    code = "var s = msg.payload + msg.payload; node.warn('w' + s); msg.payload = s + '!'; return msg;"
    big = {"blob": {f"k{i}": {"text": "x" * 80, "n": [i, i + 1]} for i in range(80)}}
    with caplog.at_level(logging.WARNING):
        [[out]] = await run(code, {"payload": "y" * 5000, **big})
    assert out["payload"] == "y" * 10000 + "!" and out["blob"] == big["blob"]
    assert "w" + "y" * 10000 in caplog.text


# -- big messages: top-level values converted when first read (parity: test_nodered_big_messages_parity.py) --

BLOB = {f"k{i}": {"text": f"item {i}", "n": i, "list": [i, i + 1]} for i in range(12)}


def big(**more: Any) -> dict[str, Any]:
    return {"payload": 1, "blob": json.loads(json.dumps(BLOB)), **more}


async def test_an_untouched_value_leaves_as_the_object_that_came_in() -> None:
    msg = big()
    async with run_flow(function("msg.payload += 1; return msg;")) as flow:
        await flow.inject("f", msg)
        [out] = await flow.received("out0")
    assert out["blob"] is msg["blob"] and out["payload"] == 2


async def test_a_value_the_body_changes_leaves_changed_and_the_original_stays_as_it_was() -> None:
    msg = big()
    [[out]] = await run("msg.blob.k1.n = 99; msg.blob.k2.list.push(3); delete msg.blob.k0; return msg;", msg)
    assert out["blob"]["k1"]["n"] == 99 and out["blob"]["k2"]["list"] == [2, 3, 3] and "k0" not in out["blob"]
    assert msg["blob"] == BLOB


async def test_each_output_after_the_first_carries_its_own_copy() -> None:
    code = "node.send(msg); node.send(msg, false); return [msg, RED.util.cloneMessage(msg)];"
    msg = big(res=object())
    async with run_flow(function(code, outputs=2)) as flow:
        await flow.inject("f", msg)
        cloned, shared, returned = await flow.received("out0", 3)
        [copied] = await flow.received("out1")
    blobs = [m["blob"] for m in (cloned, shared, returned, copied)]
    assert all(blob == BLOB for blob in blobs)
    assert len({id(blob) for blob in blobs}) == 4, "no two outputs share one object"
    assert shared["blob"] is msg["blob"], "node.send(msg, false) sends the message itself, as in Node-RED"
    assert all(m["res"] is msg["res"] for m in (cloned, shared, returned, copied)), "Python objects are shared, never copied"


async def test_a_message_stored_in_context_keeps_its_values() -> None:
    code = "if (msg.payload === 1) { context.set('kept', msg); return msg; } msg.payload = context.get('kept').blob.k3.text; return msg;"
    async with run_flow(function(code)) as flow:
        await flow.inject("f", big())
        await flow.inject("f", {"payload": 2})
        first, second = await flow.received("out0", 2)
        kept = flow.node("f").context.get("kept")
    assert kept["blob"] == BLOB and kept["blob"] is not first["blob"] and second["payload"] == "item 3"


async def test_a_kept_message_can_be_read_long_after_its_call() -> None:
    code = "if (msg.payload === 0) globalThis.first = msg; msg.early = first.blob.k4.n; return msg;"
    async with run_flow(function(code)) as flow:
        for i in range(300):
            await flow.inject("f", big(payload=i))
        outs = await flow.received("out0", 300)
        left = len(flow.node("f")._js.codec.left)
    assert {m["early"] for m in outs} == {4}
    assert left < 200, "values of messages no longer referenced are let go"


async def test_big_strings_and_bytes_are_read_on_demand() -> None:
    text, data = "x" * 5000, bytes(range(256)) * 40
    [[out]] = await run("msg.n = msg.text.length + msg.data.length; msg.last = msg.data[msg.data.length - 1]; return msg;", {"text": text, "data": data})
    assert (out["n"], out["last"], out["text"], out["data"]) == (15240, 255, text, data)


# -- validation and language -----------------------------------------------------------------------


def test_syntax_error_reports_the_bodys_line() -> None:
    with pytest.raises(FlowError) as info:
        build(function("var a = 1;\nvar b = ;\nreturn msg;"))
    assert "line 2" in str(info.value) and "func" in str(info.value)


def test_initialize_syntax_error_is_reported() -> None:
    with pytest.raises(FlowError) as info:
        build(function("return msg;", initialize="var = 3;"))
    assert "initialize" in str(info.value)


def test_libs_are_a_validation_error() -> None:
    with pytest.raises(FlowError) as info:
        build(function("return msg;", libs=[{"var": "os", "module": "os"}, {"var": "fs", "module": "fs-extra"}]))
    assert "os" in str(info.value) and "fs-extra" in str(info.value)


def test_python_body_is_not_valid_javascript() -> None:
    with pytest.raises(FlowError):
        build(function("if msg['payload']:\n    return msg"))


async def test_await_anywhere_in_the_body() -> None:
    [[out]] = await run("msg.payload = await Promise.resolve(7); return msg;", {})
    assert out["payload"] == 7


# -- the document's default language, SIGTERM ------------------------------------------------------


def test_json_exports_default_to_javascript_and_yaml_to_python(tmp_path: Path) -> None:
    body = "msg.payload = msg.payload * 2;\nreturn msg;"
    export = tmp_path / "flows.json"
    export.write_text(json.dumps([{"id": "f", "type": "function", "func": body}]))
    assert check_files([export]).nodes["f"].props.language == "javascript"
    yaml_doc = tmp_path / "flow.yaml"
    yaml_doc.write_text("- {id: f, type: function, func: 'return msg'}\n")
    assert check_files([yaml_doc]).nodes["f"].props.language == "python"
    overridden = tmp_path / "py.json"
    overridden.write_text(json.dumps({"settings": {"functionLanguage": "python"}, "nodes": [{"id": "f", "type": "function", "func": "return msg"}]}))
    assert check_files([overridden]).nodes["f"].props.language == "python"


def test_json_export_with_a_javascript_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    export = tmp_path / "flows.json"
    export.write_text(json.dumps([{"id": "f", "type": "function", "func": "var x = 1;\nif (x {\n}\nreturn msg;"}]))
    with pytest.raises(FlowError) as info:
        check_files([export])
    assert "flows.json" in str(info.value) and "line 2" in str(info.value)


def test_sigterm_stops_a_runaway_javascript_body(tmp_path: Path) -> None:
    export = tmp_path / "flows.json"
    export.write_text(json.dumps([
        {"id": "t", "type": "tab"},
        {"id": "i", "type": "inject", "z": "t", "once": True, "onceDelay": 0.1, "wires": [["f"]]},
        {"id": "f", "type": "function", "z": "t", "timeout": 60, "func": "node.warn('spinning'); while (true) {}", "wires": [[]]},
    ]))
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "run", str(export)], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # the body announces itself, then spins (its timeout is 60 s)
            if "spinning" in line:
                break
        time.sleep(0.2)
        assert proc.poll() is None
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert time.monotonic() - started < 5
    assert "interrupted: shutting down" in err, "stopped by the shutdown, not by its 60 s timeout"
    assert proc.returncode == 0 and "stopped cleanly" in err, err
