"""A source node: emits 1..count, never more than `window` unfinished at once."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from runtime import Node, NodeProps, lenient, register


class NumbersProps(NodeProps):
    count: lenient.Int = Field(10, description="how many messages to emit")


@register("numbers")
class Numbers(Node):
    """Emits payloads 1..count and records which ones were finished downstream (an example source)."""

    Props = NumbersProps
    props: NumbersProps
    window = 3                                          # emit waits while 3 messages are unfinished

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emitted = 0
        self.finished: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = self.spawn(self._run())

    async def _run(self) -> None:
        for number in range(1, self.props.count + 1):
            # on_complete runs when everything derived from this message has finished:
            # the place to acknowledge it to whatever it came from.
            await self.emit({"payload": number}, on_complete=lambda n=number: self.finished.append(n))
            self.emitted = number
        self.status("green", "dot", f"{self.emitted} emitted")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
