"""Flow documents for the HTTP node tests: the server on a free port on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import nodes.http  # noqa: F401  (registers the family even where the installed entry points predate it)


def http_flow(*nodes: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A flow document whose server listens on a free port on 127.0.0.1."""
    return {"settings": {"uiPort": 0, "uiHost": "127.0.0.1", **settings}, "nodes": list(nodes)}
