"""OpenAI calls, errors and latency per method on the runtime's /metrics, against the emulator over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx2
from _oai_flow import config
from prometheus_client.parser import text_string_to_metric_families

from nodes.openai.emulator import RunningEmulator
from runtime.testing import Flow, run_flow

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
EMBED = {"model": "text-embedding-3-small", "input": "hello"}


def _flow(emu: RunningEmulator) -> dict[str, Any]:
    return {
        "settings": {"uiPort": 0, "uiHost": "127.0.0.1", "metrics": True},
        "nodes": [
            config(emu),
            {"id": "chat", "type": "openai-api", "service": "cfg", "method": "createChatCompletion", "wires": [["out"]]},
            {"id": "embed", "type": "openai-api", "service": "cfg", "method": "createEmbedding", "wires": [["out"]]},
            {"id": "out", "type": "test-sink"},
            {"id": "c", "type": "catch", "wires": [["errs"]]},
            {"id": "errs", "type": "test-sink"},
        ],
    }


async def _call(flow: Flow, node: str, payload: dict[str, Any]) -> None:
    """One call, answered, before the next: the counts then follow from the calls alone."""
    await flow.inject(node, {"payload": payload})
    await flow.received("out", 1)
    flow.node("out").messages.clear()


async def _scrape(flow: Flow) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_calls_errors_and_latency_are_counted_per_method(emu: RunningEmulator) -> None:
    async with run_flow(_flow(emu)) as flow:
        for _ in range(3):
            await _call(flow, "chat", CHAT)
        for _ in range(2):
            await _call(flow, "embed", EMBED)
        emu.emulator.fail_next(500, "The server had an error.")
        await flow.inject("embed", {"payload": EMBED})
        [failed] = await flow.received("errs", 1)
        await flow.inject("chat", {"payload": {"model": "gpt-4o-mini"}})  # invalid: nothing is sent, so no call
        [_, invalid] = await flow.received("errs", 2)
        samples = await _scrape(flow)
    assert failed["error"]["status"] == 500 and invalid["error"]["code"] == "invalid_payload"
    calls = {labels: value for (name, labels), value in samples.items() if name == "flowwire_openai_calls_total"}
    assert calls == {(("method", "createChatCompletion"),): 3, (("method", "createEmbedding"),): 3}
    errors = {labels: value for (name, labels), value in samples.items() if name == "flowwire_openai_errors_total"}
    assert errors == {(("method", "createEmbedding"), ("type", "server_error")): 1}
    assert samples[("flowwire_openai_call_seconds_count", (("method", "createChatCompletion"),))] == 3
    assert samples[("flowwire_openai_call_seconds_count", (("method", "createEmbedding"),))] == 3
    assert samples[("flowwire_openai_call_seconds_bucket", (("le", "+Inf"), ("method", "createEmbedding")))] == 3
    assert 0 < samples[("flowwire_openai_call_seconds_sum", (("method", "createChatCompletion"),))] < 60


async def test_counts_survive_a_deploy_and_families_appear_once(emu: RunningEmulator) -> None:
    async with run_flow(_flow(emu)) as flow:
        await _call(flow, "chat", CHAT)
        await flow.runtime.deploy(flow.runtime.graph)
        await _call(flow, "chat", CHAT)
        async with httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
            text = (await client.get("/metrics")).text
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "flowwire_openai_calls"]  # two nodes, one family
    [sample] = [s for s in family.samples if s.name.endswith("_total")]
    assert sample.labels == {"method": "createChatCompletion"} and sample.value == 2
