"""Every operation of the OpenAPI document, answered from its schema, with state where flows chain calls.

The shape of a path says what an operation does, and that is enough to keep
state without code per resource: `POST /things` (with a `GET /things/{id}`
next to it) creates, `GET /things` lists what was created, `GET`, `POST` and
`DELETE /things/{id}` read, update and delete it, `POST /things/{id}/verb`
(cancel, pause, resume, complete) changes its status. Objects are built from
the documented example when it fits the schema, else from the schema itself
(`_synth`), then given fresh ids and timestamps and the request's own values
where the schema has a property of that name and the value fits it. Answers
therefore validate against the document, and the SDK parses them.

Requests are validated against the operation's request schema first: a body
the real API would refuse gets a 400 in OpenAI's error shape.

Operations whose answers need more than their shape (chat completions,
responses, files and their content, audio, uploads, searches) are in
`_handlers.py`; they build on the helpers here.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from . import _spec, _synth
from ._errors import bad_request, not_found
from ._ids import IdFactory
from ._pagination import paginate

JsonObj = dict[str, Any]
_TIME_KEYS = ("created_at", "created", "updated_at", "last_active_at", "started_at")
_PREFERRED_STATUS = ("completed", "succeeded", "active", "processed", "ready", "running")
_VERB_STATUS = {"cancel": ("cancelled", "cancelling"), "pause": ("paused",), "resume": ("running", "in_progress"),
                "complete": ("completed",)}


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Answer:
    """What a handler answers: JSON, bytes, or a stream of server-sent events."""

    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"
    events: list[tuple[str | None, Any]] | None = None  # (event name or None, data)
    done_marker: bool = False                           # end the stream with `data: [DONE]`
    empty: bool = False                                  # 200 with no body


@dataclass
class Call:
    """One request, matched to its operation."""

    op: _spec.Operation
    params: dict[str, str]
    query: Mapping[str, str]
    body: Any
    multipart: bool

    @property
    def path(self) -> str:
        return self.op.template.format(**self.params)


@dataclass
class Resources:
    """Objects created through the document's operations, by concrete collection path."""

    ids: IdFactory
    collections: dict[str, dict[str, JsonObj]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)     # object id → bytes (files, parts, outputs)
    extras: dict[str, Any] = field(default_factory=dict)         # handler state (request messages, ...)

    def collection(self, path: str) -> dict[str, JsonObj]:
        return self.collections.setdefault(path, {})

    def find(self, path: str, object_id: str, kind: str) -> JsonObj:
        try:
            return self.collections[path][object_id]
        except KeyError:
            raise not_found(kind, object_id) from None

    def anywhere(self, object_id: str) -> JsonObj | None:
        """An object by id whatever its collection (files are referenced from many places)."""
        for items in self.collections.values():
            if object_id in items:
                return items[object_id]
        return None


# -- request checks ---------------------------------------------------------------------------------
def _where(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_request(call: Call) -> None:
    """Raise the 400 the real API would send for a body that does not fit the operation's schema."""
    if call.multipart:
        schema = _spec.resolve(call.op.request_schema("multipart/form-data") or {})
        for name in schema.get("required", []) if isinstance(schema, dict) else []:
            if name not in (call.body or {}):
                raise bad_request(f"Missing required parameter: '{name}'.", param=name,
                                  code="missing_required_parameter")
        return
    schema = call.op.request_schema("application/json")
    if schema is None:
        return
    body = {} if call.body is None else call.body
    error = jsonschema.exceptions.best_match(_spec.validator(schema).iter_errors(body))
    if error is None:
        return
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = ".".join(filter(None, [_where(error), missing[0] if missing else ""]))
        raise bad_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    where = _where(error) or "body"
    if error.validator == "additionalProperties":
        unknown = re.findall(r"'([^']+)' was unexpected", error.message)
        name = ".".join(filter(None, [_where(error), unknown[0] if unknown else ""]))
        raise bad_request(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    code = "invalid_type" if error.validator == "type" else "invalid_value"
    raise bad_request(f"Invalid value for '{where}': {error.message[:300]}", param=where, code=code)


# -- building objects ----------------------------------------------------------------------------------
@functools.cache
def _base(op: _spec.Operation) -> Any:
    """The operation's documented example if it fits the schema, else a synthesised instance."""
    schema = op.response_schema()
    if schema is None:
        return None
    example = op.example()
    if example is not None and _spec.validator(schema).is_valid(example):
        return example
    return _synth.instance(schema)


@functools.cache
def properties(schema_json: str) -> dict[str, Any]:
    """The top-level properties of an object schema (allOf parts merged)."""
    schema = _spec.resolve(json.loads(schema_json))
    props: dict[str, Any] = {}
    for part in [schema, *[_spec.resolve(p) for p in schema.get("allOf", [])]] if isinstance(schema, dict) else []:
        if isinstance(part, dict):
            for key, sub in part.get("properties", {}).items():
                props.setdefault(key, sub)
    return props


def props_of(op: _spec.Operation) -> dict[str, Any]:
    schema = op.response_schema()
    return properties(json.dumps(schema, sort_keys=True)) if schema else {}


#: Id prefixes of objects whose documented example has none (the schema alone says nothing).
_PREFIXES = {"vector_store": "vs_", "fine_tuning.job": "ftjob-", "vector_store.file_batch": "vsfb_",
             "container": "cntr_", "container.file": "cfile_", "eval": "eval_", "eval.run": "evalrun_",
             "conversation": "conv_", "upload": "upload_", "video": "video_", "skill": "skill_", "batch": "batch_"}


def _prefix(example_id: Any, obj: JsonObj) -> str:
    if (known := _PREFIXES.get(str(obj.get("object")))) is not None:
        return known
    if isinstance(example_id, str) and (m := re.match(r"^([A-Za-z]+[_-])", example_id)) and len(example_id) > 4:
        return m.group(1)
    return str(obj.get("object", "obj")).split(".")[-1] + "_"


def fresh(resources: Resources, obj: Any, new_id: bool = True) -> Any:
    """A new id (same prefix as the documented one) and the current time where the object has them."""
    if not isinstance(obj, dict):
        return obj
    if new_id and isinstance(obj.get("id"), str):
        prefix = _prefix(obj["id"], obj)
        obj["id"] = resources.ids.new(prefix.rstrip("_-")) if prefix.endswith("_") else \
            prefix + resources.ids.new("x")[2:]
    now = int(time.time())
    for key in _TIME_KEYS:
        if isinstance(obj.get(key), (int, float)) and not isinstance(obj.get(key), bool):
            obj[key] = now
    _sdk_extras(obj)
    return obj


def _sdk_extras(obj: Any) -> None:
    """Fields the SDK requires that the document does not list yet (SDK 3.57: `cache_write_tokens`)."""
    if isinstance(obj, dict):
        details = obj.get("input_tokens_details")
        if isinstance(details, dict) and "cached_tokens" in details:
            details.setdefault("cache_write_tokens", 0)
        for value in obj.values():
            if isinstance(value, (dict, list)):
                _sdk_extras(value)
    elif isinstance(obj, list):
        for value in obj:
            _sdk_extras(value)


def overlay(op: _spec.Operation, obj: Any, values: Mapping[str, Any]) -> Any:
    """Copy request values onto the answer where the answer has a property of that name that fits."""
    if not isinstance(obj, dict) or not isinstance(values, Mapping):
        return obj
    props = props_of(op)
    for key, value in values.items():
        fits = key in props and key != "id" and not isinstance(value, Upload) and value is not None
        if fits and _spec.validator(props[key]).is_valid(value):
            obj[key] = copy.deepcopy(value)
    return obj


def _set_status(op: _spec.Operation, obj: JsonObj, wanted: tuple[str, ...]) -> None:
    schema = _spec.resolve(props_of(op).get("status", {}))
    allowed = _enum(schema)
    for status in wanted:
        if status in allowed:
            obj["status"] = status
            return


def _enum(schema: Any) -> list[Any]:
    schema = _spec.resolve(schema)
    if not isinstance(schema, dict):
        return []
    values = list(schema.get("enum", []))
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        values += _enum(branch)
    return values


def build(resources: Resources, call: Call, *, new_id: bool = True) -> Any:
    """A fresh answer object for `call`: base instance, new ids and times, request values, path ids."""
    obj = fresh(resources, copy.deepcopy(_base(call.op)), new_id)
    if isinstance(call.body, Mapping):
        overlay(call.op, obj, call.body)
    if isinstance(obj, dict):
        props = props_of(call.op)
        for name, value in call.params.items():
            if name in props and name != "id":
                obj[name] = value
    return obj


# -- generic CRUD by path shape ------------------------------------------------------------------------
@functools.cache
def _item_of(template: str) -> _spec.Operation | None:
    """`GET /things/{id}` for a collection template `/things`."""
    return next((op for op in _spec.operations()
                 if op.method == "get" and op.template.startswith(template + "/{")
                 and op.template.count("/") == template.count("/") + 1), None)


@functools.cache
def _creates(template: str) -> bool:
    """Whether `POST template` creates things one can then read by id (a stateful collection)."""
    return _spec.find("post", template) is not None and _item_of(template) is not None


def _split_item(template: str) -> tuple[str, str] | None:
    """`/things/{thing_id}` → (`/things`, `thing_id`)."""
    m = re.match(r"^(.*)/\{([^/}]+)\}$", template)
    return (m.group(1), m.group(2)) if m else None


def _kind(template: str) -> str:
    name = template.rstrip("/").split("/")[-1].strip("{}")
    return name.removesuffix("s").replace("_", " ")


def generic(resources: Resources, call: Call) -> Answer:
    """Create, list, read, update, delete or act on stored objects by the path's shape; else a fresh answer."""
    op, template = call.op, call.op.template
    item = _split_item(template)
    if item is None and _creates(template):
        if op.method == "post":
            return Answer(create(resources, call))
        if op.method == "get":
            return Answer(listing(resources, call, list(resources.collection(call.path).values())))
    if item is not None and _creates(item[0]):
        collection = item[0].format(**call.params)
        object_id = call.params[item[1]]
        stored = resources.find(collection, object_id, _kind(item[0]))
        if op.method == "get":
            return Answer(_shaped(op, stored, object_id))
        if op.method == "post":
            overlay(op, stored, call.body or {})
            return Answer(_shaped(op, stored, object_id))
        if op.method == "delete":
            del resources.collections[collection][object_id]
            return deleted(resources, call, object_id)
    verb = re.match(r"^(.*/\{[^/}]+\})/([a-z_]+)$", template)
    if verb is not None and op.method == "post" and (parent := _split_item(verb.group(1))) is not None:
        collection = parent[0].format(**call.params)
        if collection in resources.collections and _is_action(op, verb.group(1), verb.group(2)):
            stored = resources.find(collection, call.params[parent[1]], _kind(parent[0]))
            _set_status(op, stored, _VERB_STATUS.get(verb.group(2), ()))
            return Answer(stored)
    return stateless(resources, call)


def action_without_operation(resources: Resources, method: str, path: str) -> Answer | None:
    """`POST /things/{id}/cancel` that the SDK sends but the document lacks (eval runs): the action on
    the stored thing, answered as the thing."""
    head, _, verb = path.rpartition("/")
    if method.lower() != "post" or verb not in _VERB_STATUS or (found := _spec.match("get", head)) is None:
        return None
    read, params = found
    item = _split_item(read.template)
    if item is None or item[0].format(**params) not in resources.collections:
        return None
    stored = resources.find(item[0].format(**params), params[item[1]], _kind(item[0]))
    _set_status(read, stored, _VERB_STATUS[verb])
    return Answer(stored)


def _is_action(op: _spec.Operation, parent_template: str, verb: str) -> bool:
    """`POST /things/{id}/cancel` acts on the thing (answers with it); `POST /projects/{id}/users` does not."""
    parent = _spec.find("get", parent_template)
    return verb in _VERB_STATUS or (parent is not None and parent.response_schema() == op.response_schema())


def create(resources: Resources, call: Call) -> JsonObj:
    """A new object in the collection at `call.path`; its id is the request's own when it names one
    (a vector store file is keyed by its `file_id`)."""
    obj = build(resources, call)
    item = _item_of(call.op.template)
    key = item.params[-1] if item else "id"
    named = call.body.get(key) if isinstance(call.body, Mapping) and key != "id" else None
    if isinstance(named, str) and named and "id" in obj:
        obj["id"] = named
    _set_status(call.op, obj, _PREFERRED_STATUS)
    if key != "id" and obj.get(key) == "":  # e.g. a skill version's number
        obj[key] = str(len(resources.collection(call.path)) + 1)
    # items addressed by another property than their id (a skill version by `version`), or by the id the
    # request named (an assignment of a role to a group has no id of its own)
    address = next((a for a in (named, obj.get(key) if key != "id" else None, obj.get("id"))
                    if isinstance(a, str) and a), None) or resources.ids.new("obj")
    resources.collection(call.path)[address] = obj
    return obj


def listing(resources: Resources, call: Call, items: list[JsonObj]) -> JsonObj:
    base = build(resources, call, new_id=False)
    props = props_of(call.op)
    if "data" in props:
        items = [_conform(props["data"], item) for item in items]
    page = paginate(items, call.query)
    for key, value in page.items():
        # an empty page has no first/last id; keep the placeholder where the schema wants a string
        nullable = key not in props or _spec.validator(props[key]).is_valid(None)
        if (key in props or key in base) and (value is not None or nullable):
            base[key] = value
    return base


def _shaped(op: _spec.Operation, stored: JsonObj, object_id: str) -> JsonObj:
    """A stored object as this operation answers it (a role assignment is read back as the role)."""
    schema = op.response_schema()
    if schema is None or _spec.validator(schema).is_valid(stored):
        return stored
    shaped = _conform({"items": schema}, stored)
    if "id" in shaped:
        shaped["id"] = object_id
    return shaped


def _conform(list_schema: Any, obj: JsonObj) -> JsonObj:
    """A stored object as a list item: lists sometimes use another schema than the object's own
    (`certificate` vs `organization.certificate`); then the item is built from the list's and takes the
    stored values that fit it."""
    items = _spec.resolve(list_schema).get("items") if isinstance(_spec.resolve(list_schema), dict) else None
    if items is None or _spec.validator(items).is_valid(obj):
        return obj
    item = _synth.instance(items)
    if isinstance(item, dict):
        props = properties(json.dumps(items, sort_keys=True))
        for key, value in obj.items():
            if key in props and key != "object" and _spec.validator(props[key]).is_valid(value):
                item[key] = value
    return item


def deleted(resources: Resources, call: Call, object_id: str) -> Answer:
    if call.op.response_schema() is None:
        return Answer(empty=True)
    obj = build(resources, call, new_id=False)
    if isinstance(obj, dict):
        if "id" in obj:
            obj["id"] = object_id
        if "deleted" in obj:
            obj["deleted"] = True
    return Answer(obj)


def stateless(resources: Resources, call: Call) -> Answer:
    """An answer from the document alone (models, moderations, embeddings, ...)."""
    types = call.op.response_types()
    if not types:
        return Answer(empty=True)
    if "application/json" not in types:
        data = resources.contents.get(next(iter(call.params.values()), ""), b"emulated content\n")
        return Answer(raw=data, content_type=types[0])
    obj = build(resources, call)
    item = _split_item(call.op.template)
    if isinstance(obj, dict) and item is not None and "id" in obj:
        obj["id"] = call.params[item[1]]
    if isinstance(obj, dict) and "deleted" in obj and call.op.method == "delete":
        obj["deleted"] = True
    return Answer(obj)
