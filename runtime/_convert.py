"""`flowwire convert`: flows.json to YAML and back without losing anything.

The round trip is exact on the data: JSON → YAML → JSON gives the same
values with the same key order, editor keys included, because nothing here
interprets a node; keys keep the order they were read in, and YAML scalars
that would read back as another type (`"yes"`, `"1.0"`, `"null"`) are quoted
by the emitter. Multi-line strings (function bodies, templates) are written as
YAML block literals where YAML can hold them exactly, quoted otherwise. Short
lists of plain values (`wires`) stay on one line. Values JSON cannot hold
(YAML dates, binary, NaN) are refused with their location rather than
changed. JSON is written as Node-RED writes a pretty flows.json: four-space
indents, non-ASCII as is.

`strip_layout` drops the editor-only keys (`x`, `y`, `w`, `h`, `l`) of every
node; `split` writes one file per tab (its nodes and groups), one per subflow
definition (with its nodes) and one for everything on no tab, which
`flowwire run` merges back when given them all.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ._errors import FlowwireError
from ._parsing import ParseError, paused_gc
from ._parsing import parse as _parse

#: Keys only the Node-RED editor reads: position, size, and whether a label is shown.
LAYOUT_KEYS = ("x", "y", "w", "h", "l")
_FLOW_LIST_WIDTH = 100


def read(path: Path) -> Any:
    """One flow file's data, plain dicts and lists only; FlowwireError when it is not a document."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FlowwireError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        with paused_gc():
            data = _parse(raw, json_errors=path.suffix.lower() == ".json")
    except ParseError as exc:
        raise FlowwireError(f"{path}:{exc.line or '?'}: {exc.message}") from None
    return _plain(data, str(path), "")


def _plain(value: Any, file: str, where: str) -> Any:
    """Rebuild as plain dicts/lists (the parser's mappings carry line numbers) and refuse what JSON cannot hold."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FlowwireError(f"{file}: {where or 'top level'}: key {key!r} is not a string; JSON keys are strings (quote it)")
            result[key] = _plain(item, file, f"{where}.{key}" if where else key)
        return result
    if isinstance(value, list):
        return [_plain(item, file, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        raise FlowwireError(f"{file}: {where}: {value!s} reads as a YAML date, which JSON cannot hold; quote it to keep it as text")
    if isinstance(value, float) and not math.isfinite(value):
        raise FlowwireError(f"{file}: {where}: {value} is not a number JSON can hold")
    if isinstance(value, (bytes, bytearray)):
        raise FlowwireError(f"{file}: {where}: binary YAML values have no JSON form")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise FlowwireError(f"{file}: {where}: a {type(value).__name__} value has no JSON form")


def strip_layout(data: Any) -> Any:
    """The same document without the editor's layout keys on its nodes (nested values are left alone)."""
    nodes = _nodes(data)
    for node in nodes:
        if isinstance(node, dict):
            for key in LAYOUT_KEYS:
                node.pop(key, None)
    return data


def _nodes(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return data["nodes"]  # type: ignore[no-any-return]
    return []


# -- writing ------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Safe YAML with no anchors, block literals for multi-line text, and one-line short lists."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flat = all(_scalar(v) or (isinstance(v, list) and all(_scalar(x) for x in v)) for v in value)
    short = flat and len(json.dumps(value, ensure_ascii=False)) <= _FLOW_LIST_WIDTH and not any(isinstance(v, str) and "\n" in v for v in _flatten(value))
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=short)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _flatten(value: list[Any]) -> Iterable[Any]:
    for item in value:
        if isinstance(item, list):
            yield from item
        else:
            yield item


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


#: A YAML document's function bodies are Python unless it says otherwise (docs/nodes/function.md).
_JS = {"functionLanguage": "javascript"}


def for_yaml(data: Any) -> Any:
    """Keep a JSON export's function bodies JavaScript once the document is YAML.

    JSON exports default to JavaScript and YAML documents to Python, so a
    converted export says `settings.functionLanguage: javascript` when it has
    function nodes that do not name their language; `for_json` takes it back
    out of a list-shaped export, so the round trip stays exact.
    """
    nodes = _nodes(data)
    if not any(isinstance(n, dict) and n.get("type") == "function" and "language" not in n for n in nodes):
        return data
    if isinstance(data, list):
        return {"settings": dict(_JS), "nodes": data}
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    return data if "functionLanguage" in settings else {**data, "settings": {**settings, **_JS}}


def for_json(data: Any) -> Any:
    """The inverse of `for_yaml` for a list-shaped export: the settings it added go again."""
    if isinstance(data, dict) and set(data) == {"settings", "nodes"} and data["settings"] == _JS:
        return data["nodes"]
    return data


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=4, ensure_ascii=False) + "\n"


def render(data: Any, fmt: str) -> str:
    return to_yaml(data) if fmt == "yaml" else to_json(data)


def split(data: Any) -> dict[str, Any]:
    """File stem → document: one per tab, one per subflow definition, `_global` for nodes on no tab."""
    nodes = _nodes(data)
    tabs = {n["id"]: n for n in nodes if isinstance(n, dict) and n.get("type") == "tab" and isinstance(n.get("id"), str)}
    subflows = {n["id"]: n for n in nodes if isinstance(n, dict) and n.get("type") == "subflow" and isinstance(n.get("id"), str)}
    stems: dict[str, str] = {}
    used: set[str] = set()
    for container_id, node in [*tabs.items(), *subflows.items()]:
        prefix = "subflow-" if container_id in subflows else ""
        stem = prefix + (_slug(str(node.get("label") or node.get("name") or "")) or container_id)
        if stem in used:
            stem = f"{stem}-{_slug(container_id) or len(used)}"
        used.add(stem)
        stems[container_id] = stem
    files: dict[str, list[Any]] = {stem: [] for stem in stems.values()}
    files.setdefault("_global", [])
    for node in nodes:
        key = node.get("id") if isinstance(node, dict) and node.get("id") in stems else node.get("z") if isinstance(node, dict) else None
        files[stems.get(key, "_global") if isinstance(key, str) else "_global"].append(node)
    result: dict[str, Any] = {stem: items for stem, items in files.items() if items}
    if isinstance(data, dict):
        extra = {k: v for k, v in data.items() if k != "nodes"}
        if extra:
            result["_global"] = {**extra, "nodes": result.get("_global", [])}
    return result


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
