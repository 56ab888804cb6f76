"""What the node does per kind of call: streams, file inputs, bytes out, lists, local webhooks, no-body answers."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from _oai_flow import ask, fails, one_node
from _oai_payloads import WEBHOOK_SECRET, _webhook

from nodes.openai.emulator import RunningEmulator
from nodes.openai.emulator._media import speech, transcript
from runtime.testing import Flow, wait_until

USER = [{"role": "user", "content": "stream this please"}]


async def _stream(flow: Flow, payload: dict[str, Any]) -> list[dict[str, Any]]:
    await flow.inject("n", {"payload": payload, "topic": "t"})
    outs = flow.node("out").messages
    await wait_until(lambda: outs and outs[-1]["event"] == "done", timeout=10)
    assert not flow.node("errs").messages
    return outs


async def test_chat_completion_stream_one_msg_per_chunk_then_the_assembled_completion(emu: RunningEmulator) -> None:
    async with one_node(emu, "createChatCompletion", node_type="openai-api") as flow:
        msgs = await _stream(flow, {"model": "gpt-4o-mini", "messages": USER, "stream": True,
                                    "stream_options": {"include_usage": True}})
    *chunks, done = msgs
    assert {m["event"] for m in chunks} == {"chat.completion.chunk"}
    assert [m["openai"]["index"] for m in msgs] == list(range(len(msgs)))
    assert all(m["topic"] == "t" for m in msgs)  # each a copy of the input msg
    text = "".join(c["payload"]["choices"][0]["delta"].get("content") or "" for c in chunks if c["payload"]["choices"])
    assert text == "You said: stream this please"
    assert done["openai"]["done"] is True and done["payload"]["object"] == "chat.completion"
    assert done["payload"]["choices"][0]["message"]["content"] == text and done["payload"]["usage"]["total_tokens"] > 0
    json.dumps(msgs)


@pytest.mark.parametrize("method", ["createModelResponse", "streamModelResponse"])
async def test_response_stream_follows_the_documented_sequence(emu: RunningEmulator, method: str) -> None:
    payload: dict[str, Any] = {"model": "gpt-4o-mini", "input": "hello stream"}
    if method == "createModelResponse":
        payload["stream"] = True
    async with one_node(emu, method, node_type="openai-api") as flow:
        msgs = await _stream(flow, payload)
    events = [m["event"] for m in msgs]
    assert events[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                          "response.content_part.added"]
    assert events[-5:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                           "response.completed", "done"]
    assert [m["payload"]["sequence_number"] for m in msgs[:-1]] == list(range(len(msgs) - 1))
    final = msgs[-1]["payload"]
    assert final["object"] == "response" and final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == "You said: hello stream"


async def test_response_get_after_create_and_delete(emu: RunningEmulator) -> None:
    async with one_node(emu, "createModelResponse", node_type="openai-api") as flow:
        created = (await ask(flow, {"model": "gpt-4o-mini", "input": "keep me"}))["payload"]
    async with one_node(emu, "listInputItems", node_type="openai-api") as flow:
        items = (await ask(flow, {"response_id": created["id"]}))["payload"]
    assert items[0]["content"][0] == {"type": "input_text", "text": "keep me"}
    async with one_node(emu, "deleteModelResponse", node_type="openai-api") as flow:
        out = await ask(flow, {"response_id": created["id"]})
        assert out["payload"] == {"id": created["id"], "response_id": created["id"], "object": "response.deleted",
                                  "deleted": True}
    async with one_node(emu, "getModelResponse", node_type="openai-api") as flow:
        err = await fails(flow, {"response_id": created["id"]})
    assert err["error"]["status"] == 404


# -- files in --------------------------------------------------------------------------------------------------
TEXT = b"one\ntwo\n"


@pytest.mark.parametrize("shape", ["path", "bytes", "buffer", "named", "named-buffer"])
async def test_file_field_shapes(emu: RunningEmulator, tmp_path: Path, shape: str) -> None:
    (tmp_path / "lines.txt").write_bytes(TEXT)
    value: Any = {
        "path": str(tmp_path / "lines.txt"),
        "bytes": TEXT,
        "buffer": {"type": "Buffer", "data": list(TEXT)},
        "named": {"filename": "lines.txt", "content": TEXT.decode(), "mime": "text/plain"},
        "named-buffer": {"filename": "lines.txt", "content": {"type": "Buffer", "data": list(TEXT)}},
    }[shape]
    async with one_node(emu, "createFile", node_type="openai-api") as flow:
        created = (await ask(flow, {"file": value, "purpose": "assistants"}))["payload"]
    assert created["bytes"] == len(TEXT)
    assert emu.emulator.resources.contents[created["id"]] == TEXT
    async with one_node(emu, "downloadFile", node_type="openai-api") as flow:
        out = await ask(flow, {"file_id": created["id"]})
    assert out["payload"] == TEXT and out["openai"]["content_type"]
    if shape in ("path", "named"):  # the name tells the type
        assert out["openai"]["content_type"].startswith("text/plain")


async def test_a_missing_file_is_a_node_error_naming_field_and_path_before_any_request(emu: RunningEmulator,
                                                                                       tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.wav")
    async with one_node(emu, "createTranscription", node_type="openai-api") as flow:
        before = emu.emulator.request_count
        err = await fails(flow, {"model": "whisper-1", "file": missing})
    assert emu.emulator.request_count == before
    assert err["error"]["message"] == f"createTranscription: property 'file': no file at '{missing}' (it does not exist)"
    assert err["error"]["param"] == "file" and err["error"]["code"] == "invalid_payload"


@pytest.mark.parametrize(("value", "text"), [
    (42, "property 'image' must be a file (a host path, bytes, a Buffer"),
    ({"type": "Buffer", "data": [1, 300]}, "a Buffer's data must be byte values"),
    ({"filename": "", "content": "x"}, "property 'image.filename' must be a non-empty string"),
])
async def test_bad_file_values(emu: RunningEmulator, value: Any, text: str) -> None:
    async with one_node(emu, "createImageVariation", node_type="openai-api") as flow:
        err = await fails(flow, {"image": value})
    assert text in err["error"]["message"] and err["error"]["message"].startswith("createImageVariation: ")


async def test_a_list_of_files(emu: RunningEmulator, tmp_path: Path) -> None:
    paths = []
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text(f"# {name}")
        paths.append(str(tmp_path / name))
    async with one_node(emu, "createVectorStore", node_type="openai-api") as flow:
        store = (await ask(flow, {"name": "kb"}))["payload"]
    async with one_node(emu, "uploadAndPollVectorStoreFileBatch", node_type="openai-api") as flow:
        batch = (await ask(flow, {"vector_store_id": store["id"], "files": paths}))["payload"]
    assert batch["status"] == "completed" and batch["file_counts"]["completed"] == 2


# -- bytes out, audio round trip -----------------------------------------------------------------------------
async def test_speech_is_bytes_and_transcribes_back(emu: RunningEmulator) -> None:
    async with one_node(emu, "createSpeech", node_type="openai-api") as flow:
        out = await ask(flow, {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "round trip"})
    audio = out["payload"]
    assert isinstance(audio, bytes) and audio[:4] == b"RIFF" and out["openai"]["content_type"] == "audio/wav"
    assert transcript(audio) == "round trip"
    async with one_node(emu, "createTranscription", node_type="openai-api") as flow:
        heard = await ask(flow, {"model": "whisper-1", "file": audio, "response_format": "text"})
    assert heard["payload"].strip() == "round trip"  # text formats arrive as text


async def test_upload_parts_complete_into_a_file(emu: RunningEmulator) -> None:
    async with one_node(emu, "createUpload", node_type="openai-api") as flow:
        upload = (await ask(flow, {"filename": "big.txt", "purpose": "assistants", "bytes": 10,
                                   "mime_type": "text/plain"}))["payload"]
    parts = []
    async with one_node(emu, "addUploadPart", node_type="openai-api") as flow:
        for chunk in (b"hello ", b"world"):
            parts.append((await ask(flow, {"upload_id": upload["id"], "data": chunk}))["payload"]["id"])
    async with one_node(emu, "completeUpload", node_type="openai-api") as flow:
        done = (await ask(flow, {"upload_id": upload["id"], "part_ids": parts}))["payload"]
    assert done["status"] == "completed"
    async with one_node(emu, "downloadFile", node_type="openai-api") as flow:
        assert (await ask(flow, {"file_id": done["file"]["id"]}))["payload"] == b"hello world"


# -- lists -------------------------------------------------------------------------------------------------
async def test_list_first_page_and_fetch_all(emu: RunningEmulator) -> None:
    async with one_node(emu, "createContainer", node_type="openai-api") as flow:
        for i in range(3):
            await ask(flow, {"name": f"c{i}"})
    async with one_node(emu, "listContainers", node_type="openai-api") as flow:
        page = await ask(flow, {"limit": 2, "order": "asc"})
    assert len(page["payload"]) == 2 and page["openai"]["has_more"] is True
    assert page["openai"]["last_id"] == page["payload"][-1]["id"]
    async with one_node(emu, "listContainers", node_type="openai-api", fetchAll=True) as flow:
        every = await ask(flow, {"limit": 2, "order": "asc"})
    assert [c["name"] for c in every["payload"]] == ["c0", "c1", "c2"] and every["openai"]["has_more"] is False


# -- no body, local --------------------------------------------------------------------------------------------
async def test_a_call_the_api_answers_without_a_body(emu: RunningEmulator) -> None:
    async with one_node(emu, "acceptRealtimeCall", node_type="openai-api") as flow:
        out = await ask(flow, {"call_id": "rtc_1", "type": "realtime"})
    assert out["payload"] == {"call_id": "rtc_1", "status": "accepted"}


async def test_webhooks_are_checked_locally(emu: RunningEmulator) -> None:
    async with one_node(emu, "unwrapWebhookEvent", node_type="openai-api") as flow:
        before = emu.emulator.request_count
        event = (await ask(flow, _webhook()))["payload"]
        assert event["type"] == "response.completed" and event["data"]["id"] == "resp_abc123"
        forged = {**_webhook(), "secret": "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="}
        err = await fails(flow, forged)
    assert emu.emulator.request_count == before
    assert err["error"]["method"] == "unwrapWebhookEvent" and "signature" in err["error"]["message"].lower()
    assert WEBHOOK_SECRET not in json.dumps(err)


async def test_a_deprecated_sdk_call_is_logged_once(emu: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
    from nodes.openai import _dispatch

    _dispatch._noted.discard("listVideos")
    caplog.set_level(logging.WARNING)
    async with one_node(emu, "listVideos", node_type="openai-api") as flow:
        for _ in range(3):
            await ask(flow, {})
    notes = [r.getMessage() for r in caplog.records if "listVideos" in r.getMessage()]
    assert len(notes) == 1 and "Sora" in notes[0]


def test_speech_wav_carries_its_text() -> None:
    assert transcript(speech("héllo")) == "héllo" and transcript(b"not audio") == "(no speech recognised)"


async def test_images_stream_their_documented_events(emu: RunningEmulator) -> None:
    async with one_node(emu, "createImage", node_type="openai-api") as flow:
        msgs = await _stream(flow, {"prompt": "a boat", "model": "gpt-image-1", "stream": True})
    assert [m["event"] for m in msgs] == ["image_generation.partial_image", "image_generation.completed", "done"]
    assert msgs[-1]["payload"]["type"] == "image_generation.completed"


# -- the Responses WebSocket -------------------------------------------------------------------------------------
async def test_responses_websocket_connect_send_events_close(emu: RunningEmulator) -> None:
    socket = "manageModelResponseWebSocket"
    async with one_node(emu, socket, node_type="openai-api") as flow:
        opened = await ask(flow, {"action": "connect", "connection_id": "c1"})
        assert opened["payload"]["object"] == "response.websocket.connection"
        assert opened["payload"]["url"] == emu.base_url.replace("http://", "ws://") + "/responses"
        sent = await ask(flow, {"action": "send", "connection_id": "c1",
                                "event": {"type": "response.create", "model": "gpt-4o-mini", "input": "hi ws"}}, exact=False)
        assert sent["payload"]["event_type"] == "response.create"
        outs = flow.node("out").messages
        await wait_until(lambda: outs and outs[-1]["payload"].get("type") == "response.completed", timeout=10)
        events = list(outs)
        flow.node("out").messages.clear()
        closed = await ask(flow, {"action": "close", "connection_id": "c1", "code": 1000, "reason": "bye"})
        assert closed["payload"]["action"] == "close"
        err = await fails(flow, {"action": "send", "connection_id": "c1", "event": {"type": "response.create"}})
        opened_again = await ask(flow, {"action": "connect", "connection_id": "c2"})
    assert events[0]["openai"] == {"method": socket, "transport": "responses.websocket", "direction": "server",
                                   "connection_id": "c1", "event_type": "response.created"}
    assert "topic" not in events[0]  # new msgs, not copies of the input
    assert events[-1]["payload"]["response"]["output"][0]["content"][0]["text"] == "You said: hi ws"
    assert err["error"]["message"] == f"{socket}: no open connection 'c1'"
    assert opened_again["payload"]["connection_id"] == "c2"  # and closed with the node


@pytest.mark.parametrize(("payload", "text"), [
    ({"action": "open", "connection_id": "c"}, "property 'action' must be one of connect, send, close"),
    ({"action": "send", "connection_id": "c", "event": {"type": "response.cancel"}},
     "property 'event' must be an object with type \"response.create\""),
    ({"action": "close", "connection_id": ""}, "property 'connection_id' must be a non-empty string"),
    ({"action": "close", "connection_id": "c", "reson": "x"}, "did you mean 'reason'?"),
])
async def test_responses_websocket_bad_requests(emu: RunningEmulator, payload: dict[str, Any], text: str) -> None:
    async with one_node(emu, "manageModelResponseWebSocket", node_type="openai-api") as flow:
        before = emu.emulator.request_count
        err = await fails(flow, payload)
    assert text in err["error"]["message"] and emu.emulator.request_count == before


async def test_other_streams_transcription_and_stored_response(emu: RunningEmulator) -> None:
    async with one_node(emu, "createTranscription", node_type="openai-api") as flow:
        msgs = await _stream(flow, {"model": "gpt-4o-transcribe", "file": speech("two words"), "stream": True})
    assert [m["event"] for m in msgs] == ["transcript.text.delta", "transcript.text.delta", "transcript.text.done",
                                          "done"]
    assert msgs[-1]["payload"]["text"] == "two words"
    async with one_node(emu, "createModelResponse", node_type="openai-api") as flow:
        created = (await ask(flow, {"model": "gpt-4o-mini", "input": "replay me"}))["payload"]
    async with one_node(emu, "getModelResponse", node_type="openai-api") as flow:
        replay = await _stream(flow, {"response_id": created["id"], "stream": True})
    assert replay[-1]["payload"]["id"] == created["id"] and replay[-2]["event"] == "response.completed"


# -- function calling in chat completions and responses ----------------------------------------------------
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


async def test_chat_function_call_round_trip(emu: RunningEmulator) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Lima?"}]
    async with one_node(emu, "createChatCompletion", node_type="openai-api") as flow:
        first = (await ask(flow, {"model": "gpt-4o-mini", "messages": messages, "tools": tools}))["payload"]
        choice = first["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        [tool_call] = choice["message"]["tool_calls"]
        assert tool_call["function"] == {"name": "get_weather", "arguments": '{"city":"Lima"}'}
        messages += [choice["message"], {"role": "tool", "tool_call_id": tool_call["id"], "content": "19 C"}]
        second = (await ask(flow, {"model": "gpt-4o-mini", "messages": messages, "tools": tools}))["payload"]
        streamed = await _stream(flow, {"model": "gpt-4o-mini", "messages": messages[:1], "tools": tools,
                                        "stream": True})
    assert second["choices"][0]["message"]["content"].endswith("get_weather returned: 19 C")
    assembled = streamed[-1]["payload"]["choices"][0]
    assert assembled["finish_reason"] == "tool_calls"
    assert assembled["message"]["tool_calls"][0]["function"]["arguments"] == '{"city":"Lima"}'


async def test_response_function_call_round_trip(emu: RunningEmulator) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": False}]
    async with one_node(emu, "createModelResponse", node_type="openai-api") as flow:
        first = (await ask(flow, {"model": "gpt-4o-mini", "input": "the weather in Quito, please", "tools": tools}))
        [call] = first["payload"]["output"]
        assert (call["type"], call["name"], call["arguments"]) == ("function_call", "get_weather", '{"city":"Quito"}')
        second = await ask(flow, {"model": "gpt-4o-mini", "previous_response_id": first["payload"]["id"],
                                  "tools": tools, "input": [{"type": "function_call_output",
                                                             "call_id": call["call_id"], "output": "24 C"}]})
    text = second["payload"]["output"][-1]["content"][0]["text"]
    assert text == "You said: the weather in Quito, please\nget_weather returned: 24 C"
