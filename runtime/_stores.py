"""The context store interface, and the memory store every other store is measured against."""

from __future__ import annotations

from typing import Any, Protocol

from ._errors import ContextStoreError


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
