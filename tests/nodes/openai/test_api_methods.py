"""Every method of the table through the real node, the SDK and HTTP, against the emulator.

One parametrized test per row: the payload of `_oai_payloads.PAYLOADS` (after
creating the objects it names), sent through an `openai-api` node; the answer
must reach the output, be plain data of the kind the SDK's signature promises
(bytes, a list page, an object), and parse with the SDK's own return type.
And for every row: a payload with a wrong property is a node error naming
the method and the property, caught by `catch`, with no request sent.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import openai
import pytest
from _oai_common import KEY
from _oai_flow import config, one_node
from _oai_payloads import PAYLOADS, SETUP
from pydantic import BaseModel, TypeAdapter

from nodes.openai._methods import METHODS, Method
from nodes.openai._params import params_of, sdk_function, traits
from nodes.openai.emulator import RunningEmulator
from runtime.testing import wait_until

# runs: test_runs_node.py; the Responses WebSocket (a connection, not a call): test_api_kinds.py
CALLABLE = [m for m in METHODS if not m.unavailable and m.service != "runs" and not m.socket]


def test_every_callable_method_has_a_payload() -> None:
    assert {m.name for m in CALLABLE} == set(PAYLOADS)


async def _resolve(value: Any, client: openai.AsyncOpenAI, tmp: Path, made: dict[str, Any]) -> Any:
    async def need(name: str) -> Any:
        if name not in made:
            made[name] = await SETUP[name](client, need, tmp)
        return made[name]

    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in SETUP:
        return await need(value[1:-1])
    if isinstance(value, dict):
        return {k: await _resolve(v, client, tmp, made) for k, v in value.items()}
    if isinstance(value, list):
        return [await _resolve(v, client, tmp, made) for v in value]
    return value


def _sdk_types(method: Method) -> Any:
    """What the SDK would have built from the answer: its return type (items for lists)."""
    returned = typing.get_type_hints(sdk_function(method))["return"]
    if traits(method).paginated:
        return typing.get_args(returned)[0]
    models = [t for t in typing.get_args(returned) or (returned,) if isinstance(t, type) and issubclass(t, BaseModel)]
    return typing.Union[tuple(models)] if len(models) > 1 else models[0] if models else None  # noqa: UP007


@pytest.mark.parametrize("method", CALLABLE, ids=lambda m: m.name)
async def test_method_through_the_node(method: Method, emu: RunningEmulator, client: openai.AsyncOpenAI,
                                       tmp_path: Path) -> None:
    payload = await _resolve(PAYLOADS[method.name], client, tmp_path, {})
    kind = traits(method)
    before = emu.emulator.request_count
    async with one_node(emu, method.name, node_type="openai-api") as flow:
        await flow.inject("n", {"payload": payload, "topic": "kept"})
        outs, errors = flow.node("out").messages, flow.node("errs").messages
        streamed = method.force_stream or payload.get("stream") is True
        await wait_until(lambda: errors or (outs and (not streamed or outs[-1]["openai"].get("done"))), timeout=10)
        assert not errors, errors[0]["error"]["message"]
        out = outs[-1]  # a stream's last msg holds what it built
    result = out["payload"]
    assert out["topic"] == "kept" and out["openai"]["method"] == method.name
    if kind.local:
        assert emu.emulator.request_count == before  # nothing sent
    else:
        assert emu.emulator.request_count > before
    if kind.binary:
        assert isinstance(result, bytes) and result and out["openai"]["content_type"]
        return
    json.dumps(result)  # plain data only
    expected = _sdk_types(method)
    if kind.paginated:
        assert isinstance(result, list)
        for item in result:
            TypeAdapter(expected).validate_python(item)
    elif kind.returns_none:
        assert result == {**{i: payload[i] for i in method.ids}, **method.none_result} or result.get("deleted")
    elif expected is not None and isinstance(result, dict):
        TypeAdapter(expected).validate_python(result)
    else:
        assert isinstance(result, (dict, str)) and result


def _bad(method: Method) -> tuple[dict[str, Any], str]:
    """A payload with one wrong property: a misspelt one, or (if the method has parameters) a wrong type."""
    if method.socket:
        return {"action": "connect"}, "connection_id"
    params = params_of(method)
    if not params:
        return {"limt": 1}, "limt"
    name, param = next(iter(params.items()))
    if param.location == "path":
        return {name: 42}, name
    return {"zz_not_a_parameter": 1}, "zz_not_a_parameter"


@pytest.mark.parametrize("method", [m for m in METHODS if not m.unavailable], ids=lambda m: m.name)
async def test_bad_payload_is_a_node_error_and_nothing_is_sent(method: Method, emu: RunningEmulator) -> None:
    payload, field = _bad(method)
    node_type = "openai-runs" if method.service == "runs" else "openai-api"
    async with one_node(emu, method.name, node_type=node_type) as flow:
        before = emu.emulator.request_count
        await flow.inject("n", {"payload": payload})
        [err] = await flow.received("errs", 1, timeout=10)
        assert emu.emulator.request_count == before and not flow.node("out").messages
    error = err["error"]
    assert error["method"] == method.name and error["code"] == "invalid_payload"
    assert error["message"].startswith(f"{method.name}: ") and field in error["message"]
    assert error["param"] == field or any(p["property"] == field for p in error["problems"])


async def test_assistant_file_leftovers_are_validation_errors_naming_the_node(emu: RunningEmulator) -> None:
    from runtime import FlowError

    for name in ("listAssistantFiles", "createAssistantFile", "getAssistantFile", "deleteAssistantFile"):
        with pytest.raises(FlowError) as err:
            async with one_node(emu, name, node_type="OpenAI API"):
                pass
        text = str(err.value)
        assert "'n'" in text or '"n"' in text or "n:" in text, text
        assert f"{name} has no API behind it" in text and "Assistants v1" in text


@pytest.fixture
def cfg(emu: RunningEmulator) -> dict[str, Any]:
    return config(emu, api_key=KEY)
