"""Generate docs/nodes/openai-*.md from the method table, the SDK-derived parameters and the node models.

`python -m nodes.openai.docs` (re)writes the files; a test fails when the
committed docs differ from what this produces, so docs cannot drift from the
validation the nodes actually run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pydantic import BaseModel

from . import _files, _websocket
from ._methods import METHODS, SERVICES, Method, by_service, snake_case
from ._params import deprecation, describe, params_of, traits
from .config import OpenAIConfigProps
from .runs import OpenAIMethodProps

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "nodes"
_ID_MEANING = "ID of the {what}; taken out of the payload into the URL path."


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|").replace("\\\\|", "\\|")


def _first_sentences(text: str, limit: int = 220) -> str:
    """The SDK's description, cut after the sentence that passes `limit` characters."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z`])", text.strip())
    out = ""
    for sentence in sentences:
        out = f"{out} {sentence}".strip()
        if len(out) >= limit:
            break
    return out


def _sdk_call(method: Method) -> str:
    params = params_of(method)
    ids = [p for p in params.values() if p.location == "path"]
    args = [ids[0].name] if ids else []
    args += [f"{p.name}=..." for p in ids[1:]]
    args += ["**rest"] if len(params) > len(ids) else []
    return f"client.{'.'.join(method.sdk_path)}({', '.join(args)})"


def _props_table(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> list[str]:
    lines = ["| property | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        kind = describe(field.annotation)
        default = "(required)" if field.is_required() else json.dumps(
            field.default_factory() if field.default_factory else field.default)  # type: ignore[call-arg]
        lines.append(f"| `{name}` | {_cell(kind)} | `{default}` | {_cell(field.description or '')} |")
    return lines


def _socket_section(method: Method, names: str) -> list[str]:
    out = [f"### {method.name}", "", method.summary + " Offered by node-red-openai-api from 6.34.0.", "",
           f"Also accepted as {names}. SDK call: `client.responses.connect()` (one socket per `connection_id`, "
           "kept by the node).", "", "| property | type | required | meaning |", "| --- | --- | --- | --- |"]
    out += [f"| `{name}` | {kind} | {required} | {_cell(meaning)} |"
            for name, (kind, required, meaning) in _websocket.PARAMS.items()]
    out += ["", "Example `msg.payload`:", "", "```json", json.dumps(method.example, indent=2), "```", "",
            f"Result: `msg.payload` is {method.returns}.", "", method.notes, ""]
    return out


def _kind_notes(method: Method) -> list[str]:
    """What the SDK's signature says about the call, in words (files in, bytes out, streams, helpers)."""
    kind = traits(method)
    notes = []
    if kind.files:
        fields = ", ".join(f"`{f}`" for f in kind.files)
        notes.append(f"File input ({fields}): {_files.SHAPES}. A path that names no file is a node error before any "
                     "request.")
    if kind.binary:
        notes.append("`msg.payload` is the raw bytes; `msg.openai.content_type` is their content type.")
    if kind.local:
        notes.append("Computed locally by the SDK: no request is sent.")
    elif not kind.raw and not kind.paginated:
        notes.append("An SDK helper: it may send several requests (and poll) before it answers.")
    return notes


def method_section(method: Method) -> list[str]:
    names = ", ".join(f"`{n}`" for n in dict.fromkeys((snake_case(method.name), *method.aliases)))
    if method.unavailable:
        return [f"### {method.name}", "", f"No API behind this name: {method.unavailable}. A flow that uses it "
                "fails validation, naming the node.", ""]
    if method.socket:
        return _socket_section(method, names)
    since = "" if method.since == "1.103.0" else (
        " Offered by node-red-openai-api from 6.34.0." if method.since == "6.34.0" else " A flowwire addition.")
    out = [f"### {method.name}", "", method.summary + since, "",
           f"Also accepted as {names}. SDK call: `{_sdk_call(method)}`."]
    if text := deprecation(method):
        out[-1] += f" The SDK marks it deprecated (\"{text}\")."
    out += ["", "| property | type | required | sent in | meaning |", "| --- | --- | --- | --- | --- |"]
    for p in params_of(method).values():
        meaning = _ID_MEANING.format(what=p.name.removesuffix("_id").replace("_", " ")) if p.location == "path" \
            else _first_sentences(p.description)
        out.append(f"| `{p.name}` | {_cell(p.type_text)} | {'yes' if p.required else 'no'} | {p.location} | "
                   f"{_cell(meaning)} |")
    out += ["", "Example `msg.payload`:", "", "```json", json.dumps(method.example, indent=2, ensure_ascii=False),
            "```", "", f"Result: `msg.payload` is {method.returns}."]
    if traits(method).paginated:
        out[-1] = (f"Result: `msg.payload` is {method.returns} (an array); `msg.openai` has `has_more`, "
                   "`first_id` and `last_id`.")
    if method.notes:
        out += ["", method.notes]
    for note in _kind_notes(method):
        out += ["", note]
    return out + [""]


_NODE_TEXT = """\
The request is read from `property` (default `msg.payload`; `propertyType` msg, flow or global). The ids
(`thread_id`, `run_id`, `step_id`, ...) are taken out of it for the URL; every other key is a parameter of
the method. The payload is checked **before any request** against the official Python SDK's own parameter
types: a missing required property, an unknown one (with the closest known name suggested) or a wrong type
is a node error naming the method and the property, and nothing is sent.

On success `msg.payload` is the API's answer as plain JSON data (the API's field names, no SDK objects) and
`msg.openai` holds `method` and `request_id` (plus `has_more`/`first_id`/`last_id` for lists, `polled` after
`wait`). Other msg properties are kept.

On failure the msg goes to `catch` nodes exactly as it arrived, with `msg.error` = `message`, `source`,
`method`, `status` (HTTP status or null), `type`, `code`, `param` and `request_id` (quote it to OpenAI
support). `code` is `invalid_payload` for validation failures (then `problems` lists every property at
fault), `timeout` / `connection_error` when no answer came, `configuration_error` when no API key was found.
Retries (429, 5xx, connection errors, honouring `Retry-After`) are the SDK's, set on the config node.
The API key never appears in a msg, a log line, a status or an error.

Status: blue dot `requesting`, green dot `streaming`, red ring `error`; cleared on success.

With the runtime's `metrics: true` setting, `/metrics` counts the calls, failures (by `msg.error.type`) and
call time per method: `flowwire_openai_calls_total`, `flowwire_openai_errors_total`,
`flowwire_openai_call_seconds` ([docs/http.md](../http.md#metrics)).

Streaming (`stream: true` on the methods that allow it): one msg per server event, in order, each a
shallow copy of the input msg with `msg.event` = the event name (`thread.run.created`,
`thread.message.delta`, ...), `msg.payload` = the event's data and `msg.openai` = `{method, event, index,
done}`. A last msg with `msg.event = "done"` and `msg.openai.done = true` ends the stream; its payload is
the run as the stream left it (`completed`, `requires_action`, ...).
"""

_HELP_FIXES = """\
## Differences from the Node-RED help (node-red-openai-api 1.103.0)

The tables above come from the SDK, so they correct the Node-RED Runs help where it is wrong:
`include` is optional and sent in the query (createRun, getRunStep); createRun accepts `reasoning_effort`;
`tool_choice` also takes `"required"`; createRun's `tool_choice` chooses which tool the model must call (the
help repeats the `truncation_strategy` text); `top_p` and the other `Optional` properties accept `null` on
both create methods; `order` is `"asc"` or `"desc"`; `metadata` values must be strings. Starred keys
(`type`*) are required inside an object.
"""


def runs_doc() -> str:
    out = ["<!-- generated by `python -m nodes.openai.docs`; do not edit -->", "", "# openai-runs",
           "", "Runs of the OpenAI Assistants API from a flow: create (with or without a new thread), list, get,",
           "modify, cancel, submit tool outputs, and the run steps. Requests go through the official `openai`",
           "Python SDK via the shared client of an [`openai-config`](openai-config.md) node.", "",
           "## Node properties", "", *_props_table(OpenAIMethodProps), "", "## Messages", "", _NODE_TEXT,
           "## Methods", ""]
    for method in METHODS:
        if method.service == "runs":
            out += method_section(method)
    out += [_HELP_FIXES]
    return "\n".join(out)


def api_doc() -> str:
    groups = by_service()
    count = sum(1 for m in METHODS if not m.unavailable)
    out = ["<!-- generated by `python -m nodes.openai.docs`; do not edit -->", "", "# openai-api", "",
           f"Every method that node-red-openai-api's `OpenAI API` node offers (1.103.0 and 6.34.0: {count} callable "
           f"methods in {len(groups)} services), by Node-RED name. Registered also as Node-RED's `OpenAI API` type, "
           "so exported flows keep working. Properties, messages and errors are as for "
           "[`openai-runs`](openai-runs.md), whose Runs methods are listed there. `flowwire nodes openai-api` lists "
           "the methods by service.", "", _API_TEXT, _DIFFERENCES, "## Services", ""]
    out += [f"- [{SERVICES[s]}](#{_anchor(SERVICES[s])}): " + ", ".join(m.name for m in rows)
            for s, rows in groups.items()]
    out.append("")
    for service, rows in groups.items():
        out += [f"## {SERVICES[service]}", ""]
        if service == "runs":
            out += ["See [`openai-runs`](openai-runs.md#methods): "
                    + ", ".join(f"`{m.name}`" for m in rows) + ".", ""]
            continue
        for method in rows:
            out += method_section(method)
    return "\n".join(out)


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


_API_TEXT = """\
Kinds of calls, read from the SDK's signature of each method:

- **Files in** (audio transcription and translation, files, upload parts, image edits and variations, container
  files, vector store uploads, skills, videos): a file field takes a host path (string), bytes, Node-RED's
  Buffer JSON `{"type": "Buffer", "data": [...]}`, or `{"filename", "content"[, "mime"]}` (content as bytes, a
  Buffer, or text; `base64:...` for binary text). A path that names no file is a node error naming the field
  and the path, before any request.
- **Binaries out** (speech, file content, container file content, skill content, video content): `msg.payload`
  is bytes, `msg.openai.content_type` their content type.
- **Streams** (chat completions, responses, transcriptions, images, and the Runs): with `stream: true` one msg per
  server event, in order, `msg.event` its name or type, then a last msg with `msg.event = "done"`,
  `msg.openai.done = true` and the object the stream built (the completion, the response, the run) as payload.
- **Lists**: the first page, cursors (`has_more`, `first_id`, `last_id`) on `msg.openai`; with *fetch all
  pages*, every item.
- **No body** (realtime calls, container and response deletes): `msg.payload` is the ids plus a status, e.g.
  `{"call_id": "...", "status": "accepted"}`.
- **Local** (webhooks): the SDK checks the signature here; nothing is sent.
"""

_DIFFERENCES = """\
## Differences from Node-RED's node

- Calls follow the Python SDK's shapes, so the two-id methods (getMessage, getRun, retrieveContainerFile, ...)
  and the deletes work (node-red-openai-api 6.34.0 calls SDK-4 shapes there and fails; 1.103.0 never wired
  the Messages methods and called vector stores under `beta`). cancelVectorStoreFileBatch cancels (1.103.0
  retrieved).
- `msg.payload` is the API's whole answer as JSON data (createEmbedding and the image methods included: `data`
  is inside it), and bytes for downloads (1.103.0 gives a fetch `Response` object or a string).
- Streams end with a `done` msg holding what the stream built; Node-RED sends none.
- File fields take bytes, Buffers and named contents besides a host path; a missing file is a node error
  before any request (Node-RED throws inside `fs`).
- Extra properties are errors naming the closest known one (Node-RED passes them on, often as request
  options that are silently dropped: e.g. createUpload's `expires_after`, completeUpload's `md5`).
- The four `...AssistantFile` methods fail validation (Node-RED only logs "Function ... does not exist").
- unwrapWebhookEvent takes no `tolerance` (the Python SDK's unwrap has none; verifyWebhookSignature does).
- pauseFineTuningJob and resumeFineTuningJob are flowwire additions (the SDK has them).
"""


_SERVICE_HOST = {
    "apiBase": "base_url", "apiBaseType": "base_url_type (str or env)", "organizationId": "organization",
    "secureApiKeyHeaderOrQueryName": "key_header (blank = Authorization)",
    "secureApiKeyIsQuery": "key_in_query (true or \"true\")",
    "secureApiKeyValue (credential)": "api_key with api_key_type cred",
    "secureApiKeyValueType / secureApiKeyValueRef": "api_key_type / api_key (env, msg, flow, global)",
}


def config_doc() -> str:
    node_red = frozenset(n for n in OpenAIConfigProps.model_fields if n[0].islower() and not n.islower()
                         and "_" not in n) | frozenset({"temp"})
    out = ["<!-- generated by `python -m nodes.openai.docs`; do not edit -->", "", "# openai-config", "",
           "Where and how to reach the OpenAI API, or any server that speaks it (a gateway, the offline",
           "emulator: `flowwire emulate openai`). Every node that names this config node shares **one**",
           "`AsyncOpenAI` client: one connection pool (kept-alive connections, at most `max_connections`), at",
           "most `max_concurrent` requests in flight, the SDK's retries and timeouts.", "",
           "## Properties", "", *_props_table(OpenAIConfigProps, skip=node_red), "",
           "## The API key", "",
           "By default the key is read from the environment variable `OPENAI_API_KEY` (`api_key_type: env`,",
           "`api_key: OPENAI_API_KEY`). Other sources: `cred` (the key itself, typically from a credentials file",
           "or `${VAR}` substitution), `file` (a file holding the key, e.g. a container secret; relative to the",
           "flow file), or per message (opt-in) `msg` (a msg property, removed from the msg as soon as it is",
           "read), `flow` or `global` (a context key). Whatever the source, the key is registered as a secret:",
           "it is masked in logs, statuses and errors, and never written to a msg.", "",
           "Gateways that want the key elsewhere: set `key_header` to send the raw key (no `Bearer`) in that",
           "header, or also `key_in_query` to send it as that query parameter; `Authorization` is then not sent.",
           "", "## Offline: the built-in emulator", "",
           "`emulator: auto` makes a flow run on a machine with no API key and no network: when no key is found",
           "(e.g. `OPENAI_API_KEY` is not set) the config node starts the OpenAI emulator inside the flow's process",
           "on a free loopback port, with the demo assistant `asst_flowwire_demo` (a `get_weather` function tool)",
           "already created, points the shared client at it and logs one `OFFLINE: OpenAI calls go to the built-in",
           "emulator ...` line. `emulator: always` uses it even when a key is set. The emulator lives as long as the",
           "flow (config nodes start first and close last). Its model is deterministic: it echoes the last user",
           "message and calls a function tool when the message names it (`get_weather`, or `the weather` for a",
           "`get_`-style name); see `nodes/openai/emulator/_model.py`. `auto` needs a key source known at start, so",
           "it is a validation error with a per-message key (`msg`, `flow`, `global`).", "",
           "## Node-RED `Service Host`", "",
           "Flows exported from Node-RED keep working: the type `Service Host` is accepted with its properties.",
           "", "| Service Host property | becomes |", "| --- | --- |"]
    out += [f"| `{k}` | {v} |" for k, v in _SERVICE_HOST.items()]
    out += [""]
    return "\n".join(out)


def generate() -> dict[Path, str]:
    return {DOCS_DIR / "openai-runs.md": runs_doc(), DOCS_DIR / "openai-api.md": api_doc(),
            DOCS_DIR / "openai-config.md": config_doc()}


def main(argv: list[str] | None = None) -> int:
    for path, text in generate().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
