"""Reading flow documents: YAML or JSON, Node-RED's node model, with line numbers.

A document is Node-RED's flat list of node objects (so a `flows.json` export
is a document as it stands; JSON is YAML) or a mapping with `nodes:` and
optional `settings:` and `modules:`. YAML adds conveniences for hand-written
flows, normalised here so that nothing after this module sees them:
`wires: [b, c]` is `[[b, c]]`, `wires: b` is `[[b]]`. Turning bytes into
data (and refusing what cannot be) is `_parsing`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import Problem
from ._parsing import LineDict, ParseError, parse, paused_gc

#: Keys every node may carry that are not properties of its type.
COMMON_KEYS = frozenset({"id", "type", "name", "z", "g", "d", "wires", "credentials"})
#: Keys the Node-RED editor writes that mean nothing to the runtime.
EDITOR_KEYS = frozenset(
    {"x", "y", "w", "h", "info", "l", "inputLabels", "outputLabels", "icon", "color", "style", "label", "_users"}
)
#: `tests:` belongs to `flowwire test` (runtime/_flowtests/); running a flow ignores it.
_DOC_KEYS = frozenset({"nodes", "settings", "modules", "name", "description", "tests"})


@dataclass
class NodeSpec:
    """One node object from a document, before its type's model is applied."""

    id: str
    type: str
    raw: dict[str, Any]
    file: str
    line: int | None
    name: str = ""
    z: str = ""
    g: str = ""
    disabled: bool = False
    wires: list[list[str]] = field(default_factory=list)
    key_lines: Mapping[str, int] = field(default_factory=dict)
    #: Node-RED's `_path` (`<tab>/<instance>/.../<id>`), set when subflows are expanded.
    path: str = ""
    #: For a copy made for a subflow instance: `<instance>/<node>` as problems name it, and the definition's node id.
    label: str = ""
    template: str = ""

    @property
    def shown(self) -> str:
        """The id problems name: a copy inside a subflow instance is named by its instance path."""
        return self.label or self.id

    def field_line(self, name: str | None) -> int | None:
        return self.key_lines.get(name or "", self.line) if name else self.line


@dataclass
class Document:
    path: str
    nodes: list[NodeSpec]
    settings: dict[str, Any]
    modules: list[str]


def load(path: str | Path, problems: list[Problem]) -> Document | None:
    """Parse one file; problems are appended, never raised."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(f"cannot read the file: {exc.strerror or exc}", file=name))
        return None
    try:
        with paused_gc():
            data = parse(raw, json_errors=path.suffix.lower() == ".json")
    except ParseError as exc:
        problems.append(Problem(exc.message, file=name, line=exc.line))
        return None

    language = "javascript" if path.suffix.lower() == ".json" else "python"
    return from_data(data, name, problems, _sidecar_credentials(path, problems), function_language=language)


def from_data(
    data: Any, name: str, problems: list[Problem], credentials: dict[str, dict[str, Any]] | None = None, *, function_language: str = "python"
) -> Document | None:
    """Build a document from already-parsed data (a list of nodes or a mapping with `nodes:`).

    Function nodes that do not name their `language` get the document's:
    `settings.functionLanguage`, else `function_language` (JavaScript for a
    Node-RED JSON export, Python for YAML), never a guess from the body.
    """
    settings: dict[str, Any] = {}
    modules: list[str] = []
    if isinstance(data, dict) and data.get("type") == "subflow" and "nodes" not in data:
        items = [data]
    elif isinstance(data, dict):
        for key in data:
            if key not in _DOC_KEYS:
                problems.append(
                    Problem(f"unknown top-level key (expected one of: {', '.join(sorted(_DOC_KEYS))})", file=name, line=_line(data, key), field=str(key))
                )
        items = data.get("nodes")
        settings_value = data.get("settings") or {}
        if isinstance(settings_value, dict):
            settings = dict(settings_value)
        else:
            problems.append(Problem("settings must be a mapping", file=name, line=_line(data, "settings"), field="settings"))
        modules_value = data.get("modules") or []
        if not isinstance(modules_value, list) or not all(isinstance(m, str) for m in modules_value):
            problems.append(Problem("modules must be a list of module names or .py paths", file=name, line=_line(data, "modules"), field="modules"))
        else:
            modules = modules_value
        if not isinstance(items, list):
            problems.append(Problem("a flow document is a list of nodes or a mapping with a 'nodes:' list", file=name, line=getattr(data, "line", None), field="nodes"))
            return None
    elif isinstance(data, list):
        items = data
    elif data is None:
        items = []
    else:
        problems.append(Problem("a flow document is a list of nodes or a mapping with a 'nodes:' list", file=name))
        return None

    specs = [spec for index, item in enumerate(_with_subflow_nodes(items)) if (spec := _node(item, index, name, credentials or {}, problems)) is not None]
    language = settings.get("functionLanguage") or function_language
    for spec in specs:
        if spec.type == "function":
            spec.raw.setdefault("language", language)
    return Document(path=name, nodes=specs, settings=settings, modules=modules)


def _with_subflow_nodes(items: list[Any]) -> list[Any]:
    """A subflow definition may carry its nodes in `flow` (subflow modules, Node-RED 3+): they join the list, on the definition."""
    result: list[Any] = []
    for item in items:
        result.append(item)
        inner = item.get("flow") if isinstance(item, dict) and item.get("type") == "subflow" else None
        if isinstance(inner, list):
            for node in inner:
                if isinstance(node, dict):
                    placed = LineDict(node)
                    placed.line = getattr(node, "line", None) or getattr(item, "line", None)
                    placed.key_lines = getattr(node, "key_lines", {})
                    placed.setdefault("z", item.get("id"))
                    node = placed
                result.append(node)
    return result


def _line(mapping: Any, key: str) -> int | None:
    lines = getattr(mapping, "key_lines", None)
    return lines.get(key) if lines else getattr(mapping, "line", None)


def _sidecar_credentials(path: Path, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """Node-RED keeps credentials beside the flow as `<name>_cred.json` ({node id: {key: value}})."""
    cred = path.with_name(f"{path.stem}_cred.json")
    if not cred.is_file():
        return {}
    try:
        data = json.loads(cred.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(Problem(f"cannot read credentials: {exc}", file=str(cred)))
        return {}
    if not isinstance(data, dict) or "$" in data:
        problems.append(Problem("encrypted or malformed credentials file; flowwire reads plain {node id: {key: value}} JSON", file=str(cred)))
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _node(item: Any, index: int, file: str, credentials: dict[str, dict[str, Any]], problems: list[Problem]) -> NodeSpec | None:
    line = getattr(item, "line", None)
    if not isinstance(item, dict):
        problems.append(Problem(f"node #{index + 1} is not a mapping", file=file, line=line))
        return None
    node_id, node_type = item.get("id"), item.get("type")
    if not isinstance(node_id, str) or not node_id:
        problems.append(Problem(f"node #{index + 1} has no 'id' (a non-empty string)", file=file, line=line, field="id"))
        return None
    if not isinstance(node_type, str) or not node_type:
        problems.append(Problem("node has no 'type'", file=file, line=line, node_id=node_id, field="type"))
        return None
    spec = NodeSpec(
        id=node_id,
        type=node_type,
        raw={k: v for k, v in item.items() if k not in COMMON_KEYS and k not in EDITOR_KEYS},
        file=file,
        line=line,
        name=str(item.get("name") or (item.get("label") if node_type == "tab" else "") or ""),
        z=str(item.get("z") or ""),
        g=str(item.get("g") or ""),
        disabled=bool(item.get("d")),
        key_lines=getattr(item, "key_lines", {}),
    )
    if node_type == "tab" and item.get("disabled"):
        spec.disabled = True
    creds = {**(item.get("credentials") or {}), **credentials.get(node_id, {})} if isinstance(item.get("credentials", {}), dict) else {}
    for key, value in creds.items():
        spec.raw.setdefault(key, value)
    spec.wires = _wires(item.get("wires"), spec, problems)
    return spec


def _wires(value: Any, spec: NodeSpec, problems: list[Problem]) -> list[list[str]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [[value]]
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return [list(value)]
        if all(isinstance(v, list) and all(isinstance(t, str) for t in v) for v in value):
            return [list(v) for v in value]
    problems.append(
        Problem("wires must be a list of node ids, or one list of ids per output port", file=spec.file, line=spec.field_line("wires"), node_id=spec.id, field="wires")
    )
    return []
