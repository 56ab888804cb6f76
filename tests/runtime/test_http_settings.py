"""The HTTP server's settings are checked with the rest of the document: `flowwire validate` and `run` refuse bad ones.

Every problem names the file and the `settings.` field, whether or not the
flow has an HTTP node (tests/runtime/test_cli.py: `validate` and `run` exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _mosquitto import make_certs

from runtime import FlowError, Problem, check_files
from runtime.testing import build

#: A flow with no HTTP node: the settings are checked all the same, since metrics or health would start the server.
PLAIN = "nodes:\n  - {id: i, type: inject, once: true, onceDelay: 0, wires: [d]}\n  - {id: d, type: debug}\n"


def write_flow(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def settings_problems(tmp_path: Path, settings: str, env: dict[str, str] | None = None) -> list[tuple[str | None, str]]:
    path = write_flow(tmp_path, "flow.yaml", f"settings: {settings}\n{PLAIN}")
    with pytest.raises(FlowError) as caught:
        check_files([path], env=env or {})
    problems: list[Problem] = caught.value.problems
    assert {p.file for p in problems} == {str(path)}
    return [(p.field, p.message) for p in problems]


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ("{uiPort: 70000}", "settings.uiPort", "must be a port number 0-65535 (0: any free port)"),
        ("{uiPort: eighty}", "settings.uiPort", "must be a port number 0-65535 (0: any free port)"),
        ("{uiPort: true}", "settings.uiPort", "must be a port number 0-65535 (0: any free port)"),
        ("{uiHost: [a, b]}", "settings.uiHost", "input should be a valid string"),
        ("{httpNodeRoot: 3}", "settings.httpNodeRoot", "must be a path such as /api, or false"),
        ("{httpAdminRoot: {a: 1}}", "settings.httpAdminRoot", "must be a path such as /api, or false"),
        ("{httpNodeCors: yes please}", "settings.httpNodeCors", "must be a mapping: {origin: '*', methods: 'GET,POST', allowedHeaders, credentials}"),
        ("{httpNodeCors: {origin: 3}}", "settings.httpNodeCors.origin", "must be a string or a list of strings"),
        ("{httpNodeCors: {credentials: sometimes}}", "settings.httpNodeCors.credentials", "must be true or false"),
        ("{apiMaxLength: lots}", "settings.apiMaxLength", 'must be a size: bytes, or a string such as "100kb" or "5mb"'),
        ("{apiMaxLength: -1}", "settings.apiMaxLength", 'must be a size: bytes, or a string such as "100kb" or "5mb"'),
        ("{https: server.pem}", "settings.https", "must be a mapping: {key: <PEM file>, cert: <PEM file>, ca?, passphrase?} (paths relative to the flow file)"),
        ("{https: {key: server.key}}", "settings.https.cert", "field required"),
        ("{https: {key: k, cert: c, certificate: c}}", "settings.https.certificate", "extra inputs are not permitted"),
        ("{httpResponseTimeout: 0}", "settings.httpResponseTimeout", "must be a number of milliseconds above 0"),
        ("{httpResponseTimeout: soon}", "settings.httpResponseTimeout", "must be a number of milliseconds above 0"),
        ("{httpResponseTimeout: .inf}", "settings.httpResponseTimeout", "must be a number of milliseconds above 0"),
        ("{httpNodeWindow: 0}", "settings.httpNodeWindow", "must be a whole number of at least 1"),
        ("{httpNodeWindow: 2.5}", "settings.httpNodeWindow", "must be a whole number of at least 1"),
        ("{webSocketReconnectTime: -5}", "settings.webSocketReconnectTime", "must be a number of milliseconds of at least 0"),
        ("{metrics: maybe}", "settings.metrics", "must be true or false"),
        ("{health: 1}", "settings.health", "must be true or false"),
        ("{adminTokenFile: missing.token}", "settings.adminTokenFile", "cannot read the admin token file: No such file or directory"),
    ],
)
def test_a_bad_http_setting_is_a_located_problem(tmp_path: Path, settings: str, field: str, message: str) -> None:
    assert settings_problems(tmp_path, settings) == [(field, message)]


def test_every_bad_http_setting_is_listed_at_once(tmp_path: Path) -> None:
    found = settings_problems(tmp_path, "{uiPort: -1, apiMaxLength: lots, metrics: maybe, drainTimeout: never}")
    assert sorted(field for field, _ in found) == ["settings.apiMaxLength", "settings.drainTimeout", "settings.metrics", "settings.uiPort"]


def test_variables_are_substituted_before_the_check(tmp_path: Path) -> None:
    assert settings_problems(tmp_path, "{uiPort: '${PORT}'}", env={}) == [("settings.uiPort", "environment variable 'PORT' is not set and has no default")]
    path = write_flow(tmp_path, "ok.yaml", f"settings: {{uiPort: '${{PORT:-8080}}', metrics: '${{METRICS:-true}}', apiMaxLength: '${{MAX:-1mb}}'}}\n{PLAIN}")
    check_files([path], env={})


def test_tls_files_are_loaded_at_validation_relative_to_the_flow_file(tmp_path: Path) -> None:
    assert settings_problems(tmp_path, "{https: {key: none.key, cert: none.crt}}") == [
        ("settings.https", "cannot load the certificate or key: [Errno 2] No such file or directory")
    ]
    make_certs(tmp_path / "certs")
    path = write_flow(tmp_path, "ok.yaml", f"settings: {{https: {{key: certs/server.key, cert: certs/server.crt}}}}\n{PLAIN}")
    check_files([path], env={})


def test_an_empty_admin_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n", encoding="utf-8")
    assert settings_problems(tmp_path, "{adminTokenFile: token}") == [("settings.adminTokenFile", "the admin token file is empty")]


def test_good_settings_reach_the_server_config(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n", encoding="utf-8")
    runtime = build(
        {
            "settings": {
                "uiPort": "8081", "uiHost": "127.0.0.1", "httpNodeRoot": "api", "httpAdminRoot": False, "apiMaxLength": "2kb",
                "httpResponseTimeout": 1500, "httpNodeWindow": 7, "webSocketReconnectTime": 250, "metrics": "true",
                "httpNodeCors": {"origin": ["https://a.example", "https://b.example"], "methods": ["GET", "POST"]}, "adminTokenFile": "token",
            },
            "nodes": [],
        },
        base_dir=tmp_path,
    )
    config = runtime.http.config
    assert (config.port, config.host, config.node_root, config.admin_root) == (8081, "127.0.0.1", "/api/", None)
    assert (config.max_body, config.response_timeout, config.node_window, config.reconnect_delay) == (2048, 1.5, 7, 0.25)
    assert config.metrics is True and config.health is False and config.admin_token == "s3cret"
    assert config.cors is not None and (config.cors.origin, config.cors.methods) == ("https://a.example,https://b.example", "GET,POST")


def test_a_tls_passphrase_never_appears_in_a_problem(tmp_path: Path) -> None:
    found = settings_problems(tmp_path, "{https: {key: k, cert: c, passphrase: [hunter2]}}")
    assert [field for field, _ in found] == ["settings.https.passphrase"]
    assert "hunter2" not in repr(found)
