"""The emulator speaks the OpenAI API: the real SDK (over real HTTP) parses everything it says."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import openai
import pytest
from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from nodes.openai.emulator import RunningEmulator, serve

import _oai_spec as _openapi
from _oai_common import KEY, WEATHER_TOOL

MSG = {"messages": [{"role": "user", "content": "hello there"}]}


async def test_sdk_parses_every_object(client: openai.AsyncOpenAI, assistant: Any) -> None:
    assert isinstance(assistant, Assistant) and assistant.id.startswith("asst_")
    thread = await client.beta.threads.create(**MSG)
    assert isinstance(thread, Thread)
    run = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert isinstance(run, Run) and run.status == "queued"
    run = await client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "completed" and run.usage is not None and run.usage.total_tokens > 0
    messages = await client.beta.threads.messages.list(thread.id, order="asc")
    assert all(isinstance(m, Message) for m in messages.data)
    assert [m.content[0].text.value for m in messages.data] == ["hello there", "You said: hello there"]
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert all(isinstance(s, RunStep) for s in steps.data) and steps.data[0].type == "message_creation"
    step = await client.beta.threads.runs.steps.retrieve(steps.data[0].id, thread_id=thread.id, run_id=run.id)
    assert step.step_details.message_creation.message_id == messages.data[1].id  # type: ignore[union-attr]


async def test_run_lifecycle_queued_then_completed(client: openai.AsyncOpenAI, assistant: Any) -> None:
    run = await client.beta.threads.create_and_run(assistant_id=assistant.id, thread=MSG)
    assert run.status == "queued" and run.started_at is None
    await asyncio.sleep(0.01)
    done = await client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
    assert done.status == "completed" and done.completed_at and done.started_at


async def test_function_tool_round_trip(client: openai.AsyncOpenAI, assistant: Any) -> None:
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "call get_weather for Paris"}])
    run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    [call] = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "22 C"}])
    assert run.status == "completed"
    messages = await client.beta.threads.messages.list(thread.id, order="desc", limit=1)
    assert messages.data[0].content[0].text.value.endswith("get_weather returned: 22 C")  # type: ignore[union-attr]
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    assert [s.type for s in steps.data] == ["tool_calls", "message_creation"]
    assert steps.data[0].step_details.tool_calls[0].function.output == "22 C"  # type: ignore[union-attr]


async def test_tool_choice_and_key_value_arguments(client: openai.AsyncOpenAI, assistant: Any) -> None:
    none = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, tool_choice="none", thread={"messages": [{"role": "user", "content": "get_weather"}]})
    assert none.status == "completed"
    forced = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, tool_choice="required", thread={"messages": [{"role": "user", "content": "city=Oslo"}]})
    args = forced.required_action.submit_tool_outputs.tool_calls[0].function.arguments  # type: ignore[union-attr]
    assert json.loads(args) == {"city": "Oslo"}


async def test_streaming_event_names_and_order(client: openai.AsyncOpenAI, assistant: Any) -> None:
    stream = await client.beta.threads.create_and_run(assistant_id=assistant.id, thread=MSG, stream=True)
    events = [e.event async for e in stream]
    assert events[:4] == ["thread.created", "thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert events[4:8] == ["thread.run.step.created", "thread.run.step.in_progress",
                           "thread.message.created", "thread.message.in_progress"]
    assert "thread.message.delta" in events
    assert events[-3:] == ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]


async def test_stream_ends_with_done_marker(emu: RunningEmulator, assistant: Any) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        async with http.post(f"{emu.base_url}/threads/runs",
                             json={"assistant_id": assistant.id, "thread": MSG, "stream": True}) as r:
            assert r.headers["Content-Type"].startswith("text/event-stream")
            text = await r.text()
    assert text.endswith("event: done\ndata: [DONE]\n\n")


async def test_streamed_tool_call_and_submit_stream(client: openai.AsyncOpenAI, assistant: Any) -> None:
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "get_weather in Rome"}])
    stream = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
    events = [e async for e in stream]
    assert events[-1].event == "thread.run.requires_action"
    run = events[-1].data
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    stream2 = await client.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}], stream=True)
    names = [e.event async for e in stream2]
    assert names[:3] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.completed"


async def test_cursor_pagination(client: openai.AsyncOpenAI, assistant: Any) -> None:
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": f"m{i}"} for i in range(5)])
    first = await client.beta.threads.messages.list(thread.id, limit=2, order="asc")
    assert [m.content[0].text.value for m in first.data] == ["m0", "m1"] and first.has_more  # type: ignore[union-attr]
    assert first.first_id == first.data[0].id and first.last_id == first.data[1].id  # type: ignore[attr-defined]
    after = await client.beta.threads.messages.list(thread.id, limit=2, order="asc", after=first.data[1].id)
    assert [m.content[0].text.value for m in after.data] == ["m2", "m3"]  # type: ignore[union-attr]
    before = await client.beta.threads.messages.list(thread.id, limit=2, order="asc", before=after.data[0].id)
    assert [m.content[0].text.value for m in before.data] == ["m0", "m1"]  # type: ignore[union-attr]
    everything = [m.content[0].text.value async for m in client.beta.threads.messages.list(thread.id, limit=2)]  # type: ignore[union-attr]
    assert everything == ["m4", "m3", "m2", "m1", "m0"]  # desc by default, auto-paginated by the SDK


async def test_cancel(assistant: Any) -> None:
    async with serve(run_latency=5) as emu:
        c = openai.AsyncOpenAI(api_key="any", base_url=emu.base_url, max_retries=0)
        a = await c.beta.assistants.create(model="gpt-4o")
        run = await c.beta.threads.create_and_run(assistant_id=a.id, thread=MSG)
        cancelling = await c.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
        assert cancelling.status == "cancelling"
        assert (await c.beta.threads.runs.poll(run.id, thread_id=run.thread_id)).status == "cancelled"
        with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
            await c.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
        await c.close()


async def test_expire(assistant: Any) -> None:
    """A run still going after `run_expiry` s is expired; waiting longer than that is the only way to show it."""
    async with serve(run_latency=5, run_expiry=0.05) as emu:
        c = openai.AsyncOpenAI(api_key="any", base_url=emu.base_url, max_retries=0)
        a = await c.beta.assistants.create(model="gpt-4o")
        run = await c.beta.threads.create_and_run(assistant_id=a.id, thread=MSG)
        await asyncio.sleep(0.06)
        assert (await c.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)).status == "expired"
        await c.close()


async def test_failed_run(client: openai.AsyncOpenAI, assistant: Any) -> None:
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "please #fail"}]})
    assert run.status == "failed" and run.last_error is not None and run.last_error.code == "server_error"


async def test_errors_have_openai_shape_and_request_id(client: openai.AsyncOpenAI, assistant: Any) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        await client.beta.threads.runs.retrieve("run_x", thread_id="thread_missing")
    assert nf.value.request_id and nf.value.request_id.startswith("req_")
    assert nf.value.body == {"message": "No thread found with id 'thread_missing'.",
                             "type": "invalid_request_error", "param": None, "code": None}
    thread = await client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as bad:
        await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, extra_body={"temprature": 1})
    assert bad.value.code == "unknown_parameter" and bad.value.param == "temprature"
    with pytest.raises(openai.BadRequestError, match="do not accept tool outputs"):
        run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        await client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[])


async def test_active_run_blocks_a_second_run(assistant: Any) -> None:
    async with serve(run_latency=5) as emu:
        c = openai.AsyncOpenAI(api_key="any", base_url=emu.base_url, max_retries=0)
        a = await c.beta.assistants.create(model="gpt-4o")
        run = await c.beta.threads.create_and_run(assistant_id=a.id, thread=MSG)
        with pytest.raises(openai.BadRequestError, match="already has an active run"):
            await c.beta.threads.runs.create(run.thread_id, assistant_id=a.id)
        await c.close()


async def test_bearer_key_is_checked(emu: RunningEmulator) -> None:
    wrong = openai.AsyncOpenAI(api_key="sk-wrong", base_url=emu.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        await wrong.beta.assistants.list()
    assert err.value.code == "invalid_api_key" and "sk-wrong" not in str(err.value)
    await wrong.close()


async def test_injected_failure_is_retried_after_retry_after(emu: RunningEmulator) -> None:
    emu.emulator.fail_next(429, retry_after=0.01)
    before = emu.emulator.request_count
    c = openai.AsyncOpenAI(api_key=KEY, base_url=emu.base_url, max_retries=1)
    assert (await c.beta.assistants.retrieve("asst_flowwire_demo")).id == "asst_flowwire_demo"
    await c.close()
    assert emu.emulator.request_count - before == 2, "the 429, then the retry that succeeded"
    assert not emu.emulator.failures, "the injected failure was served"


async def test_unknown_route_is_an_openai_error(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        async with http.get(f"{emu.base_url}/nope") as r:
            assert r.status == 404 and (await r.json())["error"]["type"] == "invalid_request_error"


# -- OpenAPI: what the emulator answers and what the SDK sends have the published shape ----------------
async def _call(http: aiohttp.ClientSession, base: str, method: str, path: str, body: Any = None) -> Any:
    async with http.request(method, base + path, json=body) as r:
        assert r.status == 200, await r.text()
        data = await r.json()
    _openapi.validate(data, _openapi.response_schema(method, "/v1" + path))
    return data


async def test_responses_match_openapi(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        b = emu.base_url
        a = await _call(http, b, "POST", "/assistants", {"model": "gpt-4o", "tools": [WEATHER_TOOL]})
        await _call(http, b, "GET", f"/assistants/{a['id']}")
        await _call(http, b, "GET", "/assistants")
        t = await _call(http, b, "POST", "/threads", MSG)
        await _call(http, b, "GET", f"/threads/{t['id']}")
        await _call(http, b, "POST", f"/threads/{t['id']}", {"metadata": {"k": "v"}})
        m = await _call(http, b, "POST", f"/threads/{t['id']}/messages", {"role": "user", "content": "get_weather for Oslo"})
        await _call(http, b, "GET", f"/threads/{t['id']}/messages/{m['id']}")
        run = await _call(http, b, "POST", f"/threads/{t['id']}/runs", {"assistant_id": a["id"]})
        await asyncio.sleep(0.01)
        run = await _call(http, b, "GET", f"/threads/{t['id']}/runs/{run['id']}")
        assert run["status"] == "requires_action"
        await _call(http, b, "POST", f"/threads/{t['id']}/runs/{run['id']}", {"metadata": {"x": "y"}})
        call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]
        await _call(http, b, "POST", f"/threads/{t['id']}/runs/{run['id']}/submit_tool_outputs",
                    {"tool_outputs": [{"tool_call_id": call["id"], "output": "cold"}]})
        await asyncio.sleep(0.01)
        await _call(http, b, "GET", f"/threads/{t['id']}/runs")
        steps = await _call(http, b, "GET", f"/threads/{t['id']}/runs/{run['id']}/steps")
        await _call(http, b, "GET", f"/threads/{t['id']}/runs/{run['id']}/steps/{steps['data'][0]['id']}")
        await _call(http, b, "GET", f"/threads/{t['id']}/messages")
        r2 = await _call(http, b, "POST", "/threads/runs", {"assistant_id": a["id"], "thread": {
            "messages": [{"role": "user", "content": "get_weather"}]}})
        await asyncio.sleep(0.01)  # now waiting in requires_action, so it can be cancelled
        await _call(http, b, "POST", f"/threads/{r2['thread_id']}/runs/{r2['id']}/cancel")
        await _call(http, b, "DELETE", f"/threads/{t['id']}/messages/{m['id']}")
        await _call(http, b, "DELETE", f"/threads/{t['id']}")
        await _call(http, b, "DELETE", f"/assistants/{a['id']}")


async def test_stream_events_match_openapi(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        async with http.post(f"{emu.base_url}/threads/runs", json={
                "assistant_id": "asst_flowwire_demo", "thread": MSG, "stream": True}) as r:
            text = await r.text()
    events = [block.split("\n", 1) for block in text.strip().split("\n\n")]
    assert len(events) > 10
    for head, data in events:
        name, payload = head.removeprefix("event: "), data.removeprefix("data: ")
        event = {"event": name, "data": payload if name == "done" else json.loads(payload)}
        _openapi.validate(event, _openapi.component("AssistantStreamEvent"))


async def test_sdk_requests_match_openapi(emu: RunningEmulator, client: openai.AsyncOpenAI, assistant: Any) -> None:
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, temperature=0.5, tool_choice="required", metadata={"k": "v"},
        truncation_strategy={"type": "last_messages", "last_messages": 3}, thread={"messages": [{"role": "user", "content": "Paris"}]})
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    await client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=run.thread_id,
                                                       tool_outputs=[{"tool_call_id": call.id, "output": "x"}])
    await client.beta.threads.runs.create(run.thread_id, assistant_id=assistant.id, reasoning_effort="low",
                                          additional_messages=[{"role": "user", "content": "again"}])
    checked = 0
    for req in emu.emulator.requests:
        if req.body is not None:
            schema = _openapi.request_schema(req.method, req.path)
            assert schema is not None, req.path
            _openapi.validate(req.body, schema)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize(("text", "calls"), [
    ("What is the weather in Paris?", [("get_weather", {"city": "Paris"})]),
    ("get weather for Rome", [("get_weather", {"city": "Rome"})]),
    ("Weathers change; tell me a joke", []),  # whole words only
])
def test_the_model_calls_a_verb_named_tool_when_its_subject_is_asked_for(text: str, calls: list[Any]) -> None:
    from nodes.openai.emulator._model import decide

    decision = decide([{"role": "user", "content": [{"type": "text", "text": {"value": text}}]}], [WEATHER_TOOL])
    assert [(c.name, json.loads(c.arguments)) for c in decision.tool_calls] == calls
