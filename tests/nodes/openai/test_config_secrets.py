"""openai-config never lets an API key reach an error, a msg or a log line, in any encoding."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yarl

from nodes.openai.emulator import RunningEmulator, serve
from runtime import FlowError, cli
from runtime.secrets import RedactingFilter, scrub
from runtime.testing import build, run_flow

ENV_KEY = "sk-proj-Abc123_realistic-LOOKING-key-0000"


def _query_key(tag: str) -> str:
    """A key as some gateways issue them (base64: `+`, `/` and `=` change under URL encoding); one per test,
    as the registry of secrets outlives a test and a key masked because another test registered it proves
    nothing."""
    return f"sk-{tag}+Zm9v/YmFy+cXV4=="


BASE64_KEY = _query_key("validation")


def _forms(key: str) -> list[str]:
    """The key as it can appear in text: raw, URL-encoded by each library in play, JSON-escaped."""
    return [key, urllib.parse.quote(key), urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key),
            re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(key, safe="")),
            str(yarl.URL("http://h/").with_query(k=key)).split("k=")[1],
            json.dumps(key)[1:-1].replace("/", "\\/")]


def _leaks(text: str, key: str) -> list[str]:
    return [form for form in _forms(key) if form in text]


# -- item 1: `api_key: ${OPENAI_API_KEY}` with the default type `env` -------------------------------------


def _cfg_yaml(tmp_path: Path, *extra: str) -> Path:
    """The natural hand-written flow: the key substituted from the environment (on line 5)."""
    path = tmp_path / "flow.yaml"
    lines = ["nodes:", "  - id: cfg", "    type: openai-config", "    emulator: never",
             "    api_key: ${OPENAI_API_KEY}", *(f"    {line}" for line in extra),
             "  - {id: n, type: openai-runs, service: cfg, method: createThreadAndRun}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_validate_refuses_a_substituted_key_where_a_variable_name_belongs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    path = _cfg_yaml(tmp_path)
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)  # keep pytest's log capture
    with pytest.raises(SystemExit) as exited:
        cli.main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert exited.value.code == 2
    [line] = [ln for ln in err.splitlines() if "field 'api_key'" in ln]
    assert line.startswith(f"  {path}:5: node 'cfg': field 'api_key': api_key_type is 'env', so api_key must name "
                           "an environment variable (e.g. OPENAI_API_KEY)")
    assert "set api_key_type: str or cred" in line
    assert not _leaks(out + err, ENV_KEY) and ENV_KEY[:12] not in out + err


def test_the_same_flow_is_accepted_with_api_key_type_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    path = _cfg_yaml(tmp_path, "api_key_type: str")
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)
    assert cli.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


@pytest.mark.parametrize(("kind", "key"), [
    ("env", ENV_KEY),
    ("env", "0123456789abcdef0123456789abcdef"),    # a hex key: no `sk-`, but not a variable name
    ("env", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"),    # ... even one that happens to fit [A-Za-z_][A-Za-z0-9_]*
    ("file", ENV_KEY),
    ("msg", BASE64_KEY),
    ("msg", ENV_KEY),
    ("flow", ENV_KEY),
    ("global", BASE64_KEY),
])
def test_build_names_node_and_field_and_never_the_key(kind: str, key: str) -> None:
    flow = [{"id": "cfg", "type": "openai-config", "api_key": "${THE_KEY}", "api_key_type": kind}]
    with pytest.raises(FlowError) as raised:
        build(flow, env={"THE_KEY": key})
    [problem] = raised.value.problems
    assert (problem.node_id, problem.field) == ("cfg", "api_key")
    assert f"api_key_type is {kind!r}" in problem.message
    assert not _leaks(str(raised.value), key) and key[:10] not in str(raised.value)


@pytest.mark.parametrize(("kind", "reference"), [
    ("env", "OPENAI_API_KEY"), ("env", "tenant_7_key"), ("env", "SK_API_KEY"), ("file", "secrets/openai.key"),
    ("file", "sk-openai.key"),
    ("file", "/run/secrets/openai-api-key-production"), ("msg", "apiKey"), ("msg", "msg.headers['x-api-key']"),
    ("flow", "keys.openai"), ("global", "#:(file)::openaiKey"),
])
def test_plausible_references_are_accepted(kind: str, reference: str) -> None:
    build([{"id": "cfg", "type": "openai-config", "api_key": reference, "api_key_type": kind}])


# -- item 2: a key sent as a query parameter, in any encoding ----------------------------------------------


class _Log:
    """The log as an operator sees it: every record through the CLI's redacting filter, transport debug on."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(RedactingFilter())
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def log() -> Iterator[_Log]:
    captured = _Log()
    root, transport = logging.getLogger(), logging.getLogger("httpx2")
    saved = root.level, transport.level
    root.addHandler(captured.handler)
    root.setLevel(logging.DEBUG)
    transport.setLevel(logging.DEBUG)  # an operator chasing a problem: this line carries the full URL
    yield captured
    root.removeHandler(captured.handler)
    root.setLevel(saved[0])
    transport.setLevel(saved[1])


@pytest.fixture
async def gateway() -> AsyncIterator[RunningEmulator]:
    """The emulator as a gateway that wants its key in the `key` query parameter."""
    async with serve(api_key="sk-the-right-one", auth_query="key") as running:
        yield running


def _query_flow(base_url: str, transport: str, **cfg: Any) -> list[dict[str, Any]]:
    return [
        {"id": "cfg", "type": "openai-config", "base_url": base_url, "key_header": "key", "key_in_query": True,
         "max_retries": 0, "transport": transport, "api_key_type": "str", **cfg},
        {"id": "n", "type": "openai-runs", "service": "cfg", "method": "createThreadAndRun", "wires": [["out"]]},
        {"id": "c", "type": "catch", "scope": ["n"], "wires": [["err"]]},
        {"id": "out", "type": "test-sink"},
        {"id": "err", "type": "test-sink"},
    ]


async def _caught(flow: list[dict[str, Any]], msg: dict[str, Any]) -> dict[str, Any]:
    """The msg the catch node passes on after `msg` went to the OpenAI node."""
    async with run_flow(flow) as f:
        await f.inject("n", msg)
        [caught] = await f.received("err", timeout=10)
    return caught


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_rejected_query_key_is_in_no_error_and_no_log_line(
        gateway: RunningEmulator, log: _Log, transport: str) -> None:
    key = _query_key(f"static-{transport}")
    caught = await _caught(_query_flow(gateway.base_url, transport, api_key=key), {"payload": {"assistant_id": "asst_x"}})
    assert caught["error"]["status"] == 401 and caught["error"]["code"] == "invalid_api_key"
    sent = [r for r in gateway.emulator.requests if r.path == "/v1/threads/runs"]
    assert sent, "the request reached the gateway"
    # The transport logged the request URL, key and all: masked, in the encoding it used.
    assert re.search(r"HTTP Request: POST http://127\.0\.0\.1:\d+/v1/threads/runs\?key=\*\*\* ", log.text), log.text
    assert not _leaks(json.dumps(caught, default=str), key)
    assert not _leaks(log.text, key)


async def test_a_per_message_query_key_is_in_no_error_and_no_log_line(gateway: RunningEmulator, log: _Log) -> None:
    key = _query_key("per-message")
    flow = _query_flow(gateway.base_url, "httpx", api_key="apiKey", api_key_type="msg")
    caught = await _caught(flow, {"payload": {"assistant_id": "asst_x"}, "apiKey": key})
    assert caught["error"]["status"] == 401 and "apiKey" not in caught
    assert "?key=***" in log.text
    assert not _leaks(json.dumps(caught, default=str), key) and not _leaks(log.text, key)


@pytest.fixture
async def broken_gateway() -> AsyncIterator[str]:
    """A gateway answering with a malformed header: aiohttp's error then quotes the whole request URL."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nnot a header line\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_key_from_the_environment_quoted_in_a_transport_error_is_masked(
        broken_gateway: str, log: _Log, monkeypatch: pytest.MonkeyPatch) -> None:
    key = _query_key("from-env")
    monkeypatch.setenv("FLOWWIRE_TEST_GATEWAY_KEY", key)
    flow = _query_flow(broken_gateway, "aiohttp", api_key="FLOWWIRE_TEST_GATEWAY_KEY", api_key_type="env")
    caught = await _caught(flow, {"payload": {"assistant_id": "asst_x"}})
    message = caught["error"]["message"]
    assert "/v1/threads/runs?key=***" in message, message  # the URL is there; the key is not
    assert not _leaks(json.dumps(caught, default=str), key)
    assert not _leaks(log.text, key)


async def test_credential_headers_and_a_password_in_the_base_url_are_secrets(gateway: RunningEmulator) -> None:
    flow = _query_flow(gateway.base_url.replace("http://", "http://svc:pass-in-url-42@"), "httpx",
                       api_key=_query_key("headers"), headers={"api-key": "hdr-secret-0042", "X-Trace": "trace-0042"})
    async with run_flow(flow):
        assert scrub("hdr-secret-0042 pass-in-url-42 trace-0042") == "*** *** trace-0042"
