"""Environment values as Node-RED resolves them: node, group, subflow instance, tab, global-config, process.

Every tab, group, subflow instance and the `global-config` node may carry an
`env` list of `{name, value, type}` entries. A lookup starts at the node
(`NR_NODE_ID`, `NR_NODE_NAME`, `NR_NODE_PATH`), goes to its group (and the
groups around that), then to the flow holding it: a subflow instance, whose
own lookups continue from the instance's group and flow, or a tab. After the
tabs comes the `global-config` node, and last the process environment. A
`$parent.` prefix skips the scope it is asked of. Entries are evaluated once,
in Node-RED's order (everything else first, then `env`-typed entries, which
may name their neighbours), the first time anything asks.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import Problem

#: Returned by `Scope.lookup` when no scope knows the name (Node-RED's `undefined`).
MISSING: Any = object()

#: What a node answers itself, before any scope: Node-RED's `getSetting(node, name)`.
_NODE_BUILTINS = {"NR_NODE_ID": "id", "NR_NODE_NAME": "name", "NR_NODE_PATH": "path"}

_WHOLE = re.compile(r"^\$\{([^}]+)\}$")
_ANY = re.compile(r"\$\{([^}]+)\}")
_HAS_VAR = re.compile(r"\$\{\S+\}")


class Scope:
    """One level of the lookup chain: fixed built-in names, then its `env` entries, then its parent."""

    def __init__(
        self,
        parent: Scope | None,
        builtins: Mapping[str, Any] | None = None,
        entries: Any = None,
        credentials: Mapping[str, Any] | None = None,
        where: Problem | None = None,
    ) -> None:
        self.parent = parent
        self.builtins = dict(builtins or {})
        self._entries = entries if isinstance(entries, list) else []
        self._credentials = credentials or {}
        self._where = where
        self._values: dict[str, Any] | None = None
        self._evaluating = False
        self.problems: list[Problem] = []
        if entries not in (None, []) and not isinstance(entries, list):
            self._problem("env must be a list of {name, value, type} entries")

    def lookup(self, name: str) -> Any:
        """The value of `name` from this scope outwards, or MISSING."""
        if name in self.builtins:
            return self.builtins[name]
        if name.startswith("$parent."):
            name = name[8:]
        else:
            values = self.values()
            if name in values:
                value = values[name]
                return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
        return self.parent.lookup(name) if self.parent is not None else MISSING

    def values(self) -> dict[str, Any]:
        if self._values is None:
            if self._evaluating:  # an env entry that, through its parents, names itself
                return {}
            self._evaluating = True
            try:
                self._values = self._evaluate()
            finally:
                self._evaluating = False
        return self._values

    def _problem(self, message: str) -> None:
        where = self._where or Problem("")
        self.problems.append(Problem(message, file=where.file, line=where.line, node_id=where.node_id, field=where.field or "env"))

    def _evaluate(self) -> dict[str, Any]:
        from .properties import compile_value

        evaluated: dict[str, Any] = {}
        deferred: list[tuple[str, Any]] = []
        for entry in self._entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
                self._problem("each env entry needs a 'name' (a non-empty string)")
                continue
            name, value, kind = entry["name"], entry.get("value"), str(entry.get("type") or "str")
            if kind == "env":
                deferred.append((name, value))
                continue
            if kind == "bool":
                evaluated[name] = value is True or value == "true"
            elif kind == "cred":
                evaluated[name] = self._credentials.get(name, value)
            elif kind == "conf-type":
                whole = _WHOLE.match(str(value or ""))
                found = self.parent.lookup(whole.group(1)) if whole and self.parent is not None else MISSING
                evaluated[name] = value if found is MISSING else found
            else:
                try:
                    evaluated[name] = compile_value(value, kind)({}, None)
                except Exception as exc:
                    self._problem(f"env {name!r}: cannot evaluate a {kind!r} value: {exc}")
        for name, value in deferred:
            text = "" if value is None else str(value)
            if text == name:
                text = f"$parent.{name}"
            if text in evaluated:
                evaluated[name] = evaluated[text]
                continue

            def near(var: str, evaluated: dict[str, Any] = evaluated) -> Any:
                if var in evaluated:
                    return evaluated[var]
                if var in self.builtins:
                    return self.builtins[var]
                return self.parent.lookup(var.removeprefix("$parent.")) if self.parent is not None else MISSING

            evaluated[name] = resolve_text(text, near)
        return evaluated


class ProcessScope(Scope):
    """The end of every chain: the process environment (or the mapping a test gives)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(None)
        self._environ = environ

    def lookup(self, name: str) -> Any:
        value = self._environ.get(name.removeprefix("$parent."))
        return MISSING if value is None else value


def resolve_text(text: str, lookup: Callable[[str], Any]) -> Any:
    """Node-RED's `evaluateEnvProperty`: `${X}` or a bare name gives X's value, `a${X}b` text; unknown is "".

    flowwire also takes `${X:-default}` here, as it does in properties.
    """

    def value_of(name: str) -> Any:
        name, sep, default = name.partition(":-")
        value = lookup(name)
        if value is MISSING or value is None:
            return default if sep else ""
        return value

    whole = _WHOLE.match(text)
    if whole or not _HAS_VAR.search(text):
        return value_of(whole.group(1) if whole else text)

    def one(m: re.Match[str]) -> str:
        value = value_of(m.group(1))
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else _js_text(value)

    return _ANY.sub(one, text)


def _js_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Environment:
    """Every scope of a graph, and which scope each node's lookups start from."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.process = ProcessScope(environ)
        self.top: Scope = self.process
        self.scopes: dict[str, Scope] = {}
        #: node id → (the scope its lookups continue in, the node: its id, name and path are NR_NODE_*)
        self.nodes: dict[str, tuple[str, Any]] = {}

    def scope_of(self, scope_id: str) -> Scope:
        return self.scopes.get(scope_id, self.top)

    def lookup(self, node_id: str, name: str) -> Any:
        where, spec = self.nodes.get(node_id, ("", None))
        if spec is not None and name in _NODE_BUILTINS:
            return getattr(spec, _NODE_BUILTINS[name])
        return self.scope_of(where).lookup(name)

    def get(self, node_id: str, name: str) -> Any:
        """A node's `env.get(name)`: the value, or None when no scope has it."""
        value = self.lookup(node_id, name)
        return None if value is MISSING else value

    def text(self, node_id: str, text: str) -> Any:
        """A typed-input `env` value (`NAME`, `${NAME}` or `a ${NAME} b`) seen from one node."""
        return resolve_text(text, lambda name: self.lookup(node_id, name))

    def mapping(self, node_id: str) -> _NodeEnv:
        """A read-only view for `${VAR}` substitution in one node's properties."""
        return _NodeEnv(self, node_id)

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        for scope in self.scopes.values():
            scope.values()
            found.extend(scope.problems)
        return found


class _NodeEnv(Mapping[str, Any]):
    def __init__(self, env: Environment, node_id: str) -> None:
        self._env, self._id = env, node_id

    def __getitem__(self, name: str) -> Any:
        value = self._env.lookup(self._id, name)
        if value is MISSING:
            raise KeyError(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        value = self._env.lookup(self._id, name)
        return default if value is MISSING else value

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0
