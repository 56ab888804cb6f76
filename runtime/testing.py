"""Run a flow in-process for tests: real routing, real nodes, no mocks.

    async with run_flow([...]) as flow:
        await flow.inject("change1", {"payload": 1})
        [msg] = await flow.received("sink", count=1)

`test-sink` nodes record what reaches them; waiting is on conditions with a
timeout, never on sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ._document import from_data
from ._engine import Runtime
from ._errors import FlowError, Problem
from ._node import Msg, Node, NodeProps
from ._registry import load_builtins, register
from ._validation import check_documents


@register("test-sink")
class TestSink(Node):
    """Records every message it receives (tests only)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[Msg] = []
        #: When each message arrived, on the loop's clock (fast-forwarded under `looptime`).
        self.times: list[float] = []
        self._changed = asyncio.Event()

    def on_input(self, msg: Msg) -> None:
        self.messages.append(msg)
        self.times.append(self.time())
        self._changed.set()

    async def wait_for(self, count: int, timeout: float) -> list[Msg]:
        async def until() -> None:
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"test-sink {self.id!r} got {len(self.messages)} message(s), expected {count} within {timeout} s") from None
        return self.messages[:count]


class Flow:
    """A started runtime with helpers to feed and observe it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def node(self, node_id: str) -> Any:
        return self.runtime.nodes[node_id]

    def deliver(self, node_id: str, msg: Msg) -> None:
        """Queue `msg` for a node's input, as if a wire carried it there; it runs at the next loop turn."""
        router = self.runtime._router
        token = router.token()
        router.enqueue(self.runtime.nodes[node_id]._delivery, msg, token)
        token.release()

    async def inject(self, node_id: str, msg: Msg) -> None:
        """Deliver `msg` to a node's input and let the loop run once."""
        self.deliver(node_id, msg)
        await asyncio.sleep(0)

    def sink(self, sink_id: str) -> TestSink:
        sink = self.runtime.nodes[sink_id]
        assert isinstance(sink, TestSink), f"{sink_id!r} is not a test-sink node"
        return sink

    async def received(self, sink_id: str, count: int = 1, timeout: float = 5.0, *, exact: bool = True, quiet: float = 0.05) -> list[Msg]:
        """The first `count` messages to reach a sink, once they have all arrived.

        With `exact` (the default) it then waits until the flow is idle, or
        `quiet` seconds on the loop's clock, and fails if the sink got more
        than `count` in all: a duplicate or an extra message is a bug the
        test should see. Pass `exact=False` where more are expected later.
        """
        sink = self.sink(sink_id)
        msgs = await sink.wait_for(count, timeout)
        if exact:
            await self.settle(quiet)
            self.assert_no_more(sink_id, count)
        return msgs

    async def settle(self, quiet: float = 0.05) -> None:
        """Wait until nothing is in flight, or `quiet` seconds (loop clock) at most."""
        await self.runtime.wait_idle(quiet)
        await asyncio.sleep(0)

    def assert_no_more(self, sink_id: str, count: int) -> None:
        """Fail unless the sink has received exactly `count` messages so far."""
        sink = self.sink(sink_id)
        if len(sink.messages) != count:
            extra = [{k: v for k, v in m.items() if k != "_msgid"} for m in sink.messages[count:count + 3]]
            raise AssertionError(f"test-sink {sink_id!r} got {len(sink.messages)} message(s), expected exactly {count}; extra: {extra!r}")

    async def idle(self, timeout: float = 5.0) -> None:
        if not await self.runtime.wait_idle(timeout):
            raise AssertionError(f"flow still has {self.runtime.in_flight} message(s) in flight after {timeout} s")


async def wait_until(predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait until `predicate()` is true, checking after every event-loop turn; fail after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.001)


def build(nodes: list[dict[str, Any]] | dict[str, Any], env: Mapping[str, str] | None = None, name: str = "<test>",
          base_dir: Path | None = None) -> Runtime:
    """Validate in-memory flow data and return an unstarted runtime (raises FlowError); relative paths start at `base_dir` (default: cwd)."""
    load_builtins()
    problems: list[Problem] = []
    document = from_data(nodes, name, problems)
    if problems or document is None:
        raise FlowError(problems)
    base_dir = base_dir or Path.cwd()
    graph = check_documents([document], env, problems, base_dir=base_dir)
    return Runtime(graph, base_dir=base_dir)


@asynccontextmanager
async def run_flow(nodes: list[dict[str, Any]] | dict[str, Any], env: Mapping[str, str] | None = None, base_dir: Path | None = None) -> AsyncIterator[Flow]:
    runtime = build(nodes, env, base_dir=base_dir)
    await runtime.start()
    try:
        yield Flow(runtime)
    finally:
        await runtime.stop()


__all__ = ["Flow", "NodeProps", "TestSink", "build", "run_flow", "wait_until"]
