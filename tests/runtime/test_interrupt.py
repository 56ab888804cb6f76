"""runtime.interruptible: deadlines by signal timer, nesting, threads, bodies that resist."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from runtime import NodeError, interruptible
from runtime._errors import BodyTimeout
from runtime._interrupt import interrupt_running, interruptible_await

#: Runaway bodies give up after this long, so a broken guard fails a test instead of hanging it.
GIVE_UP = 3.0


def spin() -> str:
    end = time.monotonic() + GIVE_UP
    while time.monotonic() < end:
        pass
    return "ran to the end"


def later_bodies_run_undisturbed() -> bool:
    """An untimed body outliving every deadline set before it: a timer left set for those must not hit it."""
    return guarded(lambda: time.sleep(0.5) or "slept", 0, "later") == "slept"


def guarded(body: Callable[[], Any], timeout: float, name: str) -> Any:
    with interruptible(timeout, name=name):
        return body()


def elapsed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    try:
        result = call()
    except NodeError as exc:
        result = exc
    return result, time.monotonic() - start


def test_a_deadline_stops_a_runaway_body() -> None:
    result, took = elapsed(lambda: guarded(spin, 0.1, "function"))
    assert isinstance(result, BodyTimeout) and str(result) == "function timed out after 0.1 s"
    assert took < 1.0
    assert later_bodies_run_undisturbed()


def test_a_body_that_swallows_the_interrupt_and_carries_on_is_hit_again() -> None:
    swallowed = 0

    def stubborn() -> str:
        nonlocal swallowed
        try:
            spin()
        except BaseException:  # noqa: BLE001 - the resistance under test
            swallowed += 1
        return spin()

    result, took = elapsed(lambda: guarded(stubborn, 0.1, "stubborn"))
    assert isinstance(result, BodyTimeout), result
    assert swallowed == 1
    assert took < 1.0
    assert later_bodies_run_undisturbed()


def test_an_outer_deadline_that_is_sooner_wins_over_an_inner_one() -> None:
    def outer() -> Any:
        try:
            return guarded(spin, 5, "inner")
        except NodeError as exc:
            return f"the inner guard caught {exc}"

    result, took = elapsed(lambda: guarded(outer, 0.1, "outer"))
    assert str(result) == "outer timed out after 0.1 s"
    assert took < 1.0


def test_an_inner_timeout_leaves_the_outer_deadline_in_force() -> None:
    seen: list[str] = []

    def outer() -> Any:
        try:
            guarded(spin, 0.1, "inner")
        except BodyTimeout as exc:
            seen.append(str(exc))
        return spin()

    result, took = elapsed(lambda: guarded(outer, 0.4, "outer"))
    assert seen == ["inner timed out after 0.1 s"]
    assert str(result) == "outer timed out after 0.4 s"
    assert 0.35 < took < 1.5
    assert later_bodies_run_undisturbed()


def test_a_reused_guard_entered_again_while_running_keeps_the_outer_deadline() -> None:
    guard = interruptible(0.2, name="node")

    def inner() -> Any:
        with guard:
            return spin()

    def outer() -> Any:
        with guard:
            return inner()

    result, took = elapsed(outer)
    assert str(result) == "node timed out after 0.2 s"
    assert took < 1.0
    assert later_bodies_run_undisturbed()


def test_a_shutdown_signal_stops_the_outermost_body() -> None:
    """What the CLI's SIGTERM handler does, with SIGUSR1 sent from a thread so the test owns the signal."""
    inner_saw: list[str] = []

    def inner() -> Any:
        try:
            return guarded(spin, 0, "inner")
        except NodeError as exc:
            inner_saw.append(str(exc))
            return spin()

    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: interrupt_running("interrupted: test", frame))
    sender = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        sender.start()
        result, took = elapsed(lambda: guarded(inner, 0, "outer"))
    finally:
        sender.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert type(result) is NodeError and str(result) == "interrupted: test"
    assert inner_saw == [], "the interrupt passes the inner body by: control goes back to the loop"
    assert took < 1.0
    assert later_bodies_run_undisturbed()


def test_a_shutdown_signal_with_no_body_running_raises_nothing() -> None:
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: interrupt_running("interrupted: test", frame))
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert sum(range(1000)) == 499500
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert later_bodies_run_undisturbed()


def test_a_body_within_its_deadline_returns_normally() -> None:
    assert guarded(lambda: sum(range(1000)), 5, "quick") == 499500
    assert later_bodies_run_undisturbed()


def test_outside_the_main_thread_there_is_no_timeout() -> None:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(guarded(lambda: time.sleep(0.3) or "slept", 0.05, "worker")))
    thread.start()
    thread.join(5)
    assert results == ["slept"]
    assert later_bodies_run_undisturbed()


async def test_an_async_body_gets_the_deadline_for_its_awaits_and_its_loops() -> None:
    async def waits() -> str:
        await asyncio.sleep(GIVE_UP)
        return "ran to the end"

    async def loops() -> str:
        await asyncio.sleep(0)
        return spin()

    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "done"

    for body in (waits, loops):
        with pytest.raises(BodyTimeout, match=r"^code timed out after 0.1 s$"):
            await asyncio.wait_for(interruptible_await(body(), 0.1), 2)
    assert await interruptible_await(quick(), 1) == "done"
    assert await interruptible_await(quick()) == "done"
    assert later_bodies_run_undisturbed()


async def test_an_async_body_still_sees_cancellation() -> None:
    cancelled = asyncio.Event()

    async def body() -> None:
        try:
            await asyncio.sleep(GIVE_UP)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.create_task(interruptible_await(body(), 5))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()
