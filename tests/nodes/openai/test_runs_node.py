"""The openai-runs node in a running flow, against the emulator over real HTTP with the real SDK."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _oai_common import KEY
from _oai_flow import ask, config, fails, one_node

from nodes.openai.emulator import RunningEmulator, serve
from runtime.testing import run_flow

ASK = {"assistant_id": "asst_flowwire_demo", "thread": {"messages": [{"role": "user", "content": "hello"}]}}


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with serve(api_key=KEY, demo=True) as running:
        yield running



# -- every method --------------------------------------------------------------------------------------
async def test_create_thread_and_run_returns_plain_json(emu: RunningEmulator) -> None:
    async with one_node(emu, "createThreadAndRun") as flow:
        out = await ask(flow, ASK, topic="keep me")
    run = out["payload"]
    assert type(run) is dict and run["object"] == "thread.run" and run["status"] == "queued"
    json.dumps(out)  # nothing but JSON data
    assert out["topic"] == "keep me" and out["openai"]["request_id"].startswith("req_")


async def test_wait_polls_until_terminal(emu: RunningEmulator) -> None:
    async with one_node(emu, "createThreadAndRun", wait=True) as flow:
        out = await ask(flow, ASK)
    assert out["payload"]["status"] == "completed" and out["openai"]["polled"] is True


async def test_all_run_methods(emu: RunningEmulator) -> None:
    """createRun, getRun, modifyRun, listRuns, listRunSteps, getRunStep, cancelRun, submitToolOutputsToRun."""
    weather = {"assistant_id": "asst_flowwire_demo",
               "thread": {"messages": [{"role": "user", "content": "get_weather for Lima"}]}}
    async with one_node(emu, "createThreadAndRun", wait=True) as flow:
        first = (await ask(flow, ASK))["payload"]
        pending = (await ask(flow, weather))["payload"]
    thread_id, run_id = first["thread_id"], first["id"]
    assert pending["status"] == "requires_action"

    async with one_node(emu, "createRun", wait=True) as flow:
        again = (await ask(flow, {"thread_id": thread_id, "assistant_id": "asst_flowwire_demo",
                                  "additional_messages": [{"role": "user", "content": "more"}]}))["payload"]
    assert again["status"] == "completed" and again["thread_id"] == thread_id
    async with one_node(emu, "getRun") as flow:
        assert (await ask(flow, {"thread_id": thread_id, "run_id": run_id}))["payload"]["id"] == run_id
    async with one_node(emu, "modify_run") as flow:
        out = await ask(flow, {"thread_id": thread_id, "run_id": run_id, "metadata": {"k": "v"}})
        assert out["payload"]["metadata"] == {"k": "v"}
    async with one_node(emu, "listRuns") as flow:
        out = await ask(flow, {"thread_id": thread_id, "order": "asc"})
        assert [r["id"] for r in out["payload"]] == [run_id, again["id"]]
        assert out["openai"] == {"method": "listRuns", "request_id": out["openai"]["request_id"], "has_more": False,
                                 "first_id": run_id, "last_id": again["id"]}
    async with one_node(emu, "listRunSteps") as flow:
        steps = (await ask(flow, {"thread_id": thread_id, "run_id": run_id}))["payload"]
        assert [s["type"] for s in steps] == ["message_creation"]
    async with one_node(emu, "getRunStep") as flow:
        step = (await ask(flow, {"thread_id": thread_id, "run_id": run_id, "step_id": steps[0]["id"]}))["payload"]
        assert step["object"] == "thread.run.step"
    call = pending["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    async with one_node(emu, "submitToolOutputsToRun", wait=True) as flow:
        done = (await ask(flow, {"thread_id": pending["thread_id"], "run_id": pending["id"],
                                 "tool_outputs": [{"tool_call_id": call["id"], "output": "19 C"}]}))["payload"]
        assert done["status"] == "completed"
    async with one_node(emu, "createThreadAndRun", wait=True) as flow:
        pending = (await ask(flow, weather))["payload"]
    async with one_node(emu, "cancelRun", wait=True) as flow:
        out = await ask(flow, {"thread_id": pending["thread_id"], "run_id": pending["id"]})
        assert out["payload"]["status"] == "cancelled"


async def test_list_fetch_all_pages(emu: RunningEmulator) -> None:
    async with one_node(emu, "createThreadAndRun", wait=True) as flow:
        run = (await ask(flow, {"assistant_id": "asst_flowwire_demo", "thread": {
            "messages": [{"role": "user", "content": f"m{i}"} for i in range(5)]}}))["payload"]
    async with one_node(emu, "listMessages", node_type="openai-api") as flow:
        page = await ask(flow, {"thread_id": run["thread_id"], "limit": 2})
    assert len(page["payload"]) == 2 and page["openai"]["has_more"] is True
    async with one_node(emu, "listMessages", node_type="openai-api", fetchAll=True) as flow:
        everything = await ask(flow, {"thread_id": run["thread_id"], "limit": 2, "order": "asc"})
    texts = [m["content"][0]["text"]["value"] for m in everything["payload"]]
    assert texts == ["m0", "m1", "m2", "m3", "m4", "You said: m4"]


# -- streaming -----------------------------------------------------------------------------------------
async def test_streaming_one_msg_per_event_then_done(emu: RunningEmulator) -> None:
    async with one_node(emu, "createThreadAndRun") as flow:
        await flow.inject("n", {"payload": {**ASK, "stream": True}, "_msgid": "m1", "topic": "q"})
        await flow.idle()
        msgs = flow.node("out").messages
        statuses = [m["status"].get("text") for m in flow.node("st").messages]
    events = [m["event"] for m in msgs]
    assert events[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]
    assert events[-2:] == ["thread.run.completed", "done"]
    assert [m["openai"]["index"] for m in msgs] == list(range(len(msgs)))
    assert [m["openai"]["done"] for m in msgs] == [False] * (len(msgs) - 1) + [True]
    deltas = "".join(m["payload"]["delta"]["content"][0]["text"]["value"] for m in msgs
                     if m["event"] == "thread.message.delta")
    assert deltas == "You said: hello"
    assert msgs[-1]["payload"]["status"] == "completed"  # the run as the stream left it
    assert all(m["topic"] == "q" and m["_msgid"] == "m1" for m in msgs)
    assert "streaming" in statuses and statuses[-1] is None


# -- the assistant flow: createThreadAndRun(wait) → tool outputs → submit(wait) → answer -------------------
TOOLS = '''
calls = msg["payload"]["required_action"]["submit_tool_outputs"]["tool_calls"]
outputs = []
for call in calls:
    import json
    city = json.loads(call["function"]["arguments"]).get("city", "?")
    outputs.append({"tool_call_id": call["id"], "output": f"22 C and sunny in {city}"})
msg["payload"] = {"thread_id": msg["payload"]["thread_id"], "run_id": msg["payload"]["id"], "tool_outputs": outputs}
return msg
'''
ROUTE = '''
run = msg["payload"]
if run["status"] == "requires_action":
    return [msg, None]
msg["payload"] = {"thread_id": run["thread_id"], "limit": 1}
return [None, msg]
'''


async def test_assistant_flow_with_a_tool_call(emu: RunningEmulator) -> None:
    nodes = [
        config(emu),
        {"id": "ask", "type": "openai-runs", "service": "cfg", "method": "createThreadAndRun", "wait": True,
         "wires": [["route"]]},
        {"id": "route", "type": "function", "func": ROUTE, "outputs": 2, "wires": [["tools"], ["last"]]},
        {"id": "tools", "type": "function", "func": TOOLS, "wires": [["submit"]]},
        {"id": "submit", "type": "openai-runs", "service": "cfg", "method": "submitToolOutputsToRun", "wait": True,
         "wires": [["route"]]},
        {"id": "last", "type": "openai-api", "service": "cfg", "method": "listMessages", "wires": [["answer"]]},
        {"id": "answer", "type": "function", "func": 'msg["payload"] = msg["payload"][0]["content"][0]["text"]["value"]\nreturn msg',
         "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("ask", {"payload": {"assistant_id": "asst_flowwire_demo", "thread": {
            "messages": [{"role": "user", "content": "What does get_weather say for Paris?"}]}}})
        [out] = await flow.received("out", 1)
    assert out["payload"] == ("You said: What does get_weather say for Paris?\n"
                              "get_weather returned: 22 C and sunny in Paris")


# -- errors go to catch with the msg unchanged ---------------------------------------------------------------
async def test_validation_error_sends_nothing(emu: RunningEmulator) -> None:
    async with one_node(emu, "createRun") as flow:
        before = emu.emulator.request_count
        err = await fails(flow, {"thread_id": "t", "assistant_id": "a", "temprature": 2})
    assert emu.emulator.request_count == before
    assert err["payload"] == {"thread_id": "t", "assistant_id": "a", "temprature": 2} and err["topic"] == "t"
    assert err["error"]["message"] == "createRun: unknown property 'temprature'; did you mean 'temperature'?"
    assert err["error"]["code"] == "invalid_payload" and err["error"]["param"] == "temprature"
    assert err["error"]["source"]["id"] == "n"


async def test_api_error_carries_status_type_code_and_request_id(emu: RunningEmulator) -> None:
    async with one_node(emu, "getRun") as flow:
        err = await fails(flow, {"thread_id": "thread_nope", "run_id": "run_nope"})
        statuses = [m["status"] for m in flow.node("st").messages]
    e = err["error"]
    assert (e["status"], e["type"], e["method"]) == (404, "invalid_request_error", "getRun")
    assert e["request_id"].startswith("req_") and e["request_id"] in e["message"]
    assert "No thread found with id 'thread_nope'" in e["message"]
    assert err["payload"] == {"thread_id": "thread_nope", "run_id": "run_nope"}
    assert statuses[-1] == {"fill": "red", "shape": "ring", "text": "error", "source": statuses[-1]["source"]}


async def test_retries_honour_retry_after_then_give_up(emu: RunningEmulator) -> None:
    emu.emulator.fail_next(429, "Rate limit reached.", count=1, retry_after=0.01, code="rate_limit_exceeded")
    async with one_node(emu, "getRun", cfg=config(emu, max_retries=2)) as flow:
        out = await fails(flow, {"thread_id": "thread_nope", "run_id": "r"})  # retried, then the real 404
        assert out["error"]["status"] == 404
        emu.emulator.fail_next(429, "Rate limit reached.", count=3, retry_after=0.01, code="rate_limit_exceeded")
        err = await fails(flow, {"thread_id": "thread_nope", "run_id": "r"})
    assert (err["error"]["status"], err["error"]["code"]) == (429, "rate_limit_exceeded")


async def test_timeout_is_a_node_error() -> None:
    async with serve(response_delay=0.5) as slow:
        cfg = {**config(slow), "timeout": 0.05}
        async with one_node(slow, "getRun", cfg=cfg) as flow:
            err = await fails(flow, {"thread_id": "t", "run_id": "r"})
    assert err["error"]["type"] == "timeout" and "timed out" in err["error"]["message"]


async def test_connection_error_is_a_node_error() -> None:
    async with serve() as gone:
        cfg = config(gone)
    async with one_node(gone, "getRun", cfg=cfg) as flow:
        err = await fails(flow, {"thread_id": "t", "run_id": "r"})
    assert err["error"]["type"] == "connection_error"


# -- the request property, keys and auth variants ------------------------------------------------------------
async def test_request_from_another_msg_property_and_from_flow_context(emu: RunningEmulator) -> None:
    async with one_node(emu, "createThreadAndRun", property="req.body") as flow:
        out = await ask(flow, "untouched", req={"body": ASK})
        assert out["payload"]["object"] == "thread.run"
    async with one_node(emu, "createThreadAndRun", property="request", propertyType="flow") as flow:
        flow.node("n").flow_context.set("request", ASK)
        assert (await ask(flow, None))["payload"]["object"] == "thread.run"


async def test_key_never_leaks(emu: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-but-secret-987654321"
    cfg = config(emu, api_key=wrong)
    async with one_node(emu, "createThreadAndRun", cfg=cfg) as flow:
        err = await fails(flow, ASK)
        statuses = flow.node("st").messages
    assert err["error"]["status"] == 401
    seen = json.dumps([err, statuses]) + caplog.text
    assert wrong not in seen and KEY not in seen


async def test_per_message_key_is_removed_from_the_msg(emu: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = config(emu, api_key="auth.key", api_key_type="msg")
    async with one_node(emu, "createThreadAndRun", cfg=cfg) as flow:
        out = await ask(flow, ASK, auth={"key": KEY})
        assert out["payload"]["object"] == "thread.run" and "key" not in out["auth"]
        err = await fails(flow, ASK)  # no key on this msg
    assert err["error"]["type"] == "configuration_error" and "auth.key" in err["error"]["message"]
    assert KEY not in json.dumps([out, err]) + caplog.text


async def test_env_key_by_default(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    cfg = {"id": "cfg", "type": "openai-config", "base_url": emu.base_url}
    async with one_node(emu, "createThreadAndRun", cfg=cfg) as flow:
        assert (await ask(flow, ASK))["payload"]["object"] == "thread.run"
    monkeypatch.delenv("OPENAI_API_KEY")
    async with one_node(emu, "createThreadAndRun", cfg=cfg) as flow:
        err = await fails(flow, ASK)
    assert "environment variable OPENAI_API_KEY is not set" in err["error"]["message"]


async def test_key_from_a_file(emu: RunningEmulator, tmp_path: Any) -> None:
    (tmp_path / "key").write_text(KEY + "\n")
    cfg = config(emu, api_key=str(tmp_path / "key"), api_key_type="file")
    async with one_node(emu, "createThreadAndRun", cfg=cfg) as flow:
        assert (await ask(flow, ASK))["payload"]["object"] == "thread.run"


@pytest.mark.parametrize("in_query", [False, True])
async def test_key_in_a_custom_header_or_query(in_query: bool) -> None:
    options = {"auth_query": "api-key"} if in_query else {"auth_header": "X-Api-Key"}
    async with serve(api_key=KEY, demo=True, **options) as gateway:
        cfg = config(gateway, key_header="api-key" if in_query else "X-Api-Key", key_in_query=in_query)
        async with one_node(gateway, "createThreadAndRun", cfg=cfg) as flow:
            assert (await ask(flow, ASK))["payload"]["object"] == "thread.run"
        [req] = [r for r in gateway.emulator.requests if r.path == "/v1/threads/runs"]
    assert "Authorization" not in req.headers
    if in_query:
        assert req.query["api-key"] == KEY
    else:
        assert req.headers["X-Api-Key"] == KEY


async def test_node_red_service_host_config(emu: RunningEmulator) -> None:
    host = {"id": "cfg", "type": "Service Host", "apiBase": emu.base_url, "secureApiKeyHeaderOrQueryName": "",
            "secureApiKeyIsQuery": "false", "organizationId": "org-1", "credentials": {"secureApiKeyValue": KEY}}
    async with one_node(emu, "createThreadAndRun", cfg=host, node_type="OpenAI API") as flow:
        assert (await ask(flow, ASK))["payload"]["object"] == "thread.run"
    req = [r for r in emu.emulator.requests if r.path == "/v1/threads/runs"][-1]
    assert req.headers["OpenAI-Organization"] == "org-1"


async def test_unknown_method_is_a_flow_error(emu: RunningEmulator) -> None:
    from runtime import FlowError

    with pytest.raises(FlowError, match="unknown method 'createRn'.*did you mean 'createRun'"):
        async with one_node(emu, "createRn"):
            pass
    with pytest.raises(FlowError, match="unknown method 'createThread' for openai-runs"):
        async with one_node(emu, "createThread"):
            pass


async def test_deprecation_is_logged_once_per_method(emu: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
    from nodes.openai import _dispatch

    _dispatch._noted.discard("getRun")
    async with one_node(emu, "getRun") as flow:
        for _ in range(3):
            await fails(flow, {"thread_id": "t", "run_id": "r"})
    notes = [r for r in caplog.records if "deprecated" in r.getMessage() and "getRun" in r.getMessage()]
    assert len(notes) == 1


async def test_concurrent_messages_share_one_connection_pool(emu: RunningEmulator) -> None:
    async with one_node(emu, "createThreadAndRun", cfg=config(emu, max_connections=4)) as flow:
        emu.emulator.connections.clear()
        for i in range(40):
            await flow.inject("n", {"payload": ASK, "i": i})
        msgs = await flow.received("out", 40)
    assert sorted(m["i"] for m in msgs) == list(range(40))
    assert 1 < len(emu.emulator.connections) <= 4, "concurrent calls spread over the pool, and the pool is bounded"
