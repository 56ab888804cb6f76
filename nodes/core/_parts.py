"""Collecting the messages of one `msg.parts` sequence until all have arrived.

join (reduce mode), sort, batch (concatenate mode) and switch (repair / tail)
all wait for a whole sequence before acting on it; each message is held with
`Node.hold` meanwhile, so the runtime's completion tracking stays open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime import Held, Msg, Node


@dataclass(slots=True)
class HeldGroup:
    """The held messages of one sequence and its `parts.count`, once a message has told it."""

    count: int | None = None
    entries: list[tuple[Msg, Held]] = field(default_factory=list)

    def add(self, node: Node, msg: Msg) -> None:
        self.entries.append((msg, node.hold(msg)))

    @property
    def complete(self) -> bool:
        return len(self.entries) == self.count

    def release(self) -> None:
        """Let go of every message: the sequence was sent on, dropped, or the flow is stopping."""
        for _, held in self.entries:
            held.done()
