"""The HTTP server's settings (docs/http.md): one model, read by `flowwire validate`, deploys and the server alike.

A bad value is a located problem (`settings.uiPort`) found before anything
starts, never an error once the flows run. The names are Node-RED's where
Node-RED has the setting (`uiPort`, `uiHost`, `httpNodeRoot`, `httpAdminRoot`,
`httpNodeCors`, `apiMaxLength`, `https`), flowwire's own otherwise.
Reading the TLS files and the admin token file needs the flow's folder, so
that part is `read_config`'s, after the model has checked the shapes.
"""

from __future__ import annotations

import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ._envsubst import MissingVariable, substitute
from ._errors import FlowError, Problem

DEFAULT_PORT = 1880
DEFAULT_MAX_BODY = 5 * 1024 * 1024
DEFAULT_RESPONSE_TIMEOUT_MS = 120_000
DEFAULT_NODE_WINDOW = 1000
DEFAULT_RECONNECT_MS = 10_000
#: The environment variable holding the admin API's bearer token (or the `adminTokenFile` setting).
TOKEN_ENV = "FLOWWIRE_ADMIN_TOKEN"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_size(value: Any) -> int:
    """`apiMaxLength` as body-parser reads it: bytes, or "100kb", "5mb"."""
    if isinstance(value, bool):
        raise ValueError('must be a size: bytes, or a string such as "100kb" or "5mb"')
    if isinstance(value, (int, float)) and value >= 0:
        return int(value)
    match = _SIZE.match(str(value))
    if match is None:
        raise ValueError('must be a size: bytes, or a string such as "100kb" or "5mb"')
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])


def _root(value: Any) -> Any:
    """A base path such as /api (normalised to /api/), or false for none."""
    if value is False:
        return None
    if value is None or value == "":
        return "/"
    if not isinstance(value, str):
        raise ValueError("must be a path such as /api, or false")
    return "/" + value.strip("/") + "/" if value.strip("/") else "/"


def _port(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError("must be a port number 0-65535 (0: any free port)")
    return value


def _millis(lowest: float, above: bool) -> Any:
    def check(value: Any) -> Any:
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not math.isfinite(number) or (number <= lowest if above else number < lowest):
            raise ValueError(f"must be a number of milliseconds {'above' if above else 'of at least'} {lowest:g}")
        return number

    return check


def _whole(lowest: int) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ValueError(f"must be a whole number of at least {lowest}")
        return value

    return check


def _flag(value: Any) -> Any:
    """true/false, also as the strings `${VAR}` substitution leaves."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _listed(value: Any) -> Any:
    """A comma-separated string, or a list of strings (as the `cors` package takes both)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if not isinstance(value, str):
        raise ValueError("must be a string or a list of strings")
    return value


class CorsSettings(BaseModel):
    """`httpNodeCors`: the options of the `cors` middleware Node-RED passes it to (those flowwire answers with)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    origin: Annotated[str, BeforeValidator(_listed)] = "*"
    methods: Annotated[str, BeforeValidator(_listed)] = "GET,HEAD,PUT,PATCH,POST,DELETE"
    allowedHeaders: Annotated[str, BeforeValidator(_listed)] = ""
    credentials: Annotated[bool, BeforeValidator(_flag)] = False


class TlsSettings(BaseModel):
    """`https`: PEM files, relative to the flow file (Node-RED's settings.js reads the same files itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    key: str = Field(min_length=1)
    cert: str = Field(min_length=1)
    ca: str | None = None
    passphrase: str | None = Field(None, repr=False)


class HttpSettings(BaseModel):
    """Every setting the HTTP server and the HTTP node family read; unrelated settings are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    uiPort: Annotated[int, BeforeValidator(_port)] = DEFAULT_PORT
    uiHost: str = "0.0.0.0"
    httpNodeRoot: Annotated[str | None, BeforeValidator(_root)] = "/"
    httpAdminRoot: Annotated[str | None, BeforeValidator(_root)] = "/"
    httpNodeCors: CorsSettings | None = None
    apiMaxLength: Annotated[int, BeforeValidator(parse_size)] = DEFAULT_MAX_BODY
    https: TlsSettings | None = None
    httpResponseTimeout: Annotated[float, BeforeValidator(_millis(0, above=True))] = DEFAULT_RESPONSE_TIMEOUT_MS
    httpNodeWindow: Annotated[int, BeforeValidator(_whole(1))] = DEFAULT_NODE_WINDOW
    webSocketReconnectTime: Annotated[float, BeforeValidator(_millis(0, above=False))] = DEFAULT_RECONNECT_MS
    health: Annotated[bool, BeforeValidator(_flag)] = False
    metrics: Annotated[bool, BeforeValidator(_flag)] = False
    adminTokenFile: str | None = None

    @field_validator("httpNodeCors", "https", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        """`false`, `null`, "" and {} mean "not set", as any falsy value does in Node-RED's settings.js."""
        if value in (None, False, "", {}):
            return None
        if not isinstance(value, dict):
            raise ValueError("must be a mapping")
        return value


_SHAPES = {
    "httpNodeCors": "{origin: '*', methods: 'GET,POST', allowedHeaders, credentials}",
    "https": "{key: <PEM file>, cert: <PEM file>, ca?, passphrase?} (paths relative to the flow file)",
}


@dataclass(frozen=True)
class Cors:
    """`httpNodeCors`: what the `cors` middleware of Node-RED would answer."""

    origin: str = "*"
    methods: str = "GET,HEAD,PUT,PATCH,POST,DELETE"
    headers: str = ""
    credentials: bool = False


@dataclass(frozen=True)
class HttpConfig:
    """The server's settings as the server and node families use them (times in seconds, sizes in bytes)."""

    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    #: None when the setting is `false`: no node routes at all.
    node_root: str | None = "/"
    admin_root: str | None = "/"
    cors: Cors | None = None
    max_body: int = DEFAULT_MAX_BODY
    response_timeout: float = DEFAULT_RESPONSE_TIMEOUT_MS / 1000
    #: `httpNodeWindow`: requests of one `http in` node in the flow at once before more get 503.
    node_window: int = DEFAULT_NODE_WINDOW
    #: `webSocketReconnectTime` in seconds: the wait before a `websocket-client` connects again.
    reconnect_delay: float = DEFAULT_RECONNECT_MS / 1000
    ssl: ssl.SSLContext | None = None
    metrics: bool = False
    health: bool = False
    admin_token: str | None = field(default=None, repr=False)


def _substituted(settings: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """The settings the model reads, with `${VAR}` replaced (a port or host usually comes from the environment)."""

    def walk(value: Any, name: str) -> Any:
        if isinstance(value, str):
            try:
                return substitute(value, os.environ)
            except MissingVariable as exc:
                problems.append(Problem(f"environment variable {exc.name!r} is not set and has no default", field=f"settings.{name}"))
                return None
        if isinstance(value, dict):
            return {k: walk(v, name) for k, v in value.items()}
        return value

    return {name: walk(settings[name], name) for name in HttpSettings.model_fields if name in settings}


def _model(settings: Mapping[str, Any], problems: list[Problem]) -> HttpSettings:
    values = _substituted(settings, problems)
    try:
        return HttpSettings.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            top = str(error["loc"][0])
            inner = ".".join(str(p) for p in error["loc"][1:] if not str(p).startswith("function-"))
            message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"].lower()
            if top in _SHAPES and not inner:
                message = f"{message}: {_SHAPES[top]}"
            problems.append(Problem(message, field=f"settings.{top}" + (f".{inner}" if inner else "")))
        return HttpSettings()


def _tls(spec: TlsSettings | None, base_dir: Path, problems: list[Problem]) -> ssl.SSLContext | None:
    if spec is None:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(base_dir / spec.cert, base_dir / spec.key, password=spec.passphrase or None)
        if spec.ca:
            context.load_verify_locations(base_dir / spec.ca)
    except (OSError, ssl.SSLError) as exc:
        problems.append(Problem(f"cannot load the certificate or key: {exc}", field="settings.https"))
        return None
    return context


def _admin_token(path: str | None, base_dir: Path, problems: list[Problem]) -> str | None:
    if not path:
        return os.environ.get(TOKEN_ENV) or None
    try:
        token = (base_dir / path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        problems.append(Problem(f"cannot read the admin token file: {exc.strerror or exc}", field="settings.adminTokenFile"))
        return None
    if not token:
        problems.append(Problem("the admin token file is empty", field="settings.adminTokenFile"))
    return token or None


def config_problems(settings: Mapping[str, Any], base_dir: Path, file: str | None) -> tuple[HttpConfig, list[Problem]]:
    """The server's settings, and every problem with them located at its `settings.` field and file."""
    problems: list[Problem] = []
    model = _model(settings, problems)
    cors = model.httpNodeCors
    config = HttpConfig(
        host=model.uiHost or "0.0.0.0", port=model.uiPort, node_root=model.httpNodeRoot, admin_root=model.httpAdminRoot,
        cors=Cors(cors.origin, cors.methods, cors.allowedHeaders, cors.credentials) if cors is not None else None,
        max_body=model.apiMaxLength, response_timeout=model.httpResponseTimeout / 1000, node_window=model.httpNodeWindow,
        reconnect_delay=model.webSocketReconnectTime / 1000, ssl=_tls(model.https, base_dir, problems),
        metrics=model.metrics, health=model.health, admin_token=_admin_token(model.adminTokenFile, base_dir, problems),
    )
    return config, [Problem(p.message, file=file, field=p.field) for p in problems]


def read_config(settings: Mapping[str, Any], base_dir: Path, file: str | None = None) -> HttpConfig:
    """The server's settings (raises FlowError naming every bad `settings.` field)."""
    config, problems = config_problems(settings, base_dir, file)
    if problems:
        raise FlowError(problems)
    return config
