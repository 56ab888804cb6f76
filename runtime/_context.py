"""Context: node, flow and global scopes over named stores.

`memory` is the default store; `file` keeps JSON on disk, written atomically
(temp file, fsync, rename) so a crash never leaves a half-written file (the
failure Node-RED users report, node-red#2271), flushed every
`flushInterval` seconds and on close. Store names follow Node-RED's
`contextStorage` setting, so `#:(file)::counter` keys work unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import FlowwireError
from .properties import delete_path, get_path, parse_path, set_path, split_store

if TYPE_CHECKING:
    from ._node import Node

log = logging.getLogger("flowwire.context")


class Store(Protocol):
    def get(self, scope: str, key: str) -> Any: ...
    def set(self, scope: str, key: str, value: Any) -> None: ...
    def delete(self, scope: str, key: str) -> None: ...
    def keys(self, scope: str) -> list[str]: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}

    def get(self, scope: str, key: str) -> Any:
        return self._data.get(scope, {}).get(key)

    def set(self, scope: str, key: str, value: Any) -> None:
        self._data.setdefault(scope, {})[key] = value

    def delete(self, scope: str, key: str) -> None:
        self._data.get(scope, {}).pop(key, None)

    def keys(self, scope: str) -> list[str]:
        return list(self._data.get(scope, {}))

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FileStore(MemoryStore):
    """Memory-speed reads and writes, persisted as one JSON file per scope."""

    def __init__(self, directory: Path, flush_interval: float = 30.0) -> None:
        super().__init__()
        self._dir = directory
        self._interval = flush_interval
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def _file(self, scope: str) -> Path:
        return self._dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", scope) + ".json")

    def set(self, scope: str, key: str, value: Any) -> None:
        json.dumps(value)  # refuse what cannot be persisted now, not at flush time
        super().set(scope, key, value)
        self._dirty.add(scope)

    def delete(self, scope: str, key: str) -> None:
        super().delete(scope, key)
        self._dirty.add(scope)

    async def open(self) -> None:
        for path in self._dir.glob("*.json") if self._dir.is_dir() else ():
            try:
                self._data[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                log.error("context file %s is unreadable and was ignored: %s", path, exc)
        self._task = asyncio.get_running_loop().create_task(self._flush_periodically())

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.flush()

    def flush(self) -> None:
        if self._dirty:
            self._dir.mkdir(parents=True, exist_ok=True)
        for scope in sorted(self._dirty):
            target = self._file(scope)
            fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".ctx-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(self._data.get(scope, {}), f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        self._dirty.clear()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.flush()


class Context:
    """What `context`, `flow` and `global` are inside a node: Node-RED's get/set/keys."""

    def __init__(self, scope: str, contexts: Contexts) -> None:
        self._scope = scope
        self._contexts = contexts

    def _store(self, store: str | None, key: str) -> tuple[Store, str]:
        inline, key = split_store(key)
        return self._contexts.store(store or inline), key

    def get(self, key: str, store: str | None = None) -> Any:
        backend, key = self._store(store, key)
        keys = parse_path(key)
        value = backend.get(self._scope, str(keys[0]))
        return get_path(value, keys[1:]) if len(keys) > 1 else value

    def set(self, key: str, value: Any = None, store: str | None = None) -> None:
        backend, key = self._store(store, key)
        keys = parse_path(key)
        head = str(keys[0])
        if len(keys) == 1:
            if value is None:
                backend.delete(self._scope, head)
            else:
                backend.set(self._scope, head, value)
            return
        root = backend.get(self._scope, head)
        root = root if isinstance(root, (dict, list)) else {}
        if value is None:
            delete_path(root, keys[1:])  # type: ignore[arg-type]
        else:
            set_path(root, keys[1:], value)  # type: ignore[arg-type]
        backend.set(self._scope, head, root)

    def keys(self, store: str | None = None) -> list[str]:
        return self._contexts.store(store).keys(self._scope)


class Contexts:
    """The stores of one runtime and the contexts handed to nodes."""

    def __init__(self, settings: dict[str, Any], base_dir: Path) -> None:
        config = settings.get("contextStorage") or {}
        if not isinstance(config, dict):
            raise FlowwireError("settings.contextStorage must be a mapping of store name to {module: memory|file, ...}")
        self._stores: dict[str, Store] = {"memory": MemoryStore(), "file": FileStore(base_dir / ".flowwire" / "context")}
        default = "memory"
        for name, spec in config.items():
            if name == "default" and isinstance(spec, str):
                default = spec
                continue
            spec = spec if isinstance(spec, dict) else {"module": spec}
            module = spec.get("module", "memory")
            if module == "memory":
                self._stores[name] = MemoryStore()
            elif module in ("file", "localfilesystem"):
                directory = Path(spec.get("dir") or base_dir / ".flowwire" / "context")
                if not directory.is_absolute():
                    directory = base_dir / directory
                self._stores[name] = FileStore(directory, float(spec.get("flushInterval", 30)))
            else:
                raise FlowwireError(f"context store {name!r}: unknown module {module!r} (memory or file)")
            if name == "default":
                default = "default"
        self._default = default
        self._cache: dict[str, Context] = {}

    def store(self, name: str | None) -> Store:
        try:
            return self._stores[name or self._default]
        except KeyError:
            raise FlowwireError(f"unknown context store {name!r} (have: {', '.join(self._stores)})") from None

    def _context(self, scope: str) -> Context:
        ctx = self._cache.get(scope)
        if ctx is None:
            ctx = self._cache[scope] = Context(scope, self)
        return ctx

    def node(self, node: Node) -> Context:
        return self._context(f"node-{node.id}")

    def flow(self, node: Node) -> Context:
        return self._context(f"flow-{node.z or 'default'}")

    def global_(self) -> Context:
        return self._context("global")

    async def open(self) -> None:
        for store in {id(s): s for s in self._stores.values()}.values():
            await store.open()

    async def close(self) -> None:
        for store in {id(s): s for s in self._stores.values()}.values():
            await store.close()
