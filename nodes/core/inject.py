"""inject: start a flow once, on an interval or on a cron schedule."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from runtime import Msg, Node, NodeProps, lenient, register
from runtime.properties import Getter, compile_value, parse_path, set_path


class InjectProp(BaseModel):
    p: str
    v: Any = None
    vt: str | None = None


def _default_props() -> list[InjectProp]:
    return [InjectProp(p="payload"), InjectProp(p="topic", vt="str")]


class InjectProps(NodeProps):
    props: list[InjectProp] = Field(default_factory=_default_props, description="message properties to set: p (path), v (value), vt (type)")
    payload: Any = Field("", description="value of msg.payload (Node-RED keeps it outside props)")
    payloadType: str = Field("date", description="str/num/bool/json/date/env/flow/global/jsonata/bin")
    topic: str = ""
    once: lenient.Bool = Field(False, description="inject once after start")
    onceDelay: lenient.Float = Field(0.1, description="seconds to wait before the first injection")
    repeat: lenient.Float = Field(0, description="seconds between injections; 0 = no repeat")
    crontab: str = Field("", description="cron expression (5 fields); overrides repeat")


def _getters(props: InjectProps) -> list[tuple[tuple[Any, ...], Getter]]:
    result = []
    for prop in props.props:
        if prop.p == "payload" and prop.vt is None and prop.v is None:
            value, vtype = props.payload, props.payloadType
        elif prop.p == "topic" and prop.v is None:
            value, vtype = props.topic, "str"
        else:
            value, vtype = prop.v, prop.vt or "str"
        result.append((parse_path(prop.p), compile_value(value, vtype)))
    return result


@register("inject")
class Inject(Node):
    """Injects a message once, every N seconds, or on a cron schedule.

    Also injects when a message arrives at its input (the editor's button).
    """

    Props = InjectProps
    props: InjectProps

    @classmethod
    def check(cls, props: InjectProps) -> list[tuple[str, str]]:
        problems = []
        try:
            _getters(props)
        except Exception as exc:
            problems.append(("props", str(exc)))
        if props.crontab:
            from croniter import croniter

            if not croniter.is_valid(props.crontab):
                problems.append(("crontab", f"not a valid cron expression: {props.crontab!r}"))
        if props.repeat < 0:
            problems.append(("repeat", "must be 0 or more seconds"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._getters = _getters(self.props)
        self._task: asyncio.Task[None] | None = None

    def _message(self) -> Msg:
        msg: Msg = {}
        for keys, get in self._getters:
            set_path(msg, keys, get(msg, self))
        return msg

    def on_input(self, msg: Msg) -> Msg:
        return self._message()

    async def start(self) -> None:
        if self.props.once or self.props.repeat or self.props.crontab:
            self._task = self.spawn(self._schedule())

    async def _schedule(self) -> None:
        props = self.props
        if props.once:
            await asyncio.sleep(props.onceDelay)
            await self.emit(self._message())
        if props.crontab:
            from croniter import croniter

            # Cron slots are wall-clock dates: each next slot is found from the wall clock as
            # it reads now, so a clock stepped forward (NTP after boot) gives the next slot,
            # not a burst of every slot it skipped; counting from the last slot when that is
            # later keeps a timer that fires a hair early from sending a slot twice. The wait
            # itself runs on the loop clock, like every other timer of the node.
            last = 0.0
            while True:
                wall = time.time()
                last = croniter(props.crontab, datetime.fromtimestamp(max(wall, last)).astimezone()).get_next(float)
                await asyncio.sleep(max(0.0, last - wall))
                await self.emit(self._message())
        elif props.repeat:
            due = self.time()
            while True:
                due += props.repeat
                await asyncio.sleep(max(0.0, due - self.time()))
                await self.emit(self._message())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
