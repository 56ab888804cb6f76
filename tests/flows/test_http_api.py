"""flows/http-api.yaml run as the README runs it: a REST API over real HTTP, the OpenAI route answered offline."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx2
from _flowproc import Process


def _start(spawn: Callable[..., Process]) -> tuple[Process, str]:
    flow = spawn("run", "flows/http-api.yaml", env={"PORT": "0"})
    line = flow.wait_for(lambda line: "HTTP server listening on" in line, timeout=60, what="the server")
    return flow, re.search(r"listening on (\S+)", line).group(1)  # type: ignore[union-attr]


def test_notes_crud_health_metrics_and_the_assistant_route(spawn: Callable[..., Process]) -> None:
    flow, base = _start(spawn)
    with httpx2.Client(base_url=base, timeout=30) as client:
        assert client.get("/health/ready").status_code == 200
        created = client.post("/api/notes", json={"text": "buy milk"})
        assert created.status_code == 201 and created.headers["location"] == "/api/notes/1"
        assert created.json() == {"id": 1, "text": "buy milk"}
        assert client.post("/api/notes", json={"nothing": 1}).status_code == 400
        assert client.get("/api/notes").json() == [{"id": 1, "text": "buy milk"}]
        assert client.get("/api/notes/1").json() == {"id": 1, "text": "buy milk"}
        assert client.delete("/api/notes/1").status_code == 204
        assert client.get("/api/notes/1").status_code == 404

        asked = client.post("/api/ask", json={"question": "What is the weather in Oslo?"})
        assert asked.status_code == 200, asked.text
        assert asked.json()["question"] == "What is the weather in Oslo?"
        assert "Oslo" in asked.json()["answer"]

        metrics = client.get("/metrics").text
        assert re.search(r'flowwire_node_messages_in_total\{[^}]*node="respond"[^}]*\} 7\.0', metrics), metrics
    assert flow.interrupt() == 0, flow.output
    assert "OFFLINE: OpenAI calls go to the built-in emulator" in flow.output
    assert "Traceback" not in flow.output, flow.output
