"""The `file` context store: memory-speed, persisted as one JSON file per scope.

Written atomically (temp file, fsync, rename) so a crash never leaves a
half-written file (the failure Node-RED users report, node-red#2271); a file
that cannot be read back is renamed aside, never overwritten.
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
from typing import Any
from urllib.parse import unquote

from ._errors import FlowwireError
from ._stores import MemoryStore

log = logging.getLogger("flowwire.context")


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
        #: Scopes a flush has taken out of `_dirty` and not yet renamed into place.
        self._writing: set[str] = set()
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

        A flush may run on top of another in the same thread: a second
        SIGINT/SIGTERM calls `Contexts.flush_sync` from a signal handler,
        possibly in the middle of the closing flush, and then ends the
        process, so the flush below never renames its file. The scopes still
        being written below are written again here (same values: nothing
        runs below while the handler does).
        """
        with self._flushing:
            failure: Exception | None = None
            pending = sorted(self._dirty | self._writing)
            if pending:
                self.directory.mkdir(parents=True, exist_ok=True)
            for scope in pending:
                self._dirty.discard(scope)  # discarded first: a set() during the write marks it dirty again
                self._writing.add(scope)
                try:
                    self._write(scope)
                except BaseException as exc:
                    self._dirty.add(scope)
                    if not isinstance(exc, Exception):
                        raise
                    failure = failure or exc
                finally:
                    self._writing.discard(scope)
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
