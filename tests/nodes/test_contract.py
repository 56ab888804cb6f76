"""Built-in nodes are written against the public node contract only.

The built-in families are the examples third-party authors copy, so they may
use nothing a third-party node could not: no `runtime._*` module, and no
private attribute of runtime objects (the base class's `_router`,
`_delivery`, ... nor another object's `_x`). An AST walk keeps it so.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p for p in (ROOT / "nodes").rglob("*.py"))
#: What `runtime.Node` keeps for itself: a subclass touching these reaches into the runtime.
NODE_PRIVATE = {"_runtime", "_router", "_delivery", "_route"}


def _runtime_private_names() -> set[str]:
    """Every private attribute or method the runtime's classes define (Held's `_finished`, Router's `_queue`, ...)."""
    names: set[str] = set()
    for path in (ROOT / "runtime").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in ast.walk(node):
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("_") and not item.name.startswith("__"):
                        names.add(item.name)
                    elif isinstance(item, ast.Attribute) and isinstance(item.value, ast.Name) and item.value.id == "self" and item.attr.startswith("_"):
                        names.add(item.attr)
    return {n for n in names if not n.startswith("__")}


RUNTIME_PRIVATE = _runtime_private_names()


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("runtime._") or (node.module == "runtime" and any(a.name.startswith("_") for a in node.names)):
                found.append(f"{where}: imports a private runtime module ({node.module})")
        elif isinstance(node, ast.Import):
            found += [f"{where}: imports {a.name}" for a in node.names if a.name.startswith("runtime._")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner in ("self", "cls"):
                if node.attr in NODE_PRIVATE:
                    found.append(f"{where}: uses the runtime's {owner}.{node.attr}")
            elif owner == "runtime" or node.attr in RUNTIME_PRIVATE:
                found.append(f"{where}: uses a runtime object's private attribute {ast.unparse(node)}")
        elif isinstance(node, ast.Attribute) and node.attr == "runtime" and isinstance(node.value, ast.Name) and node.value.id == "self":
            found.append(f"{where}: uses self.runtime (the contract offers settings, base_dir, node_by_id, spawn, ...)")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_node_modules_use_only_the_public_contract(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_catches_a_reach_into_the_runtime(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from runtime._routing import clone\n"
        "from runtime import _jsonata\n"
        "class N:\n"
        "    def on_input(self, msg):\n"
        "        self._router.enqueue(None, msg, None)\n"
        "        held._finished\n"
        "        return self.runtime.graph\n",
        encoding="utf-8",
    )
    found = _violations(bad)
    assert len(found) == 5, found
