"""The runtime's HTTP server: health probes, /metrics (parsed with prometheus_client's parser), readiness."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from _mosquitto import make_certs
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

import nodes.http  # noqa: F401  (the family, even where the installed entry points predate it)
from runtime import ConfigNode, FlowError, Node, register
from runtime.testing import run_flow, wait_until

SERVER = {"uiPort": 0, "uiHost": "127.0.0.1"}


@register("test-link-config")
class LinkConfig(ConfigNode):
    """A config node whose readiness a test switches (as a broker connection would)."""

    connected = False

    @property
    def ready(self) -> bool:
        return self.connected


class _Collector:
    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("family_widgets", "Widgets a node family counts.", value=7)


@register("test-metric-node")
class MetricNode(Node):
    """Publishes a family metric through the public hook."""

    collector = _Collector()

    async def start(self) -> None:
        self.http.add_collector(self.collector)

    async def close(self) -> None:
        self.http.remove_collector(self.collector)


@register("test-window-source")
class WindowSource(Node):
    """Emits five messages at start with a window of two: the flow below holds each one for a while."""

    window = 2

    async def start(self) -> None:
        self.spawn(self.run())

    async def run(self) -> None:
        for i in range(5):
            await self.emit({"payload": i})


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _node(name: str, node_id: str, node_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, (("flow", ""), ("node", node_id), ("type", node_type))


async def test_metrics_count_messages_in_out_and_errors_per_node() -> None:
    flow_doc = {
        "settings": {**SERVER, "metrics": True},
        "nodes": [
            {"id": "set", "type": "change", "rules": [{"t": "set", "p": "hop", "pt": "msg", "to": "1", "tot": "num"}], "wires": [["sink"]]},
            {"id": "fan", "type": "change", "rules": [], "wires": [["sink", "boom"]]},
            {"id": "boom", "type": "function", "func": "raise ValueError('no')"},
            {"id": "sink", "type": "test-sink"},
            {"id": "family", "type": "test-metric-node"},
        ],
    }
    async with run_flow(flow_doc) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        for i in range(25):
            flow.deliver("set", {"payload": i})
        for i in range(4):
            flow.deliver("fan", {"payload": i})
        await flow.received("sink", 29)
        await flow.idle()
        response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[_node("flowwire_node_messages_in_total", "set", "change")] == 25
    assert samples[_node("flowwire_node_messages_out_total", "set", "change")] == 25
    assert samples[_node("flowwire_node_messages_out_total", "fan", "change")] == 4
    assert samples[_node("flowwire_node_messages_in_total", "sink", "test-sink")] == 29
    assert samples[_node("flowwire_node_messages_in_total", "boom", "function")] == 4
    assert samples[_node("flowwire_node_errors_total", "boom", "function")] == 4
    assert samples[_node("flowwire_node_errors_total", "set", "change")] == 0
    assert samples[_node("flowwire_node_handler_seconds_count", "set", "change")] >= 1, "the first calls are sampled"
    assert samples[("flowwire_messages_in_flight", ())] == 0
    assert samples[("flowwire_ready", ())] == 1
    assert samples[("family_widgets", ())] == 7, "a family's own collector is published"
    assert ("process_resident_memory_bytes", ()) in samples


async def test_http_requests_are_counted_by_status() -> None:
    flow_doc = {
        "settings": {**SERVER, "metrics": True},
        "nodes": [
            {"id": "in", "type": "http in", "url": "/ok", "wires": [["out"]]},
            {"id": "out", "type": "http response"},
        ],
    }
    async with run_flow(flow_doc) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        for _ in range(3):
            assert (await client.get("/ok")).status_code == 200
        assert (await client.get("/missing")).status_code == 404
        samples = _samples((await client.get("/metrics")).text)
    assert samples[("flowwire_http_requests_total", (("method", "GET"), ("status", "200")))] == 3
    assert samples[("flowwire_http_requests_total", (("method", "GET"), ("status", "404")))] == 1


async def test_no_metrics_endpoint_unless_the_setting_is_on() -> None:
    async with run_flow({"settings": {**SERVER, "health": True}, "nodes": []}) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/health/live")).json() == {"status": "ok"}


async def test_ready_waits_for_config_nodes_to_connect() -> None:
    flow_doc = {"settings": {**SERVER, "health": True}, "nodes": [{"id": "link", "type": "test-link-config"}]}
    async with run_flow(flow_doc) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        waiting = await client.get("/health/ready")
        assert waiting.status_code == 503
        assert waiting.json() == {"status": "not ready", "waiting": ["test-link-config:link"]}
        flow.node("link").connected = True
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/health/live")).status_code == 200


async def test_not_ready_while_draining_for_shutdown() -> None:
    """A message held by a delay keeps the drain going; meanwhile ready is 503 and live stays 200."""
    flow_doc = {
        "settings": {**SERVER, "health": True},
        "nodes": [
            {"id": "wait", "type": "delay", "pauseType": "delay", "timeout": "1.5", "timeoutUnits": "seconds", "wires": [["sink"]]},
            {"id": "sink", "type": "test-sink"},
        ],
    }
    async with run_flow(flow_doc) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/health/ready")).status_code == 200
        await flow.inject("wait", {"payload": 1})
        stopping = asyncio.ensure_future(flow.runtime.stop())
        await wait_until(lambda: flow.runtime.draining, what="draining")
        during = await client.get("/health/ready")
        assert during.status_code == 503 and during.json()["status"] == "draining"
        assert (await client.get("/health/live")).status_code == 200
        assert flow.node("sink").messages == [], "the held message is still draining"
        await stopping
        assert len(flow.node("sink").messages) == 1
        assert not flow.runtime.http.running


async def test_admin_root_moves_the_builtin_endpoints() -> None:
    flow_doc: dict[str, Any] = {"settings": {**SERVER, "health": True, "metrics": True, "httpAdminRoot": "/admin"}, "nodes": []}
    async with run_flow(flow_doc) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        assert (await client.get("/admin/health/live")).status_code == 200
        assert (await client.get("/admin/metrics")).status_code == 200
        assert (await client.get("/health/live")).status_code == 404


async def test_a_source_slowed_by_its_window_reports_the_time_it_waited() -> None:
    flow_doc = {
        "settings": {**SERVER, "metrics": True},
        "nodes": [
            {"id": "src", "type": "test-window-source", "wires": [["wait"]]},
            {"id": "wait", "type": "delay", "pauseType": "delay", "timeout": "0.1", "timeoutUnits": "seconds", "wires": [["sink"]]},
            {"id": "sink", "type": "test-sink"},
        ],
    }
    async with run_flow(flow_doc) as flow, httpx2.AsyncClient(base_url=flow.runtime.http.url) as client:
        await flow.received("sink", 5)
        samples = _samples((await client.get("/metrics")).text)
    waited = samples[_node("flowwire_source_backpressure_seconds_total", "src", "test-window-source")]
    assert 0.1 <= waited < 5, waited


async def test_https_serves_with_the_configured_certificate(tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs")
    flow_doc = {"settings": {**SERVER, "health": True, "https": {"key": "certs/server.key", "cert": "certs/server.crt"}}, "nodes": []}
    async with run_flow(flow_doc, base_dir=tmp_path) as flow:
        url = flow.runtime.http.url
        assert url is not None and url.startswith("https://")
        async with httpx2.AsyncClient(base_url=url, verify=ssl.create_default_context(cafile=str(certs.ca))) as client:
            assert (await client.get("/health/live")).status_code == 200


async def test_an_unreadable_certificate_is_a_located_problem(tmp_path: Path) -> None:
    flow_doc = {"settings": {**SERVER, "health": True, "https": {"key": "missing.key", "cert": "missing.crt"}}, "nodes": []}
    with pytest.raises(FlowError) as caught:
        async with run_flow(flow_doc, base_dir=tmp_path):
            pass
    [problem] = caught.value.problems
    assert problem.field == "settings.https" and "cannot load the certificate or key" in problem.message
