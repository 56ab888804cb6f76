"""Context: node, flow and global scopes over named stores.

`memory` is the default store; `file` keeps JSON on disk, written atomically
(temp file, fsync, rename) so a crash never leaves a half-written file (the
failure Node-RED users report, node-red#2271), flushed every
`flushInterval` seconds, on close, and by `Contexts.flush_sync()` when the
process must exit at once. A file that cannot be read back is renamed
aside, never overwritten. `redis` (runtime/_redis_store.py) is shared by
every process of an application. Store names follow Node-RED's
`contextStorage` setting, so `#:(file)::counter` keys work unchanged.

Every store answers the same calls: Node-RED's get/set/keys plus delete,
and two flowwire extensions for values several writers update, `incr` and
`compare_and_set`, each atomic within its store (across processes for
`redis`). The `a`-prefixed forms (`aget`, `aset`, ...) are for async nodes:
a store that does I/O does it there without blocking the loop.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ContextStoreError, FlowwireError
from ._file_store import FileStore
from ._stores import MemoryStore, Store
from .properties import delete_path, get_path, parse_path, set_path, split_store

if TYPE_CHECKING:
    from ._node import Node

log = logging.getLogger("flowwire.context")

#: Node-RED's prefix for a key in the enclosing flow's context (repeatable: `$parent.$parent.x`).
PARENT = "$parent"

class Context:
    """What `context`, `flow` and `global` are inside a node: Node-RED's get/set/keys, and more.

    `delete`, `incr` and `compare_and_set` (and every `a`-prefixed async
    form) are flowwire extensions; docs/scaling.md gives each store's
    consistency. A key may name its store inline (`#:(redis)::n`) or with
    `store=`; `incr` and `compare_and_set` take a top-level key only, as
    only a whole value can be updated atomically.
    """

    def __init__(self, scope: str, contexts: Contexts, parent: Context | None = None) -> None:
        self._scope = scope
        self._contexts = contexts
        #: Node-RED's `$parent`: a subflow instance's flow context has the context of the flow it sits in,
        #: a tab's flow context has the global context, node and global contexts have none.
        self.parent = parent

    def _store(self, store: str | None, key: str) -> tuple[Store, str | None, str]:
        """The backend, scope and key a key names: its inline store, and each `$parent.` one context up.

        The scope is None past the top (a node or global context has no parent):
        Node-RED reads such a key as missing and writes nothing.
        """
        inline, key = split_store(key)
        ctx: Context | None = self
        while ctx is not None and (key == PARENT or key.startswith(PARENT + ".")):
            ctx = ctx.parent
            key = key[len(PARENT) + 1 :]
            if inline is None:
                inline, key = split_store(key)
        return self._contexts.store(store or inline), (ctx._scope if ctx is not None and key else None), key

    def _top(self, store: str | None, key: str) -> tuple[Store, str, str]:
        backend, scope, key = self._store(store, key)
        if scope is None:
            raise ContextStoreError(f"context key {key!r}: no context that many levels up")
        keys = parse_path(key)
        if len(keys) != 1:
            raise ContextStoreError(f"context key {key!r}: incr and compare_and_set take a top-level key, not a path")
        return backend, scope, str(keys[0])

    def get(self, key: str, store: str | None = None) -> Any:
        backend, scope, key = self._store(store, key)
        if scope is None:
            return None
        keys = parse_path(key)
        value = backend.get(scope, str(keys[0]))
        return get_path(value, keys[1:]) if len(keys) > 1 else value

    def set(self, key: str, value: Any = None, store: str | None = None) -> None:
        backend, scope, key = self._store(store, key)
        if scope is None:
            return
        keys = parse_path(key)
        head = str(keys[0])
        if len(keys) == 1:
            if value is None:
                backend.delete(scope, head)
            else:
                backend.set(scope, head, value)
            return
        root = _changed(backend.get(scope, head), keys[1:], value)
        backend.set(scope, head, root)

    def delete(self, key: str, store: str | None = None) -> None:
        self.set(key, None, store)

    def keys(self, store: str | None = None) -> list[str]:
        return self._contexts.store(store).keys(self._scope)

    def incr(self, key: str, by: float = 1, store: str | None = None) -> int | float:
        """Add `by` to a number (absent counts as 0) atomically and return the new value."""
        backend, scope, key = self._top(store, key)
        return backend.incr(scope, key, by)

    def compare_and_set(self, key: str, expected: Any, new: Any, store: str | None = None) -> bool:
        """Set `new` (None deletes) only if the value is `expected` (None: absent); True if it was set."""
        backend, scope, key = self._top(store, key)
        return backend.compare_and_set(scope, key, expected, new)

    async def aget(self, key: str, store: str | None = None) -> Any:
        backend, scope, key = self._store(store, key)
        if scope is None:
            return None
        keys = parse_path(key)
        value = await backend.aget(scope, str(keys[0]))
        return get_path(value, keys[1:]) if len(keys) > 1 else value

    async def aset(self, key: str, value: Any = None, store: str | None = None) -> None:
        backend, scope, key = self._store(store, key)
        if scope is None:
            return
        keys = parse_path(key)
        head = str(keys[0])
        if len(keys) == 1:
            if value is None:
                await backend.adelete(scope, head)
            else:
                await backend.aset(scope, head, value)
            return
        root = _changed(await backend.aget(scope, head), keys[1:], value)
        await backend.aset(scope, head, root)

    async def adelete(self, key: str, store: str | None = None) -> None:
        await self.aset(key, None, store)

    async def akeys(self, store: str | None = None) -> list[str]:
        return await self._contexts.store(store).akeys(self._scope)

    async def aincr(self, key: str, by: float = 1, store: str | None = None) -> int | float:
        backend, scope, key = self._top(store, key)
        return await backend.aincr(scope, key, by)

    async def acompare_and_set(self, key: str, expected: Any, new: Any, store: str | None = None) -> bool:
        backend, scope, key = self._top(store, key)
        return await backend.acompare_and_set(scope, key, expected, new)


def _changed(root: Any, path: list[Any], value: Any) -> Any:
    """`root` with the value at `path` set (or deleted for None); a non-container root starts as {}."""
    root = root if isinstance(root, (dict, list)) else {}
    if value is None:
        delete_path(root, path)
    else:
        set_path(root, path, value)
    return root


class Contexts:
    """The stores of one runtime and the contexts handed to nodes."""

    def __init__(self, settings: dict[str, Any], base_dir: Path) -> None:
        config = settings.get("contextStorage") or {}
        if not isinstance(config, dict):
            raise FlowwireError("settings.contextStorage must be a mapping of store name to {module: memory|file|redis, ...}")
        # Stores on the same directory are one store: two would each write
        # their own global.json over the other's.
        self._by_dir: dict[Path, FileStore] = {}
        self._stores: dict[str, Store] = {"memory": MemoryStore(), "file": self._file_store(base_dir / ".flowwire" / "context", 30.0)}
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
                self._stores[name] = self._file_store(directory, float(spec.get("flushInterval", 30)))
            elif module == "redis":
                # Imported here: redis-py is a third of a cold start, and most flows keep context in memory.
                from ._redis_store import RedisStore

                self._stores[name] = RedisStore(name, spec, base_dir)
            else:
                raise FlowwireError(f"context store {name!r}: unknown module {module!r} (memory, file or redis)")
            if name == "default":
                default = "default"
        self._default = default
        self._cache: dict[str, Context] = {}
        self._opened = False

    def _file_store(self, directory: Path, flush_interval: float) -> FileStore:
        key = directory.resolve()
        store = self._by_dir.get(key)
        if store is None:
            store = self._by_dir[key] = FileStore(directory, flush_interval)
        else:
            store.flush_interval = min(store.flush_interval, flush_interval)
        return store

    def store(self, name: str | None) -> Store:
        try:
            return self._stores[name or self._default]
        except KeyError:
            raise FlowwireError(f"unknown context store {name!r} (have: {', '.join(self._stores)})") from None

    @property
    def healthy(self) -> bool:
        """False while a store cannot answer (Redis unreachable): for readiness checks."""
        return all(s.healthy for s in self._stores.values())

    def health(self) -> dict[str, bool]:
        """Each store name and whether it can answer now."""
        return {name: store.healthy for name, store in self._stores.items()}

    def _context(self, scope: str, parent: Context | None = None) -> Context:
        ctx = self._cache.get(scope)
        if ctx is None:
            ctx = self._cache[scope] = Context(scope, self, parent)
        return ctx

    def node(self, node: Node) -> Context:
        return self._context(f"node-{node.id}")

    def flow(self, node: Node) -> Context:
        ctx = self._cache.get(f"flow-{node.z or 'default'}")
        if ctx is not None:
            return ctx
        holder = node.node_by_id(node.z) if node.z else None
        inside_instance = holder is not None and getattr(holder, "subflow_instance", False)
        return self._context(f"flow-{node.z or 'default'}", self.flow(holder) if inside_instance else self.global_())

    def global_(self) -> Context:
        return self._context("global")

    async def open(self) -> None:
        # A deploy may move a subflow instance to another tab, which changes its flow context's `$parent`.
        self._cache.clear()
        for store in {id(s): s for s in self._stores.values()}.values():
            await store.open()
        self._opened = True

    async def close(self) -> None:
        for store in {id(s): s for s in self._stores.values()}.values():
            await store.close()

    def flush_sync(self) -> None:
        """Write every file store's unsaved values now, without the event loop.

        For a second SIGINT/SIGTERM, when the process exits without draining
        and the closing flush never runs. Each scope file is replaced
        atomically; calling it again, or a periodic flush running after it,
        writes nothing new. A store that fails is logged and the others are
        still written.
        """
        if not self._opened:
            return  # nothing read yet: writing now would replace files with only what was set since
        for store in self._file_stores():
            try:
                store.flush()
            except Exception as exc:
                log.error("context store in %s: flush failed, unsaved values are lost: %s", store.directory, exc)

    def _file_stores(self) -> list[FileStore]:
        in_use = {id(s) for s in self._stores.values()}
        return [s for s in self._by_dir.values() if id(s) in in_use]
