"""Every node type flowwire ships is documented under docs/nodes/."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime import _registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "nodes"
_registry.load_builtins()
TYPES = [name for name, cls in _registry.all_types().items() if cls.__module__.startswith("nodes.")]  # not the test modules' types


@pytest.mark.parametrize("type_name", TYPES)
def test_node_type_has_a_docs_page(type_name: str) -> None:
    pages = [p for p in DOCS.glob("*.md") if f"`{type_name}`" in (text := p.read_text()) or f"# {type_name}" in text]
    assert pages, f"no page in docs/nodes names the node type {type_name!r}"
