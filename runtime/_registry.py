"""Type name → node class.

Node families, flowwire's own included, advertise a module in the entry-point
group `flowwire.nodes`; a flow may name extra modules or `.py` files in its
`modules:` list. Both end in the same place: importing a module runs its
`@register` decorators.

A family's module may declare `NODE_TYPES` ({type or alias: submodule}) and
leave its node modules unimported: a node module is then imported the first
time a flow uses one of its types, so a process holds only the node code
(and the libraries behind it) that its flows use. Listing every type
(`flowwire nodes`, `flowwire schema`, `GET /nodes`) imports them all.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import TypeVar

from ._errors import FlowwireError
from ._node import Node

log = logging.getLogger("flowwire.registry")

N = TypeVar("N", bound=type[Node])

ENTRY_POINT_GROUP = "flowwire.nodes"

_types: dict[str, type[Node]] = {}
_aliases: dict[str, str] = {}
#: Types and aliases families declared (`NODE_TYPES`) whose module is not imported yet: name → module.
_declared: dict[str, str] = {}
_loaded = False


def register(type_name: str, *, aliases: Iterable[str] = ()) -> Callable[[N], N]:
    """Class decorator: make a node class available under `type_name` (and aliases)."""

    def decorate(cls: N) -> N:
        if not (isinstance(cls, type) and issubclass(cls, Node)):
            raise TypeError("@register decorates subclasses of runtime.Node")
        cls.type = type_name
        doc = (cls.__doc__ or "").strip()
        cls.summary = doc.splitlines()[0] if doc else ""
        _import_declared(type_name)  # a family's type this one replaces is imported first, as if loaded eagerly
        existing = _types.get(type_name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            log.warning("node type %r from %s replaces %s", type_name, cls.__module__, existing.__module__)
        _types[type_name] = cls
        for alias in aliases:
            _aliases[alias] = type_name
        return cls

    return decorate


def load_builtins() -> None:
    """Import every installed node family (entry-point group `flowwire.nodes`), once.

    flowwire's own families (core, mqtt, openai) are found the same way as a
    third-party package's, so the core depends on none of them.
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    families = entry_points(group=ENTRY_POINT_GROUP)
    if not families:
        log.error("no node families are installed (entry-point group %r): install flowwire with pip", ENTRY_POINT_GROUP)
    for ep in families:
        try:
            family = ep.load()
        except Exception as exc:
            log.error("node family %r (%s) failed to load, its node types are unavailable: %s: %s", ep.name, ep.value, type(exc).__name__, exc)
            log.debug("import of %s failed", ep.value, exc_info=True)
            continue
        declared = getattr(family, "NODE_TYPES", None)
        if isinstance(declared, Mapping):
            for name, module in declared.items():
                if name not in _types and name not in _aliases:
                    _declared.setdefault(name, f"{family.__name__}.{module}")


def _import_declared(name: str) -> None:
    """Import the node module a family declared `name` in, if it is not imported yet."""
    module = _declared.get(name)
    if module is None:
        return
    for other in [n for n, m in _declared.items() if m == module]:
        del _declared[other]
    try:
        importlib.import_module(module)
    except Exception as exc:
        log.error("node module %s failed to load, its node types are unavailable: %s: %s", module, type(exc).__name__, exc)
        log.debug("import of %s failed", module, exc_info=True)


def _import_all_declared() -> None:
    while _declared:
        _import_declared(next(iter(_declared)))


def load_module(spec: str, base_dir: Path | None = None) -> None:
    """Import a custom node module by dotted name or by `.py` path (relative to the flow file)."""
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise FlowwireError(f"custom node file {spec!r} not found (looked at {path})")
        name = f"flowwire_custom_{path.stem}_{abs(hash(str(path.resolve()))):x}"
        if name in sys.modules:
            return
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        importlib.import_module(spec)


def lookup(type_name: str) -> type[Node] | None:
    _import_declared(type_name)
    return _types.get(type_name) or _types.get(_aliases.get(type_name, ""))


def canonical(type_name: str) -> str:
    _import_declared(type_name)
    return _aliases.get(type_name, type_name)


def suggest(type_name: str) -> list[str]:
    return difflib.get_close_matches(type_name, [*_types, *_aliases, *_declared], n=3, cutoff=0.6)


def all_types() -> dict[str, type[Node]]:
    _import_all_declared()
    return dict(sorted(_types.items()))


def aliases_of(type_name: str) -> list[str]:
    _import_all_declared()
    return sorted(a for a, t in _aliases.items() if t == type_name)
