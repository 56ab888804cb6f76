"""One exception tree for flowwire.

    FlowwireError
    ├── FlowError          a flow document is wrong; carries every Problem found
    └── NodeError          a node could not handle a message; carries the msg
        ├── ContextStoreError  a context store call failed (unreachable, not a number)
        ├── BodyTimeout    user code ran past its timeout (runtime.interruptible)
        └── (node families subclass this, e.g. the OpenAI API error)

A flow document is checked as a whole before anything starts, so FlowError
holds a list rather than failing on the first problem: the user fixes the
file once, not once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FlowwireError(Exception):
    """Base of every error flowwire raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a flow document, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    node_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file or "<flow>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.node_id is not None:
            parts.append(f"node {self.node_id!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return f"{': '.join(parts)}: {self.message}"


class FlowError(FlowwireError):
    """The flow document(s) cannot be run; nothing was started."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NodeError(FlowwireError):
    """A node failed on a message; the message reaches `catch` nodes intact.

    Raise it (or a subclass) from `on_input` for an expected failure: it is
    reported without a Python traceback. `details` is merged into `msg.error`
    so families can attach what a catch path needs (HTTP status, API codes).
    """

    def __init__(self, message: str, msg: dict[str, Any] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.msg = msg
        self.details = details


class BodyTimeout(NodeError):
    """User code (a function body) ran past its `timeout` and was interrupted; see `runtime.interruptible`."""


class ContextStoreError(NodeError):
    """A context call failed (store unreachable, value not a number): the calling node's error, for `catch`."""
