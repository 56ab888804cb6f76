"""Subflows, disabled nodes and env scopes: the document's nodes as the router runs them.

Node-RED runs each subflow instance as its own copy of the definition's
nodes (Subflow.js): a copy's id is `<instance id>-<node id>`, its `z` is the
instance id, and every property naming another node of the same definition
is renamed the same way, so each instance has its own nodes, context and
timers. The instance itself stays a node: what reaches it passes on to the
nodes wired to the subflow's input, and the nodes wired to an output are
wired straight to whatever the instance's output is wired to. A definition
with a status output gets one more node per instance (`<instance id>:status`)
that turns what it receives into the instance's status. Nested instances are
expanded the same way inside their parent's copy (`X-Y-n`).

So expansion happens here, before validation, and the router never learns
that subflows exist; `_events` only needs to know which `z` are instances to
pass errors and status outwards as Node-RED does. Subflow module exports
(Node-RED 3+, a definition with `meta.type` and its nodes in `flow`) load the
same way: nodes of type `meta.type` are its instances, with their env values
as properties.

Disabled things are dropped here too: nodes with `d: true`, everything on a
disabled tab or in a disabled group (and the groups inside it), and
instances that are disabled; wires to them are dropped with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ._document import NodeSpec
from ._env import Environment, Scope
from ._errors import Problem
from ._messages import Msg
from ._node import Node, NodeProps

#: Types that describe the document rather than run: consumed here.
DEFINITION_TYPES = frozenset({"subflow", "global-config"})
#: Listener types whose `scope` lists are renamed per instance (an id outside the definition matches nothing).
_SCOPED = frozenset({"catch", "status", "complete"})
#: Deeper than this, an instance is assumed to contain itself.
MAX_DEPTH = 32


class SubflowInstanceProps(NodeProps):
    env: list[Any] = []


class SubflowInstance(Node):
    """A subflow instance: hands what it receives to the nodes wired to the subflow's input."""

    Props = SubflowInstanceProps
    #: True when the definition has a status output: inner status then stays inside (see `_events`).
    has_status_port: ClassVar[bool] = False
    subflow_instance: ClassVar[bool] = True

    def on_input(self, msg: Msg) -> Msg:
        return msg


class SubflowStatus(Node):
    """A subflow's status output: what it receives becomes the instance's status (Node-RED's rules)."""

    type: ClassVar[str] = "subflow-status"

    def on_input(self, msg: Msg) -> None:
        instance = self.node_by_id(self.z)
        if instance is None:
            return
        payload = msg.get("payload")
        if "payload" in msg and payload is not None:
            if isinstance(payload, str):
                instance.status({"text": payload})
            elif isinstance(payload, dict) and (not payload or any(k in payload for k in ("text", "fill", "shape"))):
                instance.status(payload)
            else:
                text = json.dumps(payload, default=str) if not isinstance(payload, (bytes, bytearray)) else repr(payload)
                instance.status({"text": text if len(text) <= 32 else text[:32] + "..."})
        elif isinstance(msg.get("status"), dict):
            status = dict(msg["status"])
            if isinstance(status.get("text"), str) and status["text"].startswith("common."):
                status["text"] = "node-red:" + status["text"]
            instance.status(status)


@dataclass
class Expansion:
    """The runnable nodes (copies included), the classes of the nodes subflows add, and the env scopes."""

    specs: dict[str, NodeSpec]
    classes: dict[str, type[Node]]
    env: Environment
    #: Every id of the documents, disabled and template nodes included (a wire to one is not "unknown").
    known: set[str]
    #: Ids of the definitions' own nodes: checked through their copies, not on their own.
    templates: dict[str, NodeSpec] = field(default_factory=dict)
    global_config: list[NodeSpec] = field(default_factory=list)


class _Expander:
    def __init__(self, specs: Mapping[str, NodeSpec], environ: Mapping[str, str], problems: list[Problem]) -> None:
        self.all = specs
        self.problems = problems
        self.env = Environment(environ)
        self.defs: dict[str, NodeSpec] = {}
        self.module_types: dict[str, str] = {}
        self.inner: dict[str, list[NodeSpec]] = {}
        self.classes: dict[str, type[Node]] = {}
        self.out: dict[str, NodeSpec] = {}
        self.containers: dict[str, NodeSpec] = {}
        self.instance_defs: dict[str, NodeSpec] = {}
        self._instance_classes: dict[str, type[SubflowInstance]] = {}
        #: Nodes whose env lookups start at their group or flow, settled once every container is known.
        self.placed: dict[str, NodeSpec] = {}

    # -- the document's structure -----------------------------------------------------------

    def run(self) -> Expansion:
        global_configs = [s for s in self.all.values() if s.type == "global-config" and not s.disabled]
        for spec in self.all.values():
            if spec.type == "subflow":
                self.defs[spec.id] = spec
                meta = spec.raw.get("meta")
                if isinstance(meta, dict) and isinstance(meta.get("type"), str) and meta["type"]:
                    self.module_types[meta["type"]] = spec.id
        templates = {s.id: s for s in self.all.values() if s.z in self.defs}
        for spec in templates.values():
            self.inner.setdefault(spec.z, []).append(spec)
        top = self.env.process
        for spec in global_configs:
            top = Scope(top, entries=spec.raw.get("env"), credentials=spec.raw, where=_where(spec, "env"))
        self.env.top = top
        for spec in self.all.values():
            if spec.type in ("tab", "group") and spec.z not in self.defs:
                self.containers[spec.id] = spec

        disabled = self._disabled_containers(self.all.values())
        for spec in self.all.values():
            if spec.type in DEFINITION_TYPES or spec.id in templates or _is_disabled(spec, disabled):
                continue
            self._add(spec, path=f"{spec.z or 'global'}/{spec.id}", depth=0, stack=())
        for def_id, inner in self.inner.items():
            for spec in inner:
                for port in spec.wires:
                    for target in port:
                        if target not in self.all:
                            self.problems.append(Problem(f"wire to unknown node id {target!r}", file=spec.file, line=spec.field_line("wires"), node_id=spec.id, field="wires"))
                        elif self.all[target].z != def_id:
                            self.problems.append(
                                Problem(f"wire from inside subflow {def_id!r} to {target!r}, which is outside it", file=spec.file, line=spec.field_line("wires"), node_id=spec.id, field="wires")
                            )
        self._build_scopes()
        self.problems.extend(self.env.problems())
        return Expansion(self.out, self.classes, self.env, set(self.all), templates, global_configs)

    def _disabled_containers(self, specs: Any) -> set[str]:
        """Disabled tabs and groups, and the groups inside a disabled group."""
        specs = list(specs)
        off = {s.id for s in specs if s.type in ("tab", "group") and (s.disabled or _truthy(s.raw.get("disabled")))}
        changed = True
        while changed:
            changed = False
            for s in specs:
                if s.type == "group" and s.id not in off and (s.g in off or s.z in off):
                    off.add(s.id)
                    changed = True
        return off

    # -- one node, and an instance's copies ---------------------------------------------------

    def _add(self, spec: NodeSpec, path: str, depth: int, stack: tuple[str, ...]) -> None:
        if spec.id in self.out:
            self.problems.append(Problem(f"duplicate id {spec.id!r} after expanding subflows", file=spec.file, line=spec.line, node_id=spec.shown, field="id"))
            return
        spec.path = path
        def_id = self._definition_of(spec)
        if def_id is None and spec.type.startswith("subflow:"):
            self.problems.append(
                Problem(f"no subflow definition {spec.type[8:]!r} in the flow files (instance of a missing subflow)", file=spec.file, line=spec.field_line("type"), node_id=spec.shown, field="type")
            )
            return
        self.out[spec.id] = spec
        if def_id is None:
            self.placed[spec.id] = spec
            return
        definition = self.defs[def_id]
        if def_id in stack or depth >= MAX_DEPTH:
            self.problems.append(Problem(f"subflow {def_id!r} contains an instance of itself", file=spec.file, line=spec.line, node_id=spec.shown, field="type"))
            del self.out[spec.id]
            return
        self.classes[spec.id] = self._instance_class(spec.type, definition)
        self.instance_defs[spec.id] = definition
        self.containers[spec.id] = spec
        self.placed[spec.id] = spec
        self._expand(spec, definition, path, depth, (*stack, def_id))

    def _definition_of(self, spec: NodeSpec) -> str | None:
        if spec.type.startswith("subflow:"):
            target = spec.type[8:]
            return target if target in self.defs else None
        return self.module_types.get(spec.type)

    def _instance_class(self, type_name: str, definition: NodeSpec) -> type[SubflowInstance]:
        cls = self._instance_classes.get(type_name)
        if cls is None:
            has_status = isinstance(definition.raw.get("status"), dict)
            summary = f"an instance of subflow {definition.name or definition.id!r}"
            cls = type(f"Subflow_{definition.id}", (SubflowInstance,), {"type": type_name, "summary": summary, "has_status_port": has_status, "__doc__": summary})
            self._instance_classes[type_name] = cls
        return cls

    def _expand(self, instance: NodeSpec, definition: NodeSpec, path: str, depth: int, stack: tuple[str, ...]) -> None:
        inner = self.inner.get(definition.id, [])
        rename = {t.id: f"{instance.id}-{t.id}" for t in inner}
        in_ports = _ports(definition, "in", self.problems)
        out_ports = _ports(definition, "out", self.problems)
        status = definition.raw.get("status")
        status_wires = _port_wires(status, definition, "status", self.problems) if isinstance(status, dict) else []
        copies: dict[str, NodeSpec] = {}
        for template in inner:
            copy = replace(
                template,
                id=rename[template.id],
                z=instance.id,
                g=rename.get(template.g, template.g),
                raw=_renamed(template.raw, rename, template.type in _SCOPED),
                wires=[[rename[t] for t in port if t in rename] for port in template.wires],
                label=f"{instance.shown}/{template.id}",
                template=template.id,
            )
            copies[template.id] = copy
        own_wires = instance.wires
        entry: list[str] = []
        for wire in in_ports[0] if in_ports else []:
            if wire[0] in rename:
                entry.append(rename[wire[0]])
        for index, wires in enumerate(out_ports):
            targets = own_wires[index] if index < len(own_wires) else []
            for target, port in wires:
                if target == definition.id:
                    entry.extend(targets)
                elif target in copies:
                    _extend_port(copies[target], port, targets)
                else:
                    self.problems.append(_def_problem(definition, "out", f"output {index + 1} is wired from {target!r}, which is not in the subflow"))
        if status_wires:
            status_id = f"{instance.id}:status"
            for target, port in status_wires:
                if target == definition.id:
                    entry.append(status_id)
                elif target in copies:
                    _extend_port(copies[target], port, [status_id])
            helper = NodeSpec(id=status_id, type="subflow-status", raw={}, file=definition.file, line=definition.line, z=instance.id, label=f"{instance.shown}:status")
            self.out[status_id] = helper
            helper.path = f"{path}/status"
            self.classes[status_id] = SubflowStatus
            self.env.nodes[status_id] = (instance.id, helper)
        self.out[instance.id] = replace(instance, wires=[entry])
        self.out[instance.id].path = path
        disabled = self._disabled_containers(copies.values())
        for template in inner:
            copy = copies[template.id]
            if copy.type in DEFINITION_TYPES or _is_disabled(copy, disabled):
                continue
            if copy.type in ("tab", "group"):
                self.containers[copy.id] = copy
            self._add(copy, path=f"{path}/{template.id}", depth=depth + 1, stack=stack)

    # -- env scopes ---------------------------------------------------------------------------

    def _build_scopes(self) -> None:
        for container_id in self.containers:
            self._scope(container_id, ())
        for spec in self.placed.values():
            self.env.nodes[spec.id] = (self._container_of(spec), spec)

    def _container_of(self, spec: NodeSpec) -> str:
        """A node's lookups go to its group when that group is known, else to its flow."""
        return spec.g if spec.g in self.containers else spec.z

    def _scope(self, container_id: str, seen: tuple[str, ...]) -> Scope:
        existing = self.env.scopes.get(container_id)
        if existing is not None:
            return existing
        spec = self.containers.get(container_id)
        if spec is None or container_id in seen:
            if container_id and container_id not in self.env.scopes and spec is None:
                # Nodes name a tab that is not in the files: Node-RED makes one up, with that id.
                self.env.scopes[container_id] = Scope(self.env.top, builtins={"NR_FLOW_ID": container_id})
                return self.env.scopes[container_id]
            return self.env.top
        seen = (*seen, container_id)
        if spec.type == "tab":
            scope = Scope(self.env.top, {"NR_FLOW_ID": spec.id, "NR_FLOW_NAME": spec.name}, spec.raw.get("env"), spec.raw, _where(spec, "env"))
        elif spec.type == "group":
            parent = self._scope(self._container_of(spec), seen) if (spec.g or spec.z) else self.env.top
            scope = Scope(parent, {"NR_GROUP_ID": spec.id, "NR_GROUP_NAME": spec.name}, spec.raw.get("env"), spec.raw, _where(spec, "env"))
        else:
            definition = self.instance_defs[spec.id]
            parent = self._scope(self._container_of(spec), seen) if (spec.g or spec.z) else self.env.top
            name, path = spec.name, spec.path
            builtins = {"NR_NODE_NAME": name, "NR_SUBFLOW_NAME": name, "NR_NODE_ID": spec.id, "NR_SUBFLOW_ID": spec.id, "NR_NODE_PATH": path, "NR_SUBFLOW_PATH": path}
            entries, creds = _instance_env(spec, definition, self.module_types)
            scope = Scope(parent, builtins, entries, creds, _where(spec, "env"))
        self.env.scopes[container_id] = scope
        return scope


def expand(specs: Mapping[str, NodeSpec], environ: Mapping[str, str], problems: list[Problem]) -> Expansion:
    """Expand subflow instances, drop disabled nodes, and build every env scope; problems are appended."""
    return _Expander(specs, environ, problems).run()


def _instance_env(instance: NodeSpec, definition: NodeSpec, module_types: Mapping[str, str]) -> tuple[list[Any], dict[str, Any]]:
    """The definition's env entries overridden by the instance's, by name, in the definition's order (Subflow.js)."""
    merged: dict[str, dict[str, Any]] = {}
    creds: dict[str, Any] = {}
    malformed: list[Any] = []
    template_env = definition.raw.get("env") or []
    for entry in template_env if isinstance(template_env, list) else [template_env]:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]:
            merged[entry["name"]] = dict(entry)
            if entry.get("type") == "cred" and entry["name"] in definition.raw:
                creds[entry["name"]] = definition.raw[entry["name"]]
        else:
            malformed.append(entry)  # left for Scope to report, with its location
    overrides: list[Any]
    if instance.type in module_types:
        overrides = [_module_entry(name, instance.raw[name]) for name in list(merged) if name in instance.raw]
    else:
        value = instance.raw.get("env") or []
        overrides = value if isinstance(value, list) else [value]
    for entry in overrides:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]:
            merged[entry["name"]] = {**merged.get(entry["name"], {}), **entry}
            if entry.get("type") == "cred" and entry["name"] in instance.raw:
                creds[entry["name"]] = instance.raw[entry["name"]]
        else:
            malformed.append(entry)
    return [*merged.values(), *malformed], creds


def _module_entry(name: str, value: Any) -> dict[str, Any]:
    """A subflow module instance keeps each env value as a property: typed by its JSON type, or `{type, value}`."""
    if isinstance(value, bool):
        return {"name": name, "type": "bool", "value": value}
    if isinstance(value, (int, float)):
        return {"name": name, "type": "num", "value": value}
    if isinstance(value, dict):
        return {"name": name, "type": value.get("type", "str"), "value": value.get("value")}
    return {"name": name, "type": "str", "value": value}


def _renamed(raw: dict[str, Any], rename: Mapping[str, str], scoped: bool) -> dict[str, Any]:
    """Properties naming a node of the definition name its copy instead (Subflow.js `remapSubflowNodes`)."""
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value in rename:
            result[key] = rename[value]
        elif key == "scope" and scoped and isinstance(value, list):
            result[key] = [rename.get(v, "") if isinstance(v, str) else v for v in value]
        elif isinstance(value, list) and any(isinstance(v, str) and v in rename for v in value):
            result[key] = [rename.get(v, v) if isinstance(v, str) else v for v in value]
        else:
            result[key] = value
    return result


def _extend_port(spec: NodeSpec, port: int, targets: list[str]) -> None:
    while len(spec.wires) <= port:
        spec.wires.append([])
    spec.wires[port] = [*spec.wires[port], *targets]


def _ports(definition: NodeSpec, key: str, problems: list[Problem]) -> list[list[tuple[str, int]]]:
    value = definition.raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(_def_problem(definition, key, f"'{key}' must be a list of ports"))
        return []
    return [_port_wires(port, definition, key, problems) for port in value]


def _port_wires(port: Any, definition: NodeSpec, key: str, problems: list[Problem]) -> list[tuple[str, int]]:
    wires = port.get("wires") if isinstance(port, dict) else None
    if wires is None:
        wires = []
    if not isinstance(wires, list):
        problems.append(_def_problem(definition, key, "a port's 'wires' must be a list of {id, port}"))
        return []
    found: list[tuple[str, int]] = []
    for wire in wires:
        number = wire.get("port", 0) if isinstance(wire, dict) else None
        if not isinstance(wire, dict) or not isinstance(wire.get("id"), str) or isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 1000:
            problems.append(_def_problem(definition, key, f"a port wire must be {{id: <node id>, port: <output number>}} (got {_short(wire)})"))
            continue
        found.append((wire["id"], number))
    return found


def _def_problem(definition: NodeSpec, key: str, message: str) -> Problem:
    return Problem(message, file=definition.file, line=definition.field_line(key), node_id=definition.id, field=key)


def _where(spec: NodeSpec, field_name: str) -> Problem:
    return Problem("", file=spec.file, line=spec.field_line(field_name), node_id=spec.shown, field=field_name)


def _truthy(value: Any) -> bool:
    return value is True or value == "true"


def _is_disabled(spec: NodeSpec, disabled_containers: set[str]) -> bool:
    return spec.disabled or spec.z in disabled_containers or spec.g in disabled_containers or spec.id in disabled_containers


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
