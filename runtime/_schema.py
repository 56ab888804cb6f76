"""A JSON Schema of flow documents, derived from the node models.

Editors (VS Code's YAML extension and others) use it to complete and check
flow files; it is generated, never hand-kept, so it follows the models.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from . import _registry

_ID = {"type": "string", "minLength": 1}


def flow_schema() -> dict[str, Any]:
    _registry.load_builtins()
    types = _registry.all_types()
    models = [(cls.Props, "validation") for cls in types.values()]
    keys, defs = models_json_schema(models, ref_template="#/$defs/{model}")
    defs = dict(defs.get("$defs", {}))
    names = {cls.type: keys[(cls.Props, "validation")]["$ref"] for cls in types.values()}
    for alias_of in list(types):
        for alias in _registry.aliases_of(alias_of):
            names[alias] = names[alias_of]
    wires = {
        "description": "one list of target ids per output port; `[a, b]` or `a` is shorthand for port 0",
        "anyOf": [_ID, {"type": "array", "items": _ID}, {"type": "array", "items": {"type": "array", "items": _ID}}],
    }
    node = {
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": _ID,
            "type": {
                "type": "string",
                # Subflow definitions, their instances and global-config are loading concerns, not node types.
                "anyOf": [{"enum": sorted(names)}, {"enum": ["subflow", "global-config"]}, {"pattern": "^subflow:."}],
            },
            "name": {"type": "string"},
            "z": {"type": "string", "description": "the tab this node is on"},
            "g": {"type": "string", "description": "the group this node is in"},
            "d": {"type": "boolean", "description": "disabled"},
            "wires": wires,
        },
        "allOf": [{"if": {"properties": {"type": {"const": t}}, "required": ["type"]}, "then": {"$ref": ref}} for t, ref in sorted(names.items())],
    }
    defs["node"] = node
    nodes = {"type": "array", "items": {"$ref": "#/$defs/node"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "flowwire flow document",
        "description": "A Node-RED style list of nodes, or a mapping with nodes, settings and modules.",
        "anyOf": [
            nodes,
            {
                "type": "object",
                "required": ["nodes"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "nodes": nodes,
                    "settings": {"type": "object"},
                    "modules": {"type": "array", "items": {"type": "string"}},
                    "tests": {"type": "array", "items": {"type": "object"}, "description": "flowwire test cases (docs/testing-flows.md)"},
                },
            },
        ],
        "$defs": defs,
    }
