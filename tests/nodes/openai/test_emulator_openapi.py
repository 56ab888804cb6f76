"""The emulator answers every operation of OpenAI's OpenAPI document, and every answer fits the document.

One test walks all operations over real HTTP: creates first (so later calls
use ids that exist), then reads, updates and actions, deletes last. Request
bodies are small valid instances of each operation's request schema; every
answer must be a success that validates against the operation's response
schema (or carry the documented content type when it is not JSON).
"""

from __future__ import annotations

import json
import re
from typing import Any

import _oai_spec
import aiohttp
import pytest
from _oai_common import KEY

from nodes.openai.emulator import (
    DEMO_ASSISTANT_ID,
    RunningEmulator,
    _generic,
    _spec,
    _synth,
    serve,
)

HEADERS = {"Authorization": f"Bearer {KEY}"}


def _order(op: _spec.Operation) -> tuple[int, int, str]:
    """Creates and other POSTs on collections first (parents before children), then reads and
    actions, deletes last (children before parents)."""
    action = re.search(r"/\{[^}]+\}/[a-z_]+$", op.template) is not None
    if op.method == "delete":
        return 3, -op.template.count("/"), op.template
    phase = 0 if op.method == "post" and not action and not op.template.endswith("}") else 1
    return phase, op.template.count("/"), op.template


def _form(op: _spec.Operation) -> aiohttp.FormData:
    schema = _spec.resolve(op.request_schema("multipart/form-data"))
    value = _synth.instance(schema)
    form = aiohttp.FormData()
    props = schema.get("properties", {})
    for key, item in value.items():
        sub = _spec.resolve(props.get(key, {}))
        if isinstance(sub, dict) and (sub.get("format") == "binary" or "binary" in json.dumps(sub)[:400]):
            form.add_field(key, b"RIFF....WAVE", filename="a.wav", content_type="audio/wav")
        elif isinstance(item, (dict, list)):
            form.add_field(key, json.dumps(item))
        else:
            form.add_field(key, str(item).lower() if isinstance(item, bool) else str(item))
    return form


async def _call(http: aiohttp.ClientSession, base: str, op: _spec.Operation,
                ids: dict[str, str]) -> tuple[int, str, Any, Any]:
    path = op.template
    for name in op.params:
        collection = op.template.split("/{" + name + "}")[0]
        path = path.replace("{" + name + "}", ids.get(collection, f"{name}_unknown"))
    kwargs: dict[str, Any] = {}
    types = op.request_types()
    if "application/json" in types:
        body = _synth.instance(op.request_schema("application/json"))
        if isinstance(body, dict):
            props = _generic.properties(json.dumps(op.request_schema("application/json"), sort_keys=True))
            body.update({k: v for k, v in _FILL.items() if k in props})
        kwargs["json"] = body
    elif "multipart/form-data" in types:
        kwargs["data"] = _form(op)
    elif types:
        kwargs["data"] = b"v=0"
        kwargs["headers"] = {"Content-Type": types[0]}
    async with http.request(op.method.upper(), base + path, **kwargs) as response:
        raw = await response.read()
        kind = response.headers.get("Content-Type", "")
        return response.status, kind, json.loads(raw) if "json" in kind and raw else raw, kwargs.get("json")


def _remember(op: _spec.Operation, body: Any, ids: dict[str, str], sent: Any) -> None:
    """After a create, later calls use the new object's address (by collection template) in their paths."""
    if op.method != "post" or op.template.endswith("}") or not isinstance(body, dict):
        return
    if isinstance(body.get("data"), list) and body["data"] and isinstance(body["data"][0], dict):
        body = body["data"][0]  # created several (conversation items)
    item = next((o for o in _spec.operations() if o.method == "get" and o.template.startswith(op.template + "/{")
                 and o.template.count("/") == op.template.count("/") + 1), None)
    key = item.params[-1] if item is not None else "id"
    candidates = [sent.get(key) if isinstance(sent, dict) and key != "id" else None, body.get(key), body.get("id")]
    address = next((a for a in candidates if isinstance(a, str) and a), None)
    if isinstance(address, str) and op.template not in ids:
        ids[op.template] = address


#: Values that make the synthesised requests meaningful: a real assistant, completions that are stored.
_FILL: dict[str, Any] = {"assistant_id": DEMO_ASSISTANT_ID, "store": True, "file_ids": ["file-emulated"],
                         "role_id": "role_emulated", "user_id": "user_emulated", "group_id": "group_emulated",
                         "items": [{"type": "message", "role": "user", "content": "hello"}]}
#: Assistants run actions need a run in a given state (waiting for tool outputs, with steps): test_emulator.py
#: drives those through the run engine; here a fresh run is merely queued.
_NEEDS_RUN_STATE = {"/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
                    "/threads/{thread_id}/runs/{run_id}/steps/{step_id}"}


def _request_is_valid(op: _spec.Operation) -> bool:
    schema = op.request_schema("application/json")
    return schema is None or _spec.validator(schema).is_valid(_synth.instance(schema))


async def test_every_operation_answers_per_the_document() -> None:
    failures: list[str] = []
    async with serve(api_key=KEY, demo=True, run_latency=60) as emu, aiohttp.ClientSession(headers=HEADERS) as http:
        ids: dict[str, str] = {}
        for op in sorted(_spec.operations(), key=_order):
            status, kind, body, sent = await _call(http, emu.base_url, op, ids)
            where = f"{op.method.upper()} {op.template}"
            if (status == 400 and not _request_is_valid(op)) or op.template in _NEEDS_RUN_STATE:
                continue  # the document's own schema admits no small instance we can build; a 400 is right
            if status != 200:
                failures.append(f"{where}: {status} {str(body)[:200]}")
                continue
            _remember(op, body, ids, sent)
            schema = op.response_schema()
            if "json" in kind:
                if schema is None:
                    failures.append(f"{where}: JSON answer where the document has none")
                    continue
                errors = list(_spec.validator(schema).iter_errors(body))
                if errors:
                    failures.append(f"{where}: {errors[0].message[:200]} at {list(errors[0].absolute_path)}")
            elif op.response_types() and kind.split(";")[0] not in op.response_types() + ["audio/wav", "text/plain"]:
                failures.append(f"{where}: content type {kind}, documented {op.response_types()}")
    assert not failures, "\n".join(failures)
    assert len(_spec.operations()) > 250


def test_the_test_validator_and_the_emulator_read_the_same_document() -> None:
    assert _oai_spec.spec() is _spec.document()


@pytest.mark.parametrize(("payload", "param"), [
    ({"model": "m"}, "messages"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": "2"}, "n"),
])
async def test_bad_bodies_get_openai_400s(payload: dict[str, Any], param: str) -> None:
    async with serve() as emu, aiohttp.ClientSession() as http:
        async with http.post(emu.base_url + "/chat/completions", json=payload) as response:
            body = await response.json()
    assert response.status == 400
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["param"] == param
    assert body["error"]["type"] == "invalid_request_error"


async def test_unknown_ids_of_stateful_resources_are_404s(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession(headers=HEADERS) as http:
        async with http.get(emu.base_url + "/vector_stores/vs_nope") as response:
            body = await response.json()
    assert response.status == 404 and "vs_nope" in body["error"]["message"]
