"""flows/openai-webhook.yaml run as its comments run it: signed deliveries over real HTTP, verified before acting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable

import httpx2
from _flowproc import ROOT, Process

SECRET = "whsec_" + base64.b64encode(b"flowwire-webhook-test-secret-32b").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"someone-else-entirely-32-bytes!!").decode()


def _delivery(event_type: str, response_id: str, *, secret: str = SECRET, age: int = 0) -> tuple[bytes, dict[str, str]]:
    """A body and headers signed as OpenAI signs them (Standard Webhooks). The body is pretty-printed
    JSON: re-serialising it would change the bytes, so only the raw body verifies."""
    body = json.dumps({"id": f"evt_{response_id}", "object": "event", "type": event_type,
                       "created_at": int(time.time()), "data": {"id": response_id}}, indent=2).encode()
    msg_id, stamp = f"msg_{response_id}", str(int(time.time()) - age)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return body, {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
                  "webhook-signature": "v1," + base64.b64encode(digest).decode()}


def test_only_verified_deliveries_are_acted_on(spawn: Callable[..., Process]) -> None:
    # PYTHONPATH: this checkout's nodes, whichever checkout the installed `flowwire` script was built from
    flow: Process = spawn("run", "flows/openai-webhook.yaml",
                          env={"PORT": "0", "OPENAI_WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(ROOT)})
    line = flow.wait_for(lambda line: "HTTP server listening on" in line, timeout=60, what="the server")
    base = re.search(r"listening on (\S+)", line).group(1)  # type: ignore[union-attr]
    with httpx2.Client(base_url=base, timeout=30) as client:
        def post(body: bytes, headers: dict[str, str]) -> httpx2.Response:
            return client.post("/openai/webhook", content=body, headers=headers)

        def acted_on() -> list[str]:
            return client.get("/openai/webhook/events").json()

        assert acted_on() == []
        signed = post(*_delivery("response.completed", "resp_good"))
        assert signed.status_code == 200 and signed.json() == {"received": True}, signed.text
        assert acted_on() == ["resp_good"]
        flow.wait_for(lambda line: "resp_good" in line, timeout=10, what="the debug line for resp_good")

        other = post(*_delivery("response.failed", "resp_failed"))
        assert other.status_code == 200, other.text

        forged = post(*_delivery("response.completed", "resp_forged", secret=OTHER_SECRET))
        stale = post(*_delivery("response.completed", "resp_stale", age=600))
        body, headers = _delivery("response.completed", "resp_tampered")
        tampered = post(body.replace(b"resp_tampered", b"resp_tampere2"), headers)
        unsigned = client.post("/openai/webhook", json={"type": "response.completed", "data": {"id": "resp_unsigned"}})

        for refused in (forged, stale, tampered, unsigned):
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"].startswith("webhook refused: ")
        assert "signature" in forged.json()["error"] and "too old" in stale.json()["error"]
        assert acted_on() == ["resp_good"]
    assert flow.interrupt() == 0, flow.output
    for never in ("resp_failed", "resp_forged", "resp_stale", "resp_tampere", "resp_unsigned"):
        assert f"payload.data.id: {never}" not in flow.output
    assert SECRET.removeprefix("whsec_") not in flow.output
    assert "Traceback" not in flow.output, flow.output
