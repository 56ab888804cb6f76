"""The admin API (docs/http.md): off unless a bearer token is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._engine import Runtime


def install(runtime: Runtime) -> None:
    """Add the admin endpoints under `httpAdminRoot` when a token is configured."""
