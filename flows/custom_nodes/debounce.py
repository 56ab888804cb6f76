"""A node with a timer: sends the latest message once its input has been quiet for `wait` seconds."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from runtime import Held, Msg, Node, NodeProps, lenient, register


class DebounceProps(NodeProps):
    wait: lenient.Float = Field(0.5, description="seconds without a new message before the latest is sent")


@register("debounce")
class Debounce(Node):
    """Sends only the latest of a burst of messages, once the burst is over (an example timer node)."""

    Props = DebounceProps
    props: DebounceProps

    @classmethod
    def check(cls, props: DebounceProps) -> list[tuple[str, str]]:
        return [] if props.wait > 0 else [("wait", "must be more than 0 seconds")]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._latest: tuple[Msg, Held] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def on_input(self, msg: Msg) -> None:
        self._drop_latest()
        # hold: the message stays unfinished after on_input returns, until done()/error()
        self._latest = (msg, self.hold(msg))
        self._timer = self.call_later(self.props.wait, self._send_latest)

    def _send_latest(self) -> None:
        assert self._latest is not None
        msg, held = self._latest
        self._latest, self._timer = None, None
        held.send(msg)
        held.done()

    def _drop_latest(self) -> None:
        """A superseded (or, at close, never sent) message is finished without being sent."""
        if self._timer is not None:
            self._timer.cancel()
        if self._latest is not None:
            self._latest[1].done()
        self._latest, self._timer = None, None

    async def close(self) -> None:
        self._drop_latest()
