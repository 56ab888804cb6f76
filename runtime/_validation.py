"""Turn documents into a checked graph, collecting every problem first.

Nothing starts unless this finds nothing: unknown types (with close names),
duplicate ids, wires to unknown ids, config references to missing or
wrong-typed nodes, properties that do not fit the type's model, `${VAR}` with
no value, and whatever a type's own `check` finds (e.g. code that does not
compile). Warnings (unknown properties) are returned, not fatal.
"""

from __future__ import annotations

import math
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
from ._env import Environment
from ._envsubst import MissingVariable, substitute
from ._errors import FlowError, FlowwireError, Problem
from ._http_settings import config_problems
from ._node import ConfigRef, Node, NodeProps, NodeRef
from ._subflows import DEFINITION_TYPES, Expansion, SubflowInstance, expand

#: The editor writes port counts on many node types; they are properties only where a model declares them.
_PORT_KEYS = frozenset({"inputs", "outputs"})
#: Lists and mappings a property may nest. Python walks nested values recursively (this check,
#: message cloning, JSON output), so a deeper value would fail later with a RecursionError.
MAX_NESTING = 100


R = TypeVar("R", ConfigRef, NodeRef)

#: Their `env` lists are env scopes (evaluated by `_env`), not properties to substitute into.
_ENV_HOLDERS = frozenset({"tab", "group"})


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
    #: Where `Node.env` looks names up (node, group, subflow instance, tab, global-config, process).
    env: Environment = field(default_factory=lambda: Environment(os.environ))


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


def flow_dir(files: Sequence[str]) -> Path:
    """Where relative paths in settings (TLS files, context folders) start: the first flow file's folder."""
    return Path(files[0]).parent if files and not files[0].startswith("<") else Path.cwd()


def check_documents(documents: list[Document], env: Mapping[str, str] | None = None, problems: list[Problem] | None = None,
                    base_dir: Path | None = None) -> Graph:
    """Check loaded documents as one graph; `base_dir` is the running runtime's when a deploy is checked."""
    problems = problems if problems is not None else []
    base_dir = base_dir if base_dir is not None else flow_dir([d.path for d in documents])
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

    last_file = documents[-1].path if documents else None
    try:
        Contexts(settings, base_dir)
    except FlowwireError as exc:
        problems.append(Problem(str(exc), file=last_file, field="settings.contextStorage"))

    problems.extend(_check_settings(settings, last_file))
    problems.extend(config_problems(settings, base_dir, last_file)[1])
    tabs = {s.id: s for s in all_specs.values() if s.type == "tab"}
    expansion = expand(all_specs, env, problems)
    enabled = expansion.specs

    checked: dict[str, CheckedNode] = {}
    unknown: list[NodeSpec] = []
    for spec in enabled.values():
        cls = expansion.classes.get(spec.id) or _registry.lookup(spec.type)
        if cls is None:
            unknown.append(spec)
            continue
        raw = _substitute(spec, cls, expansion.env.mapping(spec.id), problems)
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
                problems.append(Problem(f"{error['msg']}{got}", file=spec.file, line=spec.field_line(top), node_id=spec.shown, field=loc))
            continue
        except Exception as exc:  # a type's own validator failing in a way pydantic does not wrap
            problems.append(Problem(f"properties cannot be read: {type(exc).__name__}: {exc}", file=spec.file, line=spec.line, node_id=spec.shown))
            continue
        try:
            found = cls.check(props)
        except Exception as exc:
            found = [("", f"the {cls.type!r} type's check failed: {type(exc).__name__}: {exc}")]
        for fname, message in found:
            problems.append(Problem(message, file=spec.file, line=spec.field_line(fname.split(".")[0] if fname else None), node_id=spec.shown, field=fname or None))
        known = _known_fields(cls.Props)
        for key in raw:
            # A subflow module instance carries its env values as properties (read by `_subflows`).
            if key not in known and key not in _PORT_KEYS and not issubclass(cls, SubflowInstance):
                warnings.append(Problem(f"property {key!r} is not used by {cls.type!r} nodes", file=spec.file, line=spec.field_line(key), node_id=spec.shown, field=key))
        checked[spec.id] = CheckedNode(spec, cls, props)
    used = _used_definitions(expansion)
    unknown.extend(s for s in expansion.templates.values() if s.z not in used and _registry.lookup(s.type) is None and s.type not in DEFINITION_TYPES and not s.type.startswith("subflow:"))
    problems.extend(_unknown_types(unknown, expansion.global_config))

    for node in checked.values():
        _check_config_refs(node, checked, expansion.known, problems)
        _check_node_refs(node, checked, expansion.known, problems)
    # Wires are checked for every enabled node, including those whose properties failed above.
    for spec in enabled.values():
        for port in spec.wires:
            for target in port:
                if target in checked:
                    if checked[target].cls.is_config:
                        problems.append(_wire_problem(spec, f"wire to config node {target!r}"))
                elif target not in expansion.known and target not in enabled:
                    close = [c for c in _close_ids(target, all_specs)]
                    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                    problems.append(_wire_problem(spec, f"wire to unknown node id {target!r}{hint}"))

    if problems:
        raise FlowError(sorted(_merge_instances(problems), key=lambda p: (p.file or "", p.line or 0)))
    return Graph(nodes=checked, settings=settings, files=[d.path for d in documents], warnings=_merge_instances(warnings), tabs=tabs, env=expansion.env)


#: Settings the runtime reads as numbers when it starts: (lowest allowed, whole numbers only).
_NUMERIC_SETTINGS = {"drainTimeout": (0.0, False), "nodeCloseTimeout": (0.0, False), "messageTreeLimit": (1.0, True)}


def _check_settings(settings: Mapping[str, Any], file: str | None) -> list[Problem]:
    """Settings the runtime turns into numbers are checked here, so a bad one is a problem rather than a failure at start."""
    problems: list[Problem] = []
    for key, (lowest, whole) in _NUMERIC_SETTINGS.items():
        if key not in settings:
            continue
        value = settings[key]
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < lowest or (whole and not number.is_integer()):
            kind = "a whole number" if whole else "a number of seconds"
            problems.append(Problem(f"must be {kind} of at least {lowest:g} (got {_short(value)})", file=file, field=f"settings.{key}"))
    return problems


def _wire_problem(spec: NodeSpec, message: str) -> Problem:
    return Problem(message, file=spec.file, line=spec.field_line("wires"), node_id=spec.shown, field="wires")


def _used_definitions(expansion: Expansion) -> set[str]:
    copied = {spec.template for spec in expansion.specs.values() if spec.template}
    return {t.z for template_id, t in expansion.templates.items() if template_id in copied}


#: Node-RED packages whose node types do not share a word with the package name.
_PACKAGE_TYPES = {"node-red-dashboard": ("ui_",), "@flowfuse/node-red-dashboard": ("ui-",)}


def _unknown_types(unknown: list[NodeSpec], global_configs: list[NodeSpec]) -> list[Problem]:
    """One problem per node of an unknown type, or one per missing Node-RED package the global-config lists.

    A Node-RED 4 export lists the packages its nodes come from in the
    global-config node's `modules` ({package: version}), but not which type
    came from which package: a type is put down to a listed package when they
    share a word (`openweathermap` and node-red-node-openweathermap), or when
    the list holds one package only.
    """
    packages: dict[str, tuple[NodeSpec, str]] = {}
    for spec in global_configs:
        modules = spec.raw.get("modules")
        names = list(modules) if isinstance(modules, dict) else [m for m in modules if isinstance(m, str)] if isinstance(modules, list) else []
        for name in names:
            if isinstance(name, str) and name != "node-red":
                packages.setdefault(name, (spec, str(modules[name]) if isinstance(modules, dict) else ""))
    problems: list[Problem] = []
    by_package: dict[str, list[NodeSpec]] = {}
    for spec in unknown:
        package = _package_of(spec.type, list(packages))
        if package is not None:
            by_package.setdefault(package, []).append(spec)
            continue
        close = _registry.suggest(spec.type)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; `flowwire nodes` lists the known types"
        problems.append(Problem(f"unknown node type {spec.type!r}{hint}", file=spec.file, line=spec.field_line("type"), node_id=spec.shown, field="type"))
    for package, specs in by_package.items():
        where, version = packages[package]
        types = sorted({s.type for s in specs})
        problems.append(
            Problem(
                f"needs the Node-RED package {package}{'@' + version if version else ''}, which flowwire does not provide: "
                f"{len(specs)} node(s) of type {', '.join(repr(t) for t in types)}",
                file=where.file,
                line=where.field_line("modules"),
                node_id=where.id,
                field="modules",
            )
        )
    return problems


def _package_of(type_name: str, packages: list[str]) -> str | None:
    if not packages:
        return None
    for package in packages:
        if type_name.startswith(_PACKAGE_TYPES.get(package, ())):
            return package
    words = set(re.split(r"[^a-z0-9]+", type_name.lower())) - {""}
    for package in packages:
        base = package.rsplit("/", 1)[-1]
        for prefix in ("node-red-contrib-", "node-red-node-", "node-red-"):
            base = base.removeprefix(prefix)
        if words & (set(re.split(r"[^a-z0-9]+", base.lower())) - {"", "node", "red", "contrib"}):
            return package
    return packages[0] if len(packages) == 1 else None


def _merge_instances(problems: list[Problem]) -> list[Problem]:
    """The same problem in every copy of a subflow's node is reported once, naming how many instances have it."""
    seen: dict[tuple[Any, ...], list[Problem]] = {}
    order: list[tuple[Any, ...]] = []
    for problem in problems:
        node = problem.node_id or ""
        key: tuple[Any, ...] = (problem.file, problem.line, problem.field, problem.message, node.rsplit("/", 1)[-1] if "/" in node else node, "/" in node)
        if key not in seen:
            seen[key] = []
            order.append(key)
        seen[key].append(problem)
    merged: list[Problem] = []
    for key in order:
        group = seen[key]
        first = group[0]
        if len(group) > 1 and key[5]:
            first = Problem(first.message, file=first.file, line=first.line, node_id=f"{first.node_id} (and {len(group) - 1} more instance(s))", field=first.field)
        merged.append(first)
    return merged


def _close_ids(target: str, specs: Mapping[str, NodeSpec]) -> list[str]:
    import difflib

    return difflib.get_close_matches(target, list(specs), n=2, cutoff=0.7)


class _TooDeep(Exception):
    pass


def _substitute(spec: NodeSpec, cls: type[Node], env: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any] | None:
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
                        node_id=spec.shown,
                        field=fname,
                    )
                )
                return value
        if isinstance(value, (dict, list)) and depth > MAX_NESTING:
            raise _TooDeep
        if isinstance(value, dict):
            return {k: v if _env_typed(value, k) else walk(v, fname, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, fname, depth + 1) for v in value]
        return value

    raw: dict[str, Any] = {}
    for key, value in spec.raw.items():
        try:
            kept = key in cls.raw_fields or _env_typed(spec.raw, key) or (key == "env" and (spec.type in _ENV_HOLDERS or issubclass(cls, SubflowInstance)))
            raw[key] = value if kept else walk(value, key, 1)
        except _TooDeep:
            problems.append(Problem(f"nested deeper than {MAX_NESTING} levels of lists and mappings", file=spec.file, line=spec.field_line(key), node_id=spec.shown, field=key))
            return None
    return raw


def _env_typed(holder: Mapping[str, Any], key: str) -> bool:
    """A typed-input value of type `env` (`to`/`tot`, `v`/`vt`, `payload`/`payloadType`) names a variable the node resolves itself, at run time."""
    return holder.get(f"{key}t") == "env" or holder.get(f"{key}Type") == "env"


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


def _check_node_refs(node: CheckedNode, checked: Mapping[str, CheckedNode], all_specs: typing.Container[str], problems: list[Problem]) -> None:
    for fname, ref in _refs(type(node.props), NodeRef).items():
        value = getattr(node.props, fname, None)
        for target_id in [value] if isinstance(value, str) else (value or []):
            target = checked.get(target_id)
            spec = node.spec
            if target is None:
                if target_id in all_specs:
                    continue  # disabled: Node-RED silently skips disabled link targets too
                problems.append(Problem(f"no node with id {target_id!r} (expected a {' or '.join(ref.types)})", file=spec.file, line=spec.field_line(fname), node_id=spec.shown, field=fname))
            elif target.cls.type not in ref.types:
                problems.append(
                    Problem(f"node {target_id!r} is a {target.cls.type!r}, expected a {' or '.join(ref.types)}", file=spec.file, line=spec.field_line(fname), node_id=spec.shown, field=fname)
                )


def _check_config_refs(node: CheckedNode, checked: Mapping[str, CheckedNode], all_specs: typing.Container[str], problems: list[Problem]) -> None:
    for fname, ref in config_refs(type(node.props)).items():
        value = getattr(node.props, fname, None)
        if value in (None, ""):
            if not ref.optional:
                problems.append(
                    Problem(f"needs a {' or '.join(ref.types)} config node id", file=node.spec.file, line=node.spec.field_line(fname), node_id=node.spec.shown, field=fname)
                )
            continue
        target = checked.get(value)
        if target is None:
            why = "is disabled" if value in all_specs else "does not exist"
            problems.append(
                Problem(f"config node {value!r} {why} (expected a {' or '.join(ref.types)})", file=node.spec.file, line=node.spec.field_line(fname), node_id=node.spec.shown, field=fname)
            )
        elif target.cls.type not in ref.types:
            problems.append(
                Problem(
                    f"config node {value!r} is a {target.cls.type!r}, expected a {' or '.join(ref.types)}",
                    file=node.spec.file,
                    line=node.spec.field_line(fname),
                    node_id=node.spec.shown,
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
