"""Operations whose answers need more than their schema: the model, files and their bytes, audio, search.

(Over 500 lines on purpose: these operations share one model of stored
objects (files feed vector stores, vector stores feed file search, responses
feed conversations); the generic, schema-driven answers are elsewhere.)

The model is the emulator's usual deterministic one: it answers "You said:
<the last user text>" (plus what a file search found), and calls a function
tool when the text names it (the Assistants emulator's rule, `_model.decide`),
then answers with the outputs once they come back; flows and tests can assert
on all of it. Everything here builds on `_generic` (fresh objects from the
document, overlays, collections), so answers still validate against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import time
from collections.abc import Callable
from typing import Any

from . import _media, _model, _spec, _synth
from ._errors import not_found
from ._generic import (
    Answer,
    Call,
    JsonObj,
    Resources,
    Upload,
    build,
    create,
    fresh,
    generic,
    listing,
    props_of,
)

Handler = Callable[[Resources, Call], Answer]
_WORD = re.compile(r"\S+\s*")


def _now() -> int:
    return int(time.time())


def _text_of(content: Any) -> str:
    """The text of a message content (a string or parts with `text`)."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return " ".join(parts)


def _last_user(messages: list[Any]) -> str:
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _chunks(text: str) -> list[str]:
    return _WORD.findall(text) or [text]


# -- chat completions ------------------------------------------------------------------------------------
def _decide(text: str, functions: list[JsonObj], tool_choice: Any, parallel: Any) -> list[tuple[str, str]]:
    """The function calls the model makes for `text` (the Assistants emulator's rule): `(name, arguments)`."""
    message = {"role": "user", "content": [{"type": "text", "text": {"value": text}}]}
    tools = [{"type": "function", "function": f} for f in functions]
    if isinstance(tool_choice, dict) and "name" in tool_choice:  # the Responses API's shape
        tool_choice = {"type": "function", "function": {"name": tool_choice["name"]}}
    decision = _model.decide([message], tools, tool_choice or "auto", parallel is not False)
    return [(plan.name, plan.arguments) for plan in decision.tool_calls]


def _after_tools(text: str, outputs: list[tuple[str, str]]) -> str:
    return "\n".join([f"You said: {text}", *(f"{name} returned: {output}" for name, output in outputs)])


def chat_create(res: Resources, call: Call) -> Answer:
    body = call.body
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    text = _last_user(messages)
    calls: list[JsonObj] = []
    if messages and messages[-1].get("role") == "tool":  # the tool outputs are back: answer with them
        names = {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
        outputs = [(names.get(m.get("tool_call_id"), "tool"), _text_of(m.get("content")))
                   for m in messages if m.get("role") == "tool"]
        reply: str | None = _after_tools(text, outputs)
    else:
        functions = [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]
        calls = [{"id": res.ids.new("call"), "type": "function", "function": {"name": name, "arguments": args}}
                 for name, args in _decide(text, functions, body.get("tool_choice"), body.get("parallel_tool_calls"))]
        reply = None if calls else f"You said: {text}"
    completion_id = "chatcmpl-" + res.ids.new("x")[2:]
    created, model = _now(), body["model"]
    prompt = sum(_tokens(_text_of(m.get("content"))) for m in messages)
    answered = _tokens(reply or json.dumps(calls))
    usage = {"prompt_tokens": prompt, "completion_tokens": answered, "total_tokens": prompt + answered}
    message: JsonObj = {"role": "assistant", "content": reply, "refusal": None, "annotations": []}
    if calls:
        message["tool_calls"] = calls
    finish = "tool_calls" if calls else "stop"
    obj = {"id": completion_id, "object": "chat.completion", "created": created, "model": model,
           "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
           "usage": usage, "service_tier": "default", "system_fingerprint": "fp_emulator"}
    if isinstance(body.get("metadata"), dict):
        obj["metadata"] = body["metadata"]
    if body.get("store"):
        res.collection("/chat/completions")[completion_id] = obj
        res.extras[f"chat:{completion_id}"] = [
            {"id": f"{completion_id}-{i}", "role": m.get("role"), "content": _text_of(m.get("content")),
             "name": m.get("name"), "content_parts": None}
            for i, m in enumerate(messages) if isinstance(m, dict)]
    if not body.get("stream"):
        return Answer(obj)
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "service_tier": "default", "system_fingerprint": "fp_emulator"}

    def chunk(delta: JsonObj, finish: str | None = None) -> JsonObj:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    events: list[tuple[str | None, Any]] = [(None, chunk({"role": "assistant", "content": "", "refusal": None}))]
    events += [(None, chunk({"content": piece})) for piece in _chunks(reply or "")] if reply else [
        (None, chunk({"tool_calls": [{"index": i, **c}]})) for i, c in enumerate(calls)]
    events.append((None, chunk({}, finish)))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, {**head, "choices": [], "usage": usage}))
    return Answer(events=events, done_marker=True)


def chat_messages(res: Resources, call: Call) -> Answer:
    completion_id = call.params["completion_id"]
    res.find("/chat/completions", completion_id, "chat completion")
    return Answer(listing(res, call, res.extras.get(f"chat:{completion_id}", [])))


# -- responses -------------------------------------------------------------------------------------------
def _input_items(res: Resources, value: Any) -> list[JsonObj]:
    """Request `input` → stored input items (messages with `input_text` parts, other items kept)."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    items = []
    for item in value or []:
        if not isinstance(item, dict):
            continue
        if item.get("type", "message") == "message" and "role" in item:
            content = item.get("content")
            parts = ([{"type": "input_text", "text": content}] if isinstance(content, str)
                     else [dict(p) for p in content or [] if isinstance(p, dict)])
            items.append({"id": item.get("id") or res.ids.new("msg"), "type": "message", "role": item["role"],
                          "status": "completed", "content": parts})
        else:
            items.append({"id": item.get("id") or res.ids.new("item"), **item})
    return items


def _search(res: Resources, vector_store_ids: list[str], query: str, limit: int = 10) -> list[JsonObj]:
    """Files of the vector stores whose text shares words with the query, best first."""
    words = {w.lower().strip(".,!?;:") for w in query.split() if len(w) > 2}
    found: list[JsonObj] = []
    for store_id in vector_store_ids:
        for file_id, vs_file in res.collection(f"/vector_stores/{store_id}/files").items():
            text = res.contents.get(file_id, b"").decode("utf-8", "replace")
            hits = sum(1 for w in words if w in text.lower())
            if words and hits:
                meta = res.anywhere(file_id) or {}
                found.append({"file_id": file_id, "filename": meta.get("filename", file_id),
                              "score": round(hits / len(words), 4), "attributes": vs_file.get("attributes") or {},
                              "content": [{"type": "text", "text": text}]})
    return sorted(found, key=lambda r: -r["score"])[:limit]


def _function_items(res: Resources, body: JsonObj, inputs: list[JsonObj], text: str) -> tuple[str | None,
                                                                                              list[JsonObj]]:
    """Function calling in the Responses API: the answer once outputs came back, or the calls to make."""
    outputs = [i for i in inputs if i.get("type") == "function_call_output"]
    if outputs:
        earlier = {i.get("call_id"): i.get("name") for r in res.collection("/responses").values()
                   for i in r.get("output", []) if i.get("type") == "function_call"}
        earlier.update({i.get("call_id"): i.get("name") for i in inputs if i.get("type") == "function_call"})
        return _after_tools(text, [(earlier.get(o.get("call_id")) or "tool", str(o.get("output", "")))
                                   for o in outputs]), []
    functions = [{"name": t["name"], "parameters": t.get("parameters") or {}} for t in body.get("tools") or []
                 if t.get("type") == "function" and "name" in t]
    calls = [{"id": res.ids.new("fc"), "type": "function_call", "call_id": res.ids.new("call"), "name": name,
              "arguments": args, "status": "completed"}
             for name, args in _decide(text, functions, body.get("tool_choice"), body.get("parallel_tool_calls"))]
    return None, calls


def _reply(res: Resources, body: JsonObj, text: str) -> tuple[str, list[JsonObj]]:
    """The model's answer and the tool-call items that came before it (file search)."""
    reply, calls = f"You said: {text}", []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "file_search":
            results = _search(res, list(tool.get("vector_store_ids") or []), text)
            calls.append({"id": res.ids.new("fs"), "type": "file_search_call", "status": "completed",
                          "queries": [text], "results": [
                              {"file_id": r["file_id"], "filename": r["filename"], "score": r["score"],
                               "text": r["content"][0]["text"], "attributes": r["attributes"]} for r in results]})
            if results:
                reply += f"\nFrom {results[0]['filename']}: {results[0]['content'][0]['text'].strip()}"
    return reply, calls


def responses_create(res: Resources, call: Call) -> Answer:
    body = call.body
    inputs = _input_items(res, body.get("input"))
    previous = body.get("previous_response_id")
    history = res.extras.get(f"input:{previous}", []) if isinstance(previous, str) else []
    text = next((_text_of(i["content"]) for i in reversed(history + inputs) if i.get("role") == "user"), "")
    after_tools, function_calls = _function_items(res, body, inputs, text)
    reply, calls = _reply(res, body, text)
    if after_tools is not None:
        reply = after_tools
    obj = build(res, call)
    message = {"id": res.ids.new("msg"), "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": reply, "annotations": [], "logprobs": []}]}
    if function_calls:  # the model stops at the calls: the flow runs them and sends the outputs back
        calls, message = [*calls, *function_calls], None
    now = _now()
    prompt = sum(_tokens(_text_of(i.get("content"))) for i in inputs)
    obj.update(id=res.ids.new("resp"), object="response", created_at=now, status="completed", completed_at=now,
               model=body.get("model") or obj.get("model") or "gpt-4o-mini",
               output=[*calls, *([message] if message else [])],
               error=None, incomplete_details=None,
               usage={"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": _tokens(reply), "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": prompt + _tokens(reply)})
    conversation = body.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
    if isinstance(conversation_id, str):
        res.find("/conversations", conversation_id, "conversation")
        items = res.collection(f"/conversations/{conversation_id}/items")
        for item in [*inputs, *([message] if message else function_calls)]:
            items[item["id"]] = item
        obj["conversation"] = {"id": conversation_id}
    if body.get("store", True) is not False:
        res.collection("/responses")[obj["id"]] = obj
        res.extras[f"input:{obj['id']}"] = inputs
    if body.get("stream"):
        return Answer(events=response_events(obj))
    return Answer(obj)


def response_events(obj: JsonObj) -> list[tuple[str | None, Any]]:
    """The documented event sequence of a streamed response with one text message."""
    started = {**obj, "status": "in_progress", "output": [], "completed_at": None}
    out: list[JsonObj] = [{"type": "response.created", "response": started},
                          {"type": "response.in_progress", "response": started}]
    for index, item in enumerate(obj["output"]):
        if item["type"] != "message":
            out += [{"type": "response.output_item.added", "output_index": index, "item": item},
                    {"type": "response.output_item.done", "output_index": index, "item": item}]
            continue
        text = item["content"][0]["text"]
        item_id = item["id"]
        out.append({"type": "response.output_item.added", "output_index": index,
                    "item": {**item, "status": "in_progress", "content": []}})
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        out.append({"type": "response.content_part.added", "item_id": item_id, "output_index": index,
                    "content_index": 0, "part": empty})
        out += [{"type": "response.output_text.delta", "item_id": item_id, "output_index": index,
                 "content_index": 0, "delta": piece, "logprobs": []} for piece in _chunks(text)]
        out += [{"type": "response.output_text.done", "item_id": item_id, "output_index": index,
                 "content_index": 0, "text": text, "logprobs": []},
                {"type": "response.content_part.done", "item_id": item_id, "output_index": index,
                 "content_index": 0, "part": item["content"][0]},
                {"type": "response.output_item.done", "output_index": index, "item": item}]
    out.append({"type": "response.completed", "response": obj})
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(out)]


def responses_get(res: Resources, call: Call) -> Answer:
    obj = res.find("/responses", call.params["response_id"], "response")
    if str(call.query.get("stream", "")).lower() == "true":
        return Answer(events=response_events(obj))
    return Answer(obj)


def responses_input_items(res: Resources, call: Call) -> Answer:
    response_id = call.params["response_id"]
    res.find("/responses", response_id, "response")
    query = {"order": "desc", **call.query}
    return Answer(listing(res, Call(call.op, call.params, query, None, False),
                          res.extras.get(f"input:{response_id}", [])))


# -- conversations ---------------------------------------------------------------------------------------
def conversation_created(res: Resources, call: Call, obj: JsonObj) -> None:
    items = res.collection(f"/conversations/{obj['id']}/items")
    for item in _input_items(res, (call.body or {}).get("items")):
        items[item["id"]] = item


def conversation_items_create(res: Resources, call: Call) -> Answer:
    conversation_id = call.params["conversation_id"]
    res.find("/conversations", conversation_id, "conversation")
    created = _input_items(res, call.body["items"])
    items = res.collection(call.path)
    for item in created:
        items[item["id"]] = item
    return Answer({"object": "list", "data": created, "first_id": created[0]["id"] if created else "",
                   "last_id": created[-1]["id"] if created else "", "has_more": False})


def conversation_item_delete(res: Resources, call: Call) -> Answer:
    conversation_id, item_id = call.params["conversation_id"], call.params["item_id"]
    conversation = res.find("/conversations", conversation_id, "conversation")
    res.find(f"/conversations/{conversation_id}/items", item_id, "item")
    del res.collections[f"/conversations/{conversation_id}/items"][item_id]
    return Answer(conversation)


# -- files, uploads, container files -------------------------------------------------------------------
def _mime(filename: str) -> str:
    if filename.endswith((".txt", ".md", ".csv", ".jsonl", ".json", ".py")):
        return "text/plain"
    if filename.endswith(".wav"):
        return "audio/wav"
    return "application/octet-stream"


def files_create(res: Resources, call: Call) -> Answer:
    upload = call.body["file"]
    if not isinstance(upload, Upload):
        upload = Upload("upload", "text/plain", str(upload).encode())
    obj = build(res, call)
    obj.update(id="file-" + res.ids.new("x")[2:], object="file", bytes=len(upload.data), created_at=_now(),
               filename=upload.filename, purpose=call.body.get("purpose", "user_data"), status="processed")
    res.collection("/files")[obj["id"]] = obj
    res.contents[obj["id"]] = upload.data
    return Answer(obj)


def file_content(res: Resources, call: Call) -> Answer:
    file_id = call.params["file_id"]
    obj = res.find("/files", file_id, "file")
    return Answer(raw=res.contents.get(file_id, b""), content_type=_mime(obj.get("filename", "")))


def upload_create(res: Resources, call: Call) -> Answer:
    obj = create(res, call)
    obj["status"] = "pending"
    obj["file"] = None
    return Answer(obj)


def upload_part(res: Resources, call: Call) -> Answer:
    upload = res.find("/uploads", call.params["upload_id"], "upload")
    data = call.body["data"]
    obj = build(res, call)
    obj.update(id=res.ids.new("part"), object="upload.part", created_at=_now(), upload_id=upload["id"])
    res.contents[obj["id"]] = data.data if isinstance(data, Upload) else str(data).encode()
    return Answer(obj)


def upload_complete(res: Resources, call: Call) -> Answer:
    upload = res.find("/uploads", call.params["upload_id"], "upload")
    parts = call.body["part_ids"]
    for part in parts:
        if part not in res.contents:
            raise not_found("upload part", part)
    data = b"".join(res.contents[p] for p in parts)
    file_obj = {"id": "file-" + res.ids.new("x")[2:], "object": "file", "bytes": len(data), "created_at": _now(),
                "filename": upload["filename"], "purpose": upload["purpose"], "status": "processed"}
    res.collection("/files")[file_obj["id"]] = file_obj
    res.contents[file_obj["id"]] = data
    upload.update(status="completed", file=file_obj)
    return Answer(upload)


def container_file_created(res: Resources, call: Call, obj: JsonObj) -> None:
    body = call.body or {}
    upload = body.get("file")
    if isinstance(upload, Upload):
        data, name = upload.data, upload.filename
    else:
        source = str(body.get("file_id", ""))
        data, name = res.contents.get(source, b""), (res.anywhere(source) or {}).get("filename", source)
        obj["id"] = "cfile_" + res.ids.new("x")[2:]
        res.collection(call.path).pop(source, None)
        res.collection(call.path)[obj["id"]] = obj
    obj.update(bytes=len(data), path=f"/mnt/data/{name}", source="user")
    res.contents[obj["id"]] = data


def container_file_content(res: Resources, call: Call) -> Answer:
    container_id, file_id = call.params["container_id"], call.params["file_id"]
    obj = res.find(f"/containers/{container_id}/files", file_id, "container file")
    return Answer(raw=res.contents.get(file_id, b""), content_type=_mime(obj.get("path", "")))


# -- vector stores ---------------------------------------------------------------------------------------
def _attach(res: Resources, store_id: str, file_ids: list[str], batch_id: str | None = None) -> None:
    files = res.collection(f"/vector_stores/{store_id}/files")
    for file_id in file_ids:
        files[file_id] = {"id": file_id, "object": "vector_store.file", "created_at": _now(),
                          "vector_store_id": store_id, "status": "completed", "last_error": None,
                          "usage_bytes": len(res.contents.get(file_id, b"")), "attributes": {},
                          **({"batch_id": batch_id} if batch_id else {})}


def vector_store_created(res: Resources, call: Call, obj: JsonObj) -> None:
    _attach(res, obj["id"], list((call.body or {}).get("file_ids") or []))
    _count(res, obj)


def _count(res: Resources, store: JsonObj) -> None:
    n = len(res.collection(f"/vector_stores/{store['id']}/files"))
    if isinstance(store.get("file_counts"), dict):
        store["file_counts"].update(completed=n, total=n, in_progress=0, failed=0, cancelled=0)


def vector_store_file_created(res: Resources, call: Call, obj: JsonObj) -> None:
    obj["usage_bytes"] = len(res.contents.get(obj["id"], b""))
    obj["last_error"] = None
    if store := res.collections.get("/vector_stores", {}).get(call.params["vector_store_id"]):
        _count(res, store)


def file_batch_created(res: Resources, call: Call, obj: JsonObj) -> None:
    body = call.body or {}
    file_ids = list(body.get("file_ids") or []) + [f["file_id"] for f in body.get("files") or [] if "file_id" in f]
    _attach(res, call.params["vector_store_id"], file_ids, obj["id"])
    obj["file_counts"] = {"in_progress": 0, "completed": len(file_ids), "failed": 0, "cancelled": 0,
                          "total": len(file_ids)}


def file_batch_files(res: Resources, call: Call) -> Answer:
    store_id, batch_id = call.params["vector_store_id"], call.params["batch_id"]
    res.find(f"/vector_stores/{store_id}/file_batches", batch_id, "vector store file batch")
    files = [f for f in res.collection(f"/vector_stores/{store_id}/files").values() if f.get("batch_id") == batch_id]
    return Answer(listing(res, call, [{k: v for k, v in f.items() if k != "batch_id"} for f in files]))


def vector_store_search(res: Resources, call: Call) -> Answer:
    store_id = call.params["vector_store_id"]
    res.find("/vector_stores", store_id, "vector store")
    query = call.body["query"]
    text = query if isinstance(query, str) else " ".join(query)
    obj = build(res, call, new_id=False)
    obj.update(object="vector_store.search_results.page", search_query=[text] if isinstance(query, str) else query,
               data=_search(res, [store_id], text, int(call.body.get("max_num_results") or 10)), has_more=False,
               next_page=None)
    return Answer(obj)


def vector_store_file_content(res: Resources, call: Call) -> Answer:
    store_id, file_id = call.params["vector_store_id"], call.params["file_id"]
    res.find(f"/vector_stores/{store_id}/files", file_id, "vector store file")
    obj = build(res, call, new_id=False)
    text = res.contents.get(file_id, b"").decode("utf-8", "replace")
    obj["data"] = [{"type": "text", "text": text}]
    return Answer({k: v for k, v in obj.items() if k in props_of(call.op) or k == "data"})


# -- fine-tuning events ----------------------------------------------------------------------------------
def job_created(res: Resources, call: Call, obj: JsonObj) -> None:
    now = _now()
    res.extras[f"events:{obj['id']}"] = [
        {"object": "fine_tuning.job.event", "id": "ftevent-" + res.ids.new("x")[2:], "created_at": now,
         "level": "info", "message": text, "type": "message"}
        for text in (f"Created fine-tuning job: {obj['id']}", "Validating training file",
                     "The job has successfully completed")]
    obj.setdefault("fine_tuned_model", f"ft:{obj.get('model', 'model')}:emulator::{obj['id'][-8:]}")


def job_events(res: Resources, call: Call) -> Answer:
    job_id = call.params["fine_tuning_job_id"]
    res.find("/fine_tuning/jobs", job_id, "fine-tuning job")
    return Answer(listing(res, call, list(reversed(res.extras.get(f"events:{job_id}", [])))))


# -- audio, embeddings ----------------------------------------------------------------------------------
def speech(res: Resources, call: Call) -> Answer:
    if call.body.get("response_format") == "pcm":
        return Answer(raw=_media.pcm(), content_type="audio/pcm")
    return Answer(raw=_media.speech(call.body["input"]), content_type="audio/wav")


def _heard(call: Call) -> str:
    upload = call.body.get("file")
    return _media.transcript(upload.data if isinstance(upload, Upload) else b"")


def transcription(res: Resources, call: Call) -> Answer:
    text = _heard(call)
    fmt = call.body.get("response_format", "json")
    if fmt in ("text", "srt", "vtt"):
        body = text if fmt == "text" else f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n"
        return Answer(raw=(body + "\n").encode(), content_type="text/plain; charset=utf-8")
    if str(call.body.get("stream", "")).lower() == "true":
        events: list[tuple[str | None, Any]] = [
            (None, {"type": "transcript.text.delta", "delta": piece, "logprobs": []}) for piece in _chunks(text)]
        events.append((None, {"type": "transcript.text.done", "text": text, "logprobs": [],
                              "usage": {"type": "tokens", "input_tokens": 1, "output_tokens": _tokens(text),
                                        "total_tokens": 1 + _tokens(text)}}))
        return Answer(events=events)
    obj = {"text": text}
    if fmt == "verbose_json":
        obj = {**build(res, call), "text": text}
    elif "usage" in props_of(call.op):
        obj["usage"] = {"type": "duration", "seconds": 1}
    return Answer(obj)


def translation(res: Resources, call: Call) -> Answer:
    return Answer({"text": _heard(call)})


def embeddings(res: Resources, call: Call) -> Answer:
    body = call.body
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    size = int(body.get("dimensions") or 256)
    data = []
    for index, item in enumerate(inputs):
        seed = hashlib.sha256(json.dumps(item).encode()).digest()
        values = [((seed[i % 32] + i * 37) % 200 - 100) / 100 for i in range(size)]
        vector: Any = values
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{size}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(_tokens(json.dumps(i)) for i in inputs)
    return Answer({"object": "list", "data": data, "model": body["model"],
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


HANDLERS: dict[tuple[str, str], Handler] = {
    ("post", "/chat/completions"): chat_create,
    ("get", "/chat/completions/{completion_id}/messages"): chat_messages,
    ("post", "/responses"): responses_create,
    ("get", "/responses/{response_id}"): responses_get,
    ("get", "/responses/{response_id}/input_items"): responses_input_items,
    ("post", "/conversations/{conversation_id}/items"): conversation_items_create,
    ("delete", "/conversations/{conversation_id}/items/{item_id}"): conversation_item_delete,
    ("post", "/files"): files_create,
    ("get", "/files/{file_id}/content"): file_content,
    ("post", "/uploads"): upload_create,
    ("post", "/uploads/{upload_id}/parts"): upload_part,
    ("post", "/uploads/{upload_id}/complete"): upload_complete,
    ("get", "/containers/{container_id}/files/{file_id}/content"): container_file_content,
    ("get", "/vector_stores/{vector_store_id}/file_batches/{batch_id}/files"): file_batch_files,
    ("post", "/vector_stores/{vector_store_id}/search"): vector_store_search,
    ("get", "/vector_stores/{vector_store_id}/files/{file_id}/content"): vector_store_file_content,
    ("get", "/fine_tuning/jobs/{fine_tuning_job_id}/events"): job_events,
    ("post", "/audio/speech"): speech,
    ("post", "/audio/transcriptions"): transcription,
    ("post", "/audio/translations"): translation,
    ("post", "/embeddings"): embeddings,
}

#: Run after the generic create of these collections (state beyond the object itself).
AFTER_CREATE: dict[str, Callable[[Resources, Call, JsonObj], None]] = {
    "/conversations": conversation_created,
    "/containers/{container_id}/files": container_file_created,
    "/vector_stores": vector_store_created,
    "/vector_stores/{vector_store_id}/files": vector_store_file_created,
    "/vector_stores/{vector_store_id}/file_batches": file_batch_created,
    "/fine_tuning/jobs": job_created,
}


def _documented_stream(res: Resources, call: Call) -> list[tuple[str | None, Any]]:
    """A stream for operations without a model of their own (images): one event per kind the document
    lists, the completing one last."""
    schema = _spec.resolve(call.op.response_schema("text/event-stream"))
    branches = (schema.get("oneOf") or schema.get("anyOf") or [schema]) if isinstance(schema, dict) else []
    events: list[tuple[str | None, Any]] = []
    for branch in branches:
        event = fresh(res, _synth.instance(branch))
        if isinstance(event, dict):
            events.append((event.get("type"), event))
    return events


def answer(res: Resources, call: Call) -> Answer:
    """The emulator's answer to any operation of the document."""
    handler = HANDLERS.get((call.op.method, call.op.template))
    if handler is not None:
        return handler(res, call)
    if isinstance(call.body, dict) and str(call.body.get("stream")).lower() == "true" \
            and call.op.response_schema("text/event-stream") is not None:
        return Answer(events=_documented_stream(res, call))
    result = generic(res, call)
    hook = AFTER_CREATE.get(call.op.template)
    if hook is not None and call.op.method == "post" and isinstance(result.body, dict):
        hook(res, call, result.body)
    return result
