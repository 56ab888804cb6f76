"""`openai-config`: where and how to reach the OpenAI API; also accepts Node-RED's `Service Host`.

One shared SDK client per config node (see `_client.py`). The API key comes,
by default, from the `OPENAI_API_KEY` environment variable; `api_key_type`
chooses another source: `cred` (the value itself, e.g. from a credentials
file or `${VAR}`), `env` (a variable name), `file` (a file holding the key,
e.g. a container secret), or per message `msg` / `flow` / `global` (opt-in:
a key that arrives with the data). Whatever the source, the key is
registered with `runtime.secrets.redact` the moment it is read (per-message
keys as such, so the registry stays bounded). For every type but
`cred`/`str`, `api_key` names where the key is; validation refuses a value
that cannot be such a name — typically the key itself, substituted by
`api_key: ${OPENAI_API_KEY}` — and no message repeats it. Credential-like
`headers` and a password in `base_url` are registered as secrets too.

`emulator` (auto / always) starts the offline emulator (`emulator/`) inside
this process and points the client at it: the demo flows run on a machine
with no key and no network. The config node starts before and closes after
every other node, so it owns the emulator's lifetime.

The SDK (and its HTTP transport) is imported in `start`, not with this
module: flows without OpenAI nodes must not pay for it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, model_validator

from runtime import ConfigNode, NodeProps, lenient, register
from runtime.properties import PathError, delete_path, get_path, parse_path, split_store
from runtime.secrets import redact

if TYPE_CHECKING:
    import openai

    from ._client import SharedClient
    from .emulator import RunningEmulator

KEY_TYPES = ("env", "cred", "str", "file", "msg", "flow", "global")
PER_MESSAGE_KEY_TYPES = frozenset({"msg", "flow", "global"})
#: Types for which `api_key` says where the key is, not what it is.
REFERENCE_KEY_TYPES = frozenset({"env", "file", *PER_MESSAGE_KEY_TYPES})


def _headers(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value or {}




class OpenAIConfigProps(NodeProps):
    base_url: str = Field("", description="API base URL; empty = $OPENAI_BASE_URL or https://api.openai.com/v1")
    base_url_type: Literal["str", "env"] = Field("str", description="`env`: base_url names an environment variable")
    api_key: str = Field("OPENAI_API_KEY", repr=False, description=(
        "the key, or where to find it (see api_key_type); `${OPENAI_API_KEY}` puts the key itself here, "
        "which needs api_key_type str or cred"))
    api_key_type: Literal["env", "cred", "str", "file", "msg", "flow", "global"] = Field(
        "env", description="env: variable name; cred/str: the key itself; file: path of a file holding it; "
                           "msg/flow/global: read per message from that property (opt-in)")
    organization: str = Field("", description="OpenAI-Organization header; empty = $OPENAI_ORG_ID")
    project: str = Field("", description="OpenAI-Project header; empty = $OPENAI_PROJECT_ID")
    key_header: str = Field("Authorization", description="send the key in this header instead of "
                                                        "`Authorization: Bearer` (raw key, no Bearer prefix)")
    key_in_query: lenient.Bool = Field(False, description="send the key as the query parameter named by key_header")
    timeout: lenient.OptFloat = Field(None, description="seconds per request (SDK default 600)")
    max_retries: lenient.OptInt = Field(2, description="SDK retries on 408/409/429/5xx and connection errors, "
                                               "honouring Retry-After")
    headers: Annotated[dict[str, str], BeforeValidator(_headers)] = Field(
        default_factory=dict, repr=False, description="extra headers on every request (object or JSON text)")
    max_concurrent: lenient.OptInt = Field(100, description="requests in flight at once through this config node")
    max_connections: lenient.OptInt = Field(100, description="TCP connections in the pool (kept alive and reused)")
    transport: Literal["aiohttp", "httpx"] = Field("aiohttp", description="the SDK's HTTP transport")
    emulator: Literal["never", "auto", "always"] = Field(
        "never", description="run the built-in OpenAI emulator in this process and use it (offline): auto = "
                             "when no API key is available, always = even with one")
    # Node-RED `Service Host` names, mapped onto the fields above by `_from_service_host`; declared
    # so the flow checker knows them (and does not warn that they are unused).
    apiBase: Any = Field(None, description="Service Host: base_url")
    apiBaseType: Any = Field(None, description="Service Host: base_url_type")
    organizationId: Any = Field(None, description="Service Host: organization")
    organizationIdType: Any = Field(None, description="Service Host: (str only)")
    secureApiKeyHeaderOrQueryName: Any = Field(None, description="Service Host: key_header")
    secureApiKeyHeaderOrQueryNameType: Any = Field(None, description="Service Host: (str only)")
    secureApiKeyIsQuery: Any = Field(None, description="Service Host: key_in_query")
    secureApiKeyValue: Any = Field(None, repr=False, description="Service Host credential: the key (api_key_type cred)")
    secureApiKeyValueRef: Any = Field(None, description="Service Host: env/msg/flow/global reference of the key")
    secureApiKeyValueType: Any = Field(None, description="Service Host: api_key_type")
    temp: Any = Field(None, description="Service Host credential, unused")

    @model_validator(mode="before")
    @classmethod
    def _from_service_host(cls, data: Any) -> Any:
        """Map Node-RED's `Service Host` property names (1.103 and later) onto ours."""
        if not isinstance(data, dict) or not any(k in data for k in _NODE_RED_KEYS):
            return data
        data = {k: v for k, v in data.items() if v is not None}
        if "apiBase" in data:
            data.setdefault("base_url", data.pop("apiBase") or "")
            if (kind := data.pop("apiBaseType", "str") or "str") != "str":
                data.setdefault("base_url_type", kind)
        if "organizationId" in data:
            data.setdefault("organization", data.pop("organizationId") or "")
            data.pop("organizationIdType", None)
        if "secureApiKeyHeaderOrQueryName" in data:
            data.setdefault("key_header", (str(data.pop("secureApiKeyHeaderOrQueryName") or "")).strip()
                            or "Authorization")
            data.pop("secureApiKeyHeaderOrQueryNameType", None)
        if "secureApiKeyIsQuery" in data:
            data.setdefault("key_in_query", data.pop("secureApiKeyIsQuery") in (True, "true"))
        value = data.pop("secureApiKeyValue", None)
        ref = data.pop("secureApiKeyValueRef", None)
        kind = data.pop("secureApiKeyValueType", None) or "cred"
        if "api_key" not in data:
            if kind == "cred" and value:
                data.update(api_key=value, api_key_type="cred")
            elif kind != "cred" and (ref or value):
                # legacy flows kept the variable name in the credential itself
                data.update(api_key=ref or value, api_key_type=kind)
        data.pop("temp", None)
        return data


_NODE_RED_KEYS = ("apiBase", "organizationId", "secureApiKeyHeaderOrQueryName", "secureApiKeyIsQuery",
                  "secureApiKeyValue", "secureApiKeyValueRef", "secureApiKeyValueType")


_CREDENTIAL_HEADER = re.compile(r"auth|key|token|secret|password|cookie", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH_NAME = re.compile(r"[A-Za-z_$][\w$-]*")
#: Prefixes of secret keys (OpenAI `sk-`/`sk-proj-`, Anthropic `sk-ant-`, Stripe-style `sk_live_` ...);
#: lower-case only, so an environment variable such as `SK_API_KEY` is not mistaken for one.
_KEY_PREFIX = re.compile(r"(?:sk|pk|rk)[-_]")
#: A long run of letters and digits with no separator: a random token, not a name or a path.
_TOKEN_RUN = re.compile(r"(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}")
_REFERENCE_EXAMPLES = {"env": "name an environment variable (e.g. OPENAI_API_KEY)",
                       "file": "be the path of a file holding the key (e.g. /run/secrets/openai)",
                       "msg": "be a msg property path (e.g. apiKey)",
                       "flow": "name a flow context key (e.g. openaiKey)",
                       "global": "name a global context key (e.g. openaiKey)"}


def _looks_like_a_key(text: str, kind: str) -> bool:
    """A guess, tuned to refuse keys and accept names: a file may be called `sk-openai.key`."""
    prefixed = _KEY_PREFIX.match(text.strip()) is not None and (kind != "file" or "." not in text)
    return prefixed or _TOKEN_RUN.search(text) is not None


def _reference_problem(kind: str, reference: str) -> str | None:
    """What is wrong with `reference` as the place to find the key, never quoting it.

    The natural YAML `api_key: ${OPENAI_API_KEY}` with the default type `env`
    substitutes the key itself, which would then be reported (and logged) as
    the name of a missing variable: a value that cannot be a reference of this
    kind is refused here, and no message may repeat it, as it may be the key.
    """
    if not reference.strip():
        return f"api_key_type {kind!r} needs a name or path in api_key"
    plausible = not _looks_like_a_key(reference, kind)
    if kind == "env":
        plausible = plausible and _ENV_NAME.fullmatch(reference.strip()) is not None
    elif kind in PER_MESSAGE_KEY_TYPES:
        path = reference if kind == "msg" else split_store(reference)[1]
        try:
            names = [k for k in parse_path(path) if isinstance(k, str)]
        except PathError:
            names = [""]
        plausible = plausible and all(_PATH_NAME.fullmatch(n) for n in names)
    if plausible:
        return None
    return (f"api_key_type is {kind!r}, so api_key must {_REFERENCE_EXAMPLES[kind]}, but it holds something "
            "else (not repeated here: it may be the key itself) — if you substituted the key itself with "
            "${...}, set api_key_type: str or cred")


_EMULATOR_KEY = "sk-flowwire-emulator"


class MissingKey(Exception):
    """No API key could be found for a request (the text says where we looked)."""


@register("openai-config", aliases=("Service Host",))
class OpenAIConfig(ConfigNode):
    """Connection to the OpenAI API (or any compatible server): base URL, key, limits; one shared client."""

    Props = OpenAIConfigProps
    props: OpenAIConfigProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared: SharedClient | None = None
        self._static_key: str | None = None
        self._key_problem = ""
        self._emulator: RunningEmulator | None = None

    @classmethod
    def check(cls, props: Any) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if props.api_key_type in REFERENCE_KEY_TYPES and (
                problem := _reference_problem(props.api_key_type, props.api_key)):
            problems.append(("api_key", problem))
        if props.emulator == "auto" and props.api_key_type in PER_MESSAGE_KEY_TYPES:
            problems.append(("emulator", (f"'auto' needs a key known at start; api_key_type {props.api_key_type!r} "
                                          "gives one per message (use 'always' or 'never')")))
        for name in ("max_concurrent", "max_connections"):
            value = getattr(props, name)
            if value is not None and value < 1:
                problems.append((name, "must be at least 1"))
        return problems

    @property
    def per_message_key(self) -> bool:
        return self.props.api_key_type in PER_MESSAGE_KEY_TYPES

    def _resolve_static_key(self) -> str | None:
        """The key known at start, registered as a secret the moment it is read.

        The reference (variable name, file path) appears in the problem text
        only once `_reference_problem` has accepted it: `check` refuses a flow
        whose reference may be a key, and a node built some other way must not
        leak one either.
        """
        p = self.props
        reference, shown = p.api_key.strip(), self._shown_reference()
        if p.api_key_type == "env":
            key = os.environ.get(reference)
            redact(key)
            self._key_problem = f"environment variable {shown} is not set"
        elif p.api_key_type == "file":
            path = Path(reference).expanduser()
            if not path.is_absolute():
                path = self.base_dir / path
            where = path if shown == reference else shown
            try:
                key = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                key, self._key_problem = None, f"cannot read the key file {where}: {exc.strerror}"
            except UnicodeDecodeError:
                key, self._key_problem = None, f"the key file {where} is not UTF-8 text"
            else:
                redact(key)
                self._key_problem = f"the key file {where} is empty"
        else:
            key = p.api_key
            redact(key)
            self._key_problem = "the config node's api_key is empty"
        return key or None

    def _shown_reference(self) -> str:
        kind, reference = self.props.api_key_type, self.props.api_key.strip()
        plausible = kind in REFERENCE_KEY_TYPES and _reference_problem(kind, reference) is None
        return reference if plausible else "(see api_key)"

    def _redact_other_credentials(self) -> None:
        """Headers that carry credentials (a gateway's `api-key`) and a password in the base URL."""
        for name, value in self.props.headers.items():
            if _CREDENTIAL_HEADER.search(name):
                redact(value.split(" ", 1)[1] if value.lower().startswith(("bearer ", "basic ")) else value)
        url = urlsplit(self.props.base_url) if self.props.base_url_type == "str" else None
        if url is not None and url.password:
            redact(url.password, user=url.username or "")

    async def start(self) -> None:
        from ._client import ClientSettings, SharedClient

        p = self.props
        self._redact_other_credentials()
        if not self.per_message_key:
            self._static_key = self._resolve_static_key()
        base_url = os.environ.get(p.base_url, "") if p.base_url_type == "env" else p.base_url
        if p.emulator == "always" or (p.emulator == "auto" and not self._static_key):
            base_url = await self._start_emulator()
        settings = ClientSettings(
            base_url=base_url or None,
            organization=p.organization or None,
            project=p.project or None,
            key_name=p.key_header,
            key_in_query=p.key_in_query,
            timeout=p.timeout,
            max_retries=p.max_retries if p.max_retries is not None else 2,
            headers=dict(p.headers),
            max_connections=p.max_connections or 100,
            max_concurrent=p.max_concurrent or 100,
            transport=p.transport,
        )
        self.shared = SharedClient(settings, self._static_key)

    async def _start_emulator(self) -> str:
        """Serve the emulator on a free loopback port; its base URL. It accepts any key, so the
        (possibly missing) key is replaced by a placeholder that never leaves the machine."""
        from .emulator import DEMO_ASSISTANT_ID, EmulatorConfig, start

        self._emulator = await start("127.0.0.1", 0, EmulatorConfig(demo=True))
        why = "emulator: always" if self.props.emulator == "always" else f"no API key: {self._key_problem}"
        self.log.warning("OFFLINE: OpenAI calls go to the built-in emulator at %s (%s); demo assistant %s",
                         self._emulator.base_url, why, DEMO_ASSISTANT_ID)
        if not self.per_message_key:
            self._static_key = _EMULATOR_KEY
        return self._emulator.base_url

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()
            self.shared = None
        if self._emulator is not None:
            await self._emulator.close()
            self._emulator = None

    @property
    def request_options(self) -> dict[str, Any]:
        """Keyword arguments for every SDK call through this config node (see `_client`)."""
        assert self.shared is not None, "openai-config used before start"
        return self.shared.request_options

    def client_for(self, msg: dict[str, Any], node: Any) -> openai.AsyncOpenAI:
        """The client for this message. A per-message key is removed from the msg once read."""
        assert self.shared is not None, "openai-config used before start"
        if not self.per_message_key:
            if not self._static_key:
                raise MissingKey(f"no OpenAI API key: {self._key_problem}")
            return self.shared.client
        p = self.props
        if p.api_key_type == "msg":
            key = get_path(msg, p.api_key)
            delete_path(msg, p.api_key)  # the key must not travel on with the message
        else:
            ctx = node.flow_context if p.api_key_type == "flow" else node.global_context
            key = ctx.get(p.api_key)
        if not isinstance(key, str) or not key:
            raise MissingKey(f"no OpenAI API key in {p.api_key_type}.{self._shown_reference()}")
        redact(key, per_message=True)
        return self.shared.for_key(key)

    def slot(self) -> Any:
        assert self.shared is not None, "openai-config used before start"
        return self.shared.slot()

    @property
    def max_concurrent(self) -> int:
        return self.props.max_concurrent or 100
