"""Turn documents into a checked graph, collecting every problem first.

Nothing starts unless this finds nothing: unknown types (with close names),
duplicate ids, wires to unknown ids, config references to missing or
wrong-typed nodes, properties that do not fit the type's model, `${VAR}` with
no value, and whatever a type's own `check` finds (e.g. code that does not
compile). Warnings (unknown properties) are returned, not fatal.
"""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from . import _registry
from ._context import Contexts
from ._document import Document, NodeSpec, load
from ._envsubst import MissingVariable, substitute
from ._errors import FlowError, FlowwireError, Problem
from ._node import ConfigRef, Node, NodeProps, NodeRef


#: The editor writes port counts on many node types; they are properties only where a model declares them.
_PORT_KEYS = frozenset({"inputs", "outputs"})
#: Lists and mappings a property may nest. Python walks nested values recursively (this check,
#: message cloning, JSON output), so a deeper value would fail later with a RecursionError.
MAX_NESTING = 100


R = TypeVar("R", ConfigRef, NodeRef)


@dataclass
class CheckedNode:
    spec: NodeSpec
    cls: type[Node]
    props: NodeProps


@dataclass
class Graph:
    """Everything the engine needs, already valid."""

    nodes: dict[str, CheckedNode]
    settings: dict[str, Any]
    files: list[str]
    warnings: list[Problem] = field(default_factory=list)
    tabs: dict[str, NodeSpec] = field(default_factory=dict)


def check_files(paths: Sequence[str | Path], env: Mapping[str, str] | None = None) -> Graph:
    """Load, merge and validate flow files; raise FlowError listing every problem."""
    problems: list[Problem] = []
    documents = [doc for p in paths if (doc := load(p, problems)) is not None]
    _registry.load_builtins()
    for doc in documents:
        base = Path(doc.path).parent
        for module in doc.modules:
            try:
                _registry.load_module(module, base)
            except FlowwireError as exc:
                problems.append(Problem(str(exc), file=doc.path, field="modules"))
            except Exception as exc:
                problems.append(Problem(f"custom node module {module!r} failed to import: {type(exc).__name__}: {exc}", file=doc.path, field="modules"))
    graph = check_documents(documents, env, problems)
    return graph


def check_documents(documents: list[Document], env: Mapping[str, str] | None = None, problems: list[Problem] | None = None) -> Graph:
    problems = problems if problems is not None else []
    env = os.environ if env is None else env
    warnings: list[Problem] = []
    settings: dict[str, Any] = {}
    all_specs: dict[str, NodeSpec] = {}
    for doc in documents:
        settings.update(doc.settings)
        for spec in doc.nodes:
            if spec.id in all_specs:
                first = all_specs[spec.id]
                problems.append(
                    Problem(f"duplicate id (first defined at {first.file}:{first.line})", file=spec.file, line=spec.line, node_id=spec.id, field="id")
                )
                continue
            all_specs[spec.id] = spec

    try:
        Contexts(settings, Path.cwd())
    except FlowwireError as exc:
        problems.append(Problem(str(exc), file=documents[-1].path if documents else None, field="settings.contextStorage"))

    tabs = {s.id: s for s in all_specs.values() if s.type == "tab"}
    disabled_tabs = {t.id for t in tabs.values() if t.disabled}
    enabled = {i: s for i, s in all_specs.items() if not s.disabled and s.z not in disabled_tabs}

    checked: dict[str, CheckedNode] = {}
    for spec in enabled.values():
        cls = _registry.lookup(spec.type)
        if cls is None:
            close = _registry.suggest(spec.type)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; `flowwire nodes` lists the known types"
            problems.append(Problem(f"unknown node type {spec.type!r}{hint}", file=spec.file, line=spec.field_line("type"), node_id=spec.id, field="type"))
            continue
        raw = _substitute(spec, cls, env, problems)
        if raw is None:
            continue
        try:
            props = cls.Props.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                loc = ".".join(str(p) for p in error["loc"]) or None
                top = str(error["loc"][0]) if error["loc"] else None
                shown = error["type"] != "missing" and not _may_hold_secret(cls.Props, top)
                got = f" (got {_short(error.get('input'))})" if shown else ""
                problems.append(Problem(f"{error['msg']}{got}", file=spec.file, line=spec.field_line(top), node_id=spec.id, field=loc))
            continue
        for fname, message in cls.check(props):
            problems.append(Problem(message, file=spec.file, line=spec.field_line(fname.split(".")[0] if fname else None), node_id=spec.id, field=fname or None))
        known = _known_fields(cls.Props)
        for key in raw:
            if key not in known and key not in _PORT_KEYS:
                warnings.append(Problem(f"property {key!r} is not used by {cls.type!r} nodes", file=spec.file, line=spec.field_line(key), node_id=spec.id, field=key))
        checked[spec.id] = CheckedNode(spec, cls, props)

    for node in checked.values():
        _check_config_refs(node, checked, all_specs, problems)
        _check_node_refs(node, checked, all_specs, problems)
    # Wires are checked for every enabled node, including those whose properties failed above.
    for spec in enabled.values():
        for port in spec.wires:
            for target in port:
                if target in checked:
                    if checked[target].cls.is_config:
                        problems.append(_wire_problem(spec, f"wire to config node {target!r}"))
                elif target not in all_specs:
                    close = [c for c in _close_ids(target, all_specs)]
                    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                    problems.append(_wire_problem(spec, f"wire to unknown node id {target!r}{hint}"))

    if problems:
        raise FlowError(sorted(problems, key=lambda p: (p.file or "", p.line or 0)))
    return Graph(nodes=checked, settings=settings, files=[d.path for d in documents], warnings=warnings, tabs=tabs)


def _wire_problem(spec: NodeSpec, message: str) -> Problem:
    return Problem(message, file=spec.file, line=spec.field_line("wires"), node_id=spec.id, field="wires")


def _close_ids(target: str, specs: Mapping[str, NodeSpec]) -> list[str]:
    import difflib

    return difflib.get_close_matches(target, list(specs), n=2, cutoff=0.7)


class _TooDeep(Exception):
    pass


def _substitute(spec: NodeSpec, cls: type[Node], env: Mapping[str, str], problems: list[Problem]) -> dict[str, Any] | None:
    """The node's properties with `${VAR}` replaced; None if a property nests deeper than MAX_NESTING."""

    def walk(value: Any, fname: str, depth: int) -> Any:
        if isinstance(value, str):
            try:
                return substitute(value, env)
            except MissingVariable as exc:
                problems.append(
                    Problem(
                        f"environment variable {exc.name!r} is not set and has no default (write ${{{exc.name}:-default}} to give one)",
                        file=spec.file,
                        line=spec.field_line(fname),
                        node_id=spec.id,
                        field=fname,
                    )
                )
                return value
        if isinstance(value, (dict, list)) and depth > MAX_NESTING:
            raise _TooDeep
        if isinstance(value, dict):
            return {k: walk(v, fname, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, fname, depth + 1) for v in value]
        return value

    raw: dict[str, Any] = {}
    for key, value in spec.raw.items():
        try:
            raw[key] = walk(value, key, 1) if key not in cls.raw_fields else value
        except _TooDeep:
            problems.append(Problem(f"nested deeper than {MAX_NESTING} levels of lists and mappings", file=spec.file, line=spec.field_line(key), node_id=spec.id, field=key))
            return None
    return raw


def _known_fields(model: type[NodeProps]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
        if info.validation_alias and isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
    return names


def _refs(model: type[NodeProps], kind: type[R]) -> dict[str, R]:
    """Fields whose annotation carries a `kind` marker (directly or inside Optional/Union)."""
    refs: dict[str, R] = {}
    for name, info in model.model_fields.items():
        candidates = list(info.metadata)
        for arg in typing.get_args(info.annotation):
            candidates.extend(getattr(arg, "__metadata__", ()))
        for meta in candidates:
            if isinstance(meta, kind):
                refs[name] = meta
    return refs


def config_refs(model: type[NodeProps]) -> dict[str, ConfigRef]:
    return _refs(model, ConfigRef)


def _check_node_refs(node: CheckedNode, checked: Mapping[str, CheckedNode], all_specs: Mapping[str, NodeSpec], problems: list[Problem]) -> None:
    for fname, ref in _refs(type(node.props), NodeRef).items():
        value = getattr(node.props, fname, None)
        for target_id in [value] if isinstance(value, str) else (value or []):
            target = checked.get(target_id)
            spec = node.spec
            if target is None:
                if target_id in all_specs:
                    continue  # disabled: Node-RED silently skips disabled link targets too
                problems.append(Problem(f"no node with id {target_id!r} (expected a {' or '.join(ref.types)})", file=spec.file, line=spec.field_line(fname), node_id=spec.id, field=fname))
            elif target.cls.type not in ref.types:
                problems.append(
                    Problem(f"node {target_id!r} is a {target.cls.type!r}, expected a {' or '.join(ref.types)}", file=spec.file, line=spec.field_line(fname), node_id=spec.id, field=fname)
                )


def _check_config_refs(node: CheckedNode, checked: Mapping[str, CheckedNode], all_specs: Mapping[str, NodeSpec], problems: list[Problem]) -> None:
    for fname, ref in config_refs(type(node.props)).items():
        value = getattr(node.props, fname, None)
        if value in (None, ""):
            if not ref.optional:
                problems.append(
                    Problem(f"needs a {' or '.join(ref.types)} config node id", file=node.spec.file, line=node.spec.field_line(fname), node_id=node.spec.id, field=fname)
                )
            continue
        target = checked.get(value)
        if target is None:
            why = "is disabled" if value in all_specs else "does not exist"
            problems.append(
                Problem(f"config node {value!r} {why} (expected a {' or '.join(ref.types)})", file=node.spec.file, line=node.spec.field_line(fname), node_id=node.spec.id, field=fname)
            )
        elif target.cls.type not in ref.types:
            problems.append(
                Problem(
                    f"config node {value!r} is a {target.cls.type!r}, expected a {' or '.join(ref.types)}",
                    file=node.spec.file,
                    line=node.spec.field_line(fname),
                    node_id=node.spec.id,
                    field=fname,
                )
            )


_SECRET_NAME = re.compile(r"pass|secret|token|key|cred|auth", re.IGNORECASE)


def _may_hold_secret(model: type[NodeProps], field: str | None) -> bool:
    """A rejected value is echoed in the problem text, unless the field may hold a password or key."""
    if field is None:
        return False
    info = model.model_fields.get(field) or next((f for f in model.model_fields.values() if f.alias == field), None)
    return bool(_SECRET_NAME.search(field)) or (info is not None and info.repr is False)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
