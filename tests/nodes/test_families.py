"""Each built-in family's `NODE_TYPES` names exactly the types and aliases its modules register, and where.

The registry imports a node module only when a flow uses one of the types
the table places in it, so a type missing from the table, or placed in the
wrong module, would be unknown to every flow.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from runtime import _registry

FAMILIES = ["nodes.core", "nodes.http", "nodes.mqtt", "nodes.openai"]


def _registered_by(package: str) -> dict[str, str]:
    """Every type and alias the package's node modules register: name → module (relative to the package)."""
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if not info.ispkg and not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
    found: dict[str, str] = {}
    for name, cls in _registry.all_types().items():
        if cls.__module__.startswith(package + "."):
            module = cls.__module__.removeprefix(package + ".")
            found[name] = module
            found.update({alias: module for alias in _registry.aliases_of(name)})
    return found


@pytest.mark.parametrize("package", FAMILIES)
def test_the_node_types_table_matches_what_the_modules_register(package: str) -> None:
    _registry.load_builtins()
    assert importlib.import_module(package).NODE_TYPES == _registered_by(package)


def test_a_declared_type_is_found_by_name_and_alias_and_suggested() -> None:
    _registry.load_builtins()
    assert _registry.lookup("mqtt_in") is _registry.lookup("mqtt in")
    assert _registry.canonical("OpenAI API") == "openai-api"
    assert "websocket out" in _registry.suggest("websocket-out")
