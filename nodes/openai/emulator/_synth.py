"""A small valid instance of a schema of the OpenAPI document: the emulator's generic answer.

Required properties only, the first non-null branch of a union, the first
value of an enum, the smallest value a bound allows. Ids and timestamps are
filled in afterwards (`_generic.fresh`), so every answer looks new.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ._spec import resolve, validator

_MAX_DEPTH = 12


def _merge(parts: list[Any]) -> Any:
    merged: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            return part
        merged.update(part)
    return merged


def _first_valid(options: list[Any], name: str, depth: int) -> Any:
    """An instance of the first branch of a union that yields a valid one (null last)."""
    ordered = sorted(options, key=lambda o: isinstance(r := resolve(o), dict) and r.get("type") == "null")
    for option in ordered:
        candidate = instance(option, name, depth + 1)
        if validator(option).is_valid(candidate):
            return candidate
    return instance(ordered[0], name, depth + 1)


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    python = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    if "enum" in schema and value not in schema["enum"]:
        return False
    return not kinds or any(isinstance(value, python[k]) for k in kinds if k in python)


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if name in ("object", "type") and (m := re.search(r"`([a-z_.]+)`", schema.get("description", ""))):
        return m.group(1)  # "The object type, which is always `container.file`." (no enum in the document)
    if fmt == "uri" or name.endswith("url"):
        return "https://example.com/emulated"
    if name == "model":
        return "gpt-4o-mini"  # what a request would have named (answers overlay the request's own)
    if fmt == "date-time":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if fmt == "binary":
        return ""
    return "" if schema.get("minLength") is None else "x" * int(schema["minLength"])


def instance(schema: Any, name: str = "", depth: int = 0) -> Any:
    """A value valid against `schema` (as far as the document's constructs go)."""
    schema = resolve(schema)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    default = schema.get("default")
    if default is not None and not isinstance(default, (dict, list)) and _fits(default, schema):
        return default
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        return values[0] if values else None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            base = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
            chosen = _first_valid(schema[key], name, depth)
            if base.get("properties") and isinstance(chosen, dict):
                return {**instance(base, name, depth + 1), **chosen}
            return chosen
    if "allOf" in schema:
        parts = [resolve(p) for p in schema["allOf"]]
        if all(isinstance(p, dict) and (p.get("type") == "object" or "properties" in p) for p in parts):
            # one object: a key required by one part may be described by another
            props: dict[str, Any] = {}
            for part in parts:
                for key, sub in part.get("properties", {}).items():
                    props.setdefault(key, sub)
            required = [k for p in parts for k in p.get("required", [])]
            return instance({"type": "object", "properties": props, "required": list(dict.fromkeys(required))},
                            name, depth + 1)
        return _merge([instance(part, name, depth + 1) for part in schema["allOf"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        # an optional `object` is still what clients use to tell objects apart: always set it when known
        keys = list(schema.get("required", [])) + (["object"] if "object" in props else [])
        return {key: instance(props.get(key, {}), key, depth + 1) for key in dict.fromkeys(keys)}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [instance(schema.get("items", {}), name, depth + 1) for _ in range(count)]
    if kind == "string":
        return _string(schema, name)
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}
