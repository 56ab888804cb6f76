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

import asyncio
import itertools
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from ._errors import FlowwireError
from ._redis_store import ContextStoreError, RedisStore
from .properties import delete_path, get_path, parse_path, set_path, split_store

if TYPE_CHECKING:
    from ._node import Node

log = logging.getLogger("flowwire.context")


class Store(Protocol):
    """What a context store implements; `None` is never stored (setting it deletes)."""

    @property
    def healthy(self) -> bool: ...
    def get(self, scope: str, key: str) -> Any: ...
    def set(self, scope: str, key: str, value: Any) -> None: ...
    def delete(self, scope: str, key: str) -> None: ...
    def keys(self, scope: str) -> list[str]: ...
    def incr(self, scope: str, key: str, by: float = 1) -> int | float: ...
    def compare_and_set(self, scope: str, key: str, expected: Any, new: Any) -> bool: ...
    async def aget(self, scope: str, key: str) -> Any: ...
    async def aset(self, scope: str, key: str, value: Any) -> None: ...
    async def adelete(self, scope: str, key: str) -> None: ...
    async def akeys(self, scope: str) -> list[str]: ...
    async def aincr(self, scope: str, key: str, by: float = 1) -> int | float: ...
    async def acompare_and_set(self, scope: str, key: str, expected: Any, new: Any) -> bool: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: `True` is not `1` (Python's == says it is), `1` is `1.0`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list, tuple)) or isinstance(b, (dict, list, tuple)):
        return False
    return bool(a == b)


class MemoryStore:
    """A dict per scope; the atomic calls are atomic because the loop runs one call at a time."""

    healthy = True

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

    def incr(self, scope: str, key: str, by: float = 1) -> int | float:
        if isinstance(by, bool) or not isinstance(by, (int, float)):
            raise ContextStoreError(f"increment must be a number, not {by!r}")
        current = self.get(scope, key)
        if current is None:
            current = 0
        elif isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ContextStoreError(f"context key {key!r} does not hold a number, so it cannot be incremented")
        value = current + by
        self.set(scope, key, value)
        return value

    def compare_and_set(self, scope: str, key: str, expected: Any, new: Any) -> bool:
        if not same_json(self.get(scope, key), expected):
            return False
        if new is None:
            self.delete(scope, key)
        else:
            self.set(scope, key, new)
        return True

    async def aget(self, scope: str, key: str) -> Any:
        return self.get(scope, key)

    async def aset(self, scope: str, key: str, value: Any) -> None:
        self.set(scope, key, value)

    async def adelete(self, scope: str, key: str) -> None:
        self.delete(scope, key)

    async def akeys(self, scope: str) -> list[str]:
        return self.keys(scope)

    async def aincr(self, scope: str, key: str, by: float = 1) -> int | float:
        return self.incr(scope, key, by)

    async def acompare_and_set(self, scope: str, key: str, expected: Any, new: Any) -> bool:
        return self.compare_and_set(scope, key, expected, new)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FileStore(MemoryStore):
    """Memory-speed reads and writes, persisted as one JSON file per scope.

    A scope's file name is the scope with every character outside
    `[A-Za-z0-9_.-]` percent-encoded (UTF-8), so it is reversible and two
    scopes never share a file; ids made only of those characters keep the
    names earlier versions wrote. A file that cannot be read back as a JSON
    object is renamed aside rather than overwritten by the next flush.
    """

    def __init__(self, directory: Path, flush_interval: float = 30.0) -> None:
        super().__init__()
        self.directory = directory
        self.flush_interval = flush_interval
        self._dirty: set[str] = set()
        self._names: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        # One flush at a time: a second flusher (a signal handler, another
        # thread) must not replace a newer file with an older snapshot.
        self._flushing = threading.RLock()

    def _name(self, scope: str) -> str:
        name = self._names.get(scope)
        if name is None:
            name = _file_name(scope)
            if len(name.encode()) > _NAME_MAX:
                raise FlowwireError(f"context scope {scope!r} is too long to name a file in {self.directory} ({len(name.encode())} bytes encoded, at most {_NAME_MAX})")
            self._names[scope] = name
        return name

    def set(self, scope: str, key: str, value: Any) -> None:
        json.dumps(value)  # refuse what cannot be persisted now, not at flush time
        self._name(scope)
        super().set(scope, key, value)
        self._dirty.add(scope)

    def delete(self, scope: str, key: str) -> None:
        self._name(scope)
        super().delete(scope, key)
        self._dirty.add(scope)

    async def open(self) -> None:
        self.load()
        self._task = asyncio.get_running_loop().create_task(self._flush_periodically())

    def load(self) -> None:
        """Read every scope file; keep aside (never delete) the ones that are not a JSON object."""
        try:
            paths = sorted(p for p in self.directory.glob("*" + _SUFFIX) if p.is_file()) if self.directory.is_dir() else []
        except OSError as exc:
            raise FlowwireError(f"context directory {self.directory}: {exc.strerror or exc}") from None
        for path in paths:
            scope = _scope_of(path.name)
            if scope is None:
                log.warning("context file %s was not written by flowwire (its name does not decode to a scope) and is ignored", path)
                continue
            values, problem = _read_scope_file(path)
            if problem is None:
                self._data[scope] = values | self._data.get(scope, {})  # what was set before opening wins
            else:
                _keep_aside(path, problem, scope)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                self.flush()
            except Exception as exc:
                log.error("context store in %s: periodic flush failed, will retry: %s", self.directory, exc)

    def flush(self) -> None:
        """Write every dirty scope now, each atomically, without the event loop.

        Every scope is attempted; one that fails stays dirty for the next
        flush, and the first failure is raised once all have been tried.
        """
        with self._flushing:
            failure: Exception | None = None
            if self._dirty:
                self.directory.mkdir(parents=True, exist_ok=True)
            for scope in sorted(self._dirty):
                self._dirty.discard(scope)  # discarded first: a set() during the write marks it dirty again
                try:
                    self._write(scope)
                except BaseException as exc:
                    self._dirty.add(scope)
                    if not isinstance(exc, Exception):
                        raise
                    failure = failure or exc
            if failure is not None:
                raise failure

    def _write(self, scope: str) -> None:
        text = json.dumps(self._data.get(scope, {}))
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".ctx-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / self._name(scope))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.flush()


_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_SUFFIX = ".json"
_NAME_MAX = 255  # bytes in one path component on the file systems flowwire runs on


def _file_name(scope: str) -> str:
    # A leading dot is encoded too, so no scope becomes a hidden file.
    encoded = "".join(c if c in _SAFE and not (i == 0 and c == ".") else "".join(f"%{b:02X}" for b in c.encode()) for i, c in enumerate(scope))
    return encoded + _SUFFIX


def _scope_of(name: str) -> str | None:
    """The scope a file name stands for; None for a name `_file_name` would not have written."""
    try:
        scope = unquote(name.removesuffix(_SUFFIX), errors="strict")
    except UnicodeDecodeError:
        return None
    return scope if _file_name(scope) == name else None


_JSON_TYPES = {type(None): "null", list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _read_scope_file(path: Path) -> tuple[dict[str, Any], str | None]:
    """The values in one scope file, or why it cannot be used."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return {}, f"could not be read ({exc.strerror or exc})"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(values, dict):
        return {}, f"holds {_JSON_TYPES.get(type(values), type(values).__name__)}, not an object of keys"
    return values, None


def _keep_aside(path: Path, problem: str, scope: str) -> None:
    """Rename an unusable file so the next flush cannot destroy what is left of it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    for n in itertools.count(1):
        if not aside.exists():
            break
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.rename(path, aside)
    except OSError as exc:
        raise FlowwireError(f"context file {path} {problem}, and could not be kept aside as {aside.name}: {exc.strerror or exc}") from None
    log.warning("context file %s %s; kept as %s, scope %r starts empty", path, problem, aside.name, scope)


class Context:
    """What `context`, `flow` and `global` are inside a node: Node-RED's get/set/keys, and more.

    `delete`, `incr` and `compare_and_set` (and every `a`-prefixed async
    form) are flowwire extensions; docs/scaling.md gives each store's
    consistency. A key may name its store inline (`#:(redis)::n`) or with
    `store=`; `incr` and `compare_and_set` take a top-level key only, as
    only a whole value can be updated atomically.
    """

    def __init__(self, scope: str, contexts: Contexts) -> None:
        self._scope = scope
        self._contexts = contexts

    def _store(self, store: str | None, key: str) -> tuple[Store, str]:
        inline, key = split_store(key)
        return self._contexts.store(store or inline), key

    def _top(self, store: str | None, key: str) -> tuple[Store, str]:
        backend, key = self._store(store, key)
        keys = parse_path(key)
        if len(keys) != 1:
            raise ContextStoreError(f"context key {key!r}: incr and compare_and_set take a top-level key, not a path")
        return backend, str(keys[0])

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
        root = _changed(backend.get(self._scope, head), keys[1:], value)
        backend.set(self._scope, head, root)

    def delete(self, key: str, store: str | None = None) -> None:
        self.set(key, None, store)

    def keys(self, store: str | None = None) -> list[str]:
        return self._contexts.store(store).keys(self._scope)

    def incr(self, key: str, by: float = 1, store: str | None = None) -> int | float:
        """Add `by` to a number (absent counts as 0) atomically and return the new value."""
        backend, key = self._top(store, key)
        return backend.incr(self._scope, key, by)

    def compare_and_set(self, key: str, expected: Any, new: Any, store: str | None = None) -> bool:
        """Set `new` (None deletes) only if the value is `expected` (None: absent); True if it was set."""
        backend, key = self._top(store, key)
        return backend.compare_and_set(self._scope, key, expected, new)

    async def aget(self, key: str, store: str | None = None) -> Any:
        backend, key = self._store(store, key)
        keys = parse_path(key)
        value = await backend.aget(self._scope, str(keys[0]))
        return get_path(value, keys[1:]) if len(keys) > 1 else value

    async def aset(self, key: str, value: Any = None, store: str | None = None) -> None:
        backend, key = self._store(store, key)
        keys = parse_path(key)
        head = str(keys[0])
        if len(keys) == 1:
            if value is None:
                await backend.adelete(self._scope, head)
            else:
                await backend.aset(self._scope, head, value)
            return
        root = _changed(await backend.aget(self._scope, head), keys[1:], value)
        await backend.aset(self._scope, head, root)

    async def adelete(self, key: str, store: str | None = None) -> None:
        await self.aset(key, None, store)

    async def akeys(self, store: str | None = None) -> list[str]:
        return await self._contexts.store(store).akeys(self._scope)

    async def aincr(self, key: str, by: float = 1, store: str | None = None) -> int | float:
        backend, key = self._top(store, key)
        return await backend.aincr(self._scope, key, by)

    async def acompare_and_set(self, key: str, expected: Any, new: Any, store: str | None = None) -> bool:
        backend, key = self._top(store, key)
        return await backend.acompare_and_set(self._scope, key, expected, new)


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
