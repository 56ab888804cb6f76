"""runtime.secrets: every encoding of a secret is masked, per-message secrets are bounded, scrub stays one pass."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import urllib.parse

import httpx2
import pytest
import yarl

from runtime.secrets import RedactingFilter, SecretRegistry, redact, scrub

KEY = "sk-a+b/c=d+e/f==Z9"


def _encodings(value: str) -> dict[str, str]:
    """`value` as real encoders write it: URL libraries, JSON, base64, HTTP basic auth."""
    basic = httpx2.BasicAuth("bob", value).auth_flow(httpx2.Request("GET", "http://h/"))
    authorization = next(basic).headers["Authorization"].removeprefix("Basic ")
    query = str(httpx2.URL("http://h/v1", params={"key": value}))
    return {
        "raw": value,
        "quote": urllib.parse.quote(value),  # `/` left alone
        "quote safe=''": urllib.parse.quote(value, safe=""),
        "quote_plus": urllib.parse.quote_plus(value),
        "lower-case hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(value, safe="")),
        "yarl (aiohttp)": str(yarl.URL("http://h/v1").with_query(key=value)).split("key=", 1)[1],
        "httpx2": query.split("key=", 1)[1],
        "json": json.dumps(value)[1:-1],
        "json with \\/": json.dumps(value)[1:-1].replace("/", "\\/"),
        "base64": base64.b64encode(value.encode()).decode(),
        "base64 url-safe": base64.urlsafe_b64encode(value.encode()).decode(),
        "base64 in a query": urllib.parse.quote(base64.b64encode(value.encode()).decode(), safe=""),
        "basic auth header": authorization,
    }


@pytest.mark.parametrize("name", list(_encodings(KEY)))
def test_every_encoding_of_a_secret_is_masked(name: str) -> None:
    registry = SecretRegistry()
    registry.add(KEY, user="bob")
    encoded = _encodings(KEY)[name]
    cleaned = registry.scrub(f"GET http://h/v1?key={encoded}&limit=20 failed")
    assert cleaned.startswith("GET http://h/v1?key=***") and cleaned.endswith("&limit=20 failed")
    for form in _encodings(KEY).values():
        assert form.rstrip("=") not in cleaned


def test_mixed_encodings_and_non_ascii_secrets() -> None:
    registry = SecretRegistry()
    secret = 'pä ss"w\\ord€'
    registry.add(secret)
    for text in (urllib.parse.quote(secret), urllib.parse.quote_plus(secret), json.dumps(secret),
                 json.dumps(secret, ensure_ascii=False), urllib.parse.quote(secret).replace("%20", " ")):
        assert registry.scrub(f"<{text}>").strip('<>"') == "***", text


def test_only_the_secret_is_masked_and_the_longest_match_wins() -> None:
    registry = SecretRegistry()
    registry.add("abcd1234")
    registry.add("abcd1234-longer")
    registry.add("x.y*z(1)")  # regex metacharacters are literal
    assert registry.scrub("1 abcd1234-longer 2 abcd1234 3 x.y*z(1) 4 xay*z(1)") == "1 *** 2 *** 3 *** 4 xay*z(1)"


def test_short_and_empty_values_are_not_registered() -> None:
    registry = SecretRegistry()
    for value in (None, "", "abc"):
        registry.add(value)
    assert not registry and registry.scrub("abc") == "abc"


def test_per_message_secrets_are_bounded_most_recent_first() -> None:
    registry = SecretRegistry(per_message_limit=8, generation_size=4)
    registry.add("permanent-secret-0")
    keys = [f"tenant-key-{i:04d}" for i in range(100)]
    for key in keys:
        registry.add(key, per_message=True)
    assert registry.per_message_count == 8
    assert "permanent-secret-0" in registry and registry.scrub("permanent-secret-0") == "***"
    assert all(registry.scrub(key) == "***" for key in keys[-8:])
    assert keys[0] not in registry and keys[-9] not in registry


def test_a_key_in_use_is_kept_while_newer_ones_come_and_go() -> None:
    registry = SecretRegistry(per_message_limit=8, generation_size=4)
    registry.add("hot-tenant-key", per_message=True)
    for i in range(200):
        registry.add(f"cold-tenant-key-{i:04d}", per_message=True)
        registry.add("hot-tenant-key", per_message=True)  # read again for the next message
        assert registry.scrub("hot-tenant-key") == "***"
    assert registry.per_message_count == 8


def test_scrub_runs_a_bounded_number_of_regexes_however_many_secrets() -> None:
    """Whatever the number of secrets, one scrub runs a few merged regexes, not one scan per secret."""
    registry = SecretRegistry(per_message_limit=64, generation_size=8)
    for i in range(20):
        registry.add(f"permanent-password-{i:03d}")
    assert registry.regex_count == 1
    for i in range(1000):
        registry.add(f"sk-tenant-{i:05d}-{'x' * 20}", per_message=True)
        if i % 7 == 0:
            registry.add(f"sk-tenant-{i // 2:05d}-{'x' * 20}", per_message=True)
    assert registry.regex_count <= 1 + 2 * 64 // 8 + 1
    line = "caught: 401 Incorrect API key sk-tenant-00999-" + "x" * 20 + " (permanent-password-007)"
    assert registry.scrub(line) == "caught: 401 Incorrect API key *** (***)"


def test_scrub_is_safe_while_another_thread_registers() -> None:
    registry = SecretRegistry(per_message_limit=32, generation_size=4)
    registry.add("permanent-secret-1")
    failures: list[str] = []

    def scrubber() -> None:
        for _ in range(300):
            if registry.scrub("a permanent-secret-1 b") != "a *** b":
                failures.append("unmasked")

    thread = threading.Thread(target=scrubber)
    thread.start()
    for i in range(300):
        registry.add(f"per-message-secret-{i}", per_message=True)
    thread.join(timeout=30)
    assert not thread.is_alive() and not failures


def test_the_module_functions_and_the_logging_filter_use_one_registry() -> None:
    secret = "sk-module+level/secret=="
    redact(secret)
    assert scrub(f"url?key={urllib.parse.quote_plus(secret)}") == "url?key=***"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "request %s failed", (str(yarl.URL("http://h/").with_query(k=secret)),), None)
    assert RedactingFilter().filter(record) and record.getMessage() == "request http://h/?k=*** failed"
