"""Interrupting synchronous user code that does not give control back.

asyncio regains control only when a handler returns, so a function body stuck
in `while True: pass` makes the process deaf to SIGTERM and starves every
other node. CPython runs Python-level signal handlers in the main thread
between bytecodes, and a handler may raise: that is the one way to stop a
pure-Python loop from outside without ending the process. Two things raise
into a body running inside `interruptible`:

- its deadline: a real-time timer (`setitimer(ITIMER_REAL)`) sends SIGALRM
  when the earliest deadline of the bodies running now is due;
- a shutdown signal: the CLI's SIGTERM/SIGINT handler calls `interrupt_running`.

What is raised inside the body is `_Interrupt`, a BaseException, so the
body's own `except Exception:` does not swallow it; the guard it belongs to
turns it into a NodeError on the way out (`BodyTimeout` for a deadline), which
reaches `catch` nodes like any failure. A body that swallows even that (a
bare `except:`) is hit again every `_REFIRE` s for as long as it runs.

Nesting (a body that runs another guarded body inline): every running guard
is on a stack; the timer is set for the earliest deadline, so an outer
deadline that is sooner wins, and the interrupt belongs to the guard whose
deadline it was, passing through the inner guards untouched. A shutdown
interrupt belongs to the outermost guard, so control returns to the loop.

Limits, inherent in the mechanism:
- main thread only: in another thread `interruptible` does nothing (no
  timeout, no interruption), as neither Python signal handlers nor
  ITIMER_REAL reach other threads;
- C code that does not return to the interpreter (a huge regex match,
  `sum(range(10**10))`) is interrupted when it returns; blocking calls that
  a signal interrupts (`time.sleep`, socket reads) stop at once;
- while a timed body runs, SIGALRM and ITIMER_REAL belong to this module.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine, Generator
from time import monotonic
from types import FrameType, TracebackType, coroutine
from typing import Any, TypeVar

from ._errors import BodyTimeout, NodeError

T = TypeVar("T")

_MAIN_THREAD = threading.main_thread().ident
#: Seconds between repeats of the alarm while an interrupted body keeps running.
_REFIRE = 0.05
#: The alarm may be handled a hair before `monotonic()` agrees the deadline passed.
_EARLY = 0.002


class _Interrupt(BaseException):
    """Raised inside a body; a BaseException so that `except Exception:` in user code lets it through."""

    def __init__(self, owner: interruptible, message: str | None) -> None:
        super().__init__(message or "deadline")
        self.owner = owner
        #: None: the owner's deadline passed; otherwise why the body was stopped.
        self.message = message


#: The guards running now, outermost first.
_running: list[interruptible] = []
#: The deadline (monotonic) the timer is set for, or None when it is off.
_armed: float | None = None
#: A shutdown interrupt being delivered to the outermost guard.
_stop: str | None = None


class interruptible:  # noqa: N801 - a context manager named like contextlib.suppress
    """Run a synchronous body so that its timeout or a shutdown signal can stop it.

        with interruptible(timeout=node_timeout, name="function"):
            result = user_code(msg)

    `timeout` is in seconds; 0 means none (a shutdown still interrupts). A
    body past its deadline raises `BodyTimeout` ("<name> timed out after N s")
    out of the `with`; one stopped by a shutdown raises NodeError with the
    shutdown's message. Both are node errors for `catch` nodes.

    Put a call inside the `with`, not the looping code itself: CPython 3.11
    can report an exception raised by a signal handler in a tight loop at an
    instruction just outside the enclosing `with`/`try` ranges of that same
    frame, so only a guard in a calling frame is sure to see it.
    """

    __slots__ = ("_deadline", "_entered", "_name", "_timeout")

    def __init__(self, timeout: float = 0, *, name: str = "code") -> None:
        self._timeout = timeout
        self._name = name
        self._deadline: float | None = None
        self._entered = False

    def __enter__(self) -> None:
        if threading.get_ident() != _MAIN_THREAD:
            return
        if self._timeout > 0:
            if self._deadline is None:
                self._deadline = monotonic() + self._timeout
            if _armed is None or self._deadline < _armed:
                _arm(self._deadline)
        _running.append(self)
        self._entered = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self._entered:
            return
        self._entered = False
        if _running[-1] is self:
            _running.pop()
        else:
            _running.remove(self)
        if _armed is not None:
            _schedule()
        if isinstance(exc, _Interrupt) and exc.owner is self:
            if exc.message is None:
                raise BodyTimeout(f"{self._name} timed out after {self._timeout:g} s") from None
            raise NodeError(exc.message) from None


async def interruptible_await(coro: Coroutine[Any, Any, T], timeout: float = 0, *, name: str = "code") -> T:
    """Await user code with a timeout; each synchronous stretch of it runs as an `interruptible` body.

    `asyncio.timeout` bounds the time spent waiting, the signal timer a
    runaway loop between two awaits, against the same deadline.
    """
    if timeout <= 0:
        return await _stepped(coro, 0, name, None)  # type: ignore[no-any-return]
    deadline = asyncio.get_running_loop().time() + timeout
    scope = asyncio.timeout_at(deadline)
    try:
        async with scope:
            return await _stepped(coro, timeout, name, deadline)  # type: ignore[no-any-return]
    except TimeoutError:
        if scope.expired():
            raise BodyTimeout(f"{name} timed out after {timeout:g} s") from None
        raise


@coroutine
def _stepped(coro: Coroutine[Any, Any, Any], timeout: float, name: str, deadline: float | None) -> Generator[Any, Any, Any]:
    """Drive `coro` by hand so that each step (one `send`) is a guarded body; the loop never runs inside a guard."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            guard = interruptible(timeout, name=name)
            guard._deadline = deadline
            with guard:
                try:
                    yielded = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # cancellation and close() go into the coroutine, as `await` would
                value, error = None, exc
    finally:
        coro.close()  # a no-op once it has finished; ends it when an interrupt landed between steps


def interrupt_running(message: str, frame: FrameType | None) -> None:
    """From a signal handler: stop the body running now, if any, with `message` as its node error.

    `frame` is the frame the signal arrived in (the handler's second
    argument). When that is this module's own bookkeeping, the interrupt is
    delivered by the timer a moment later instead of corrupting it.
    """
    global _stop
    if not _running:
        return
    _stop = message
    _arm(monotonic())
    if frame is None or frame.f_code not in _OWN_CODE:
        raise _Interrupt(_running[0], message)


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if not _running:
        _disarm()  # the body ended before the signal was handled
        return
    if frame is not None and frame.f_code in _OWN_CODE:
        return  # entering or leaving a guard: the repeat comes back
    if _stop is not None:
        raise _Interrupt(_running[0], _stop)
    owner = _earliest()
    if owner is None or owner._deadline is None:
        _disarm()
        return
    if owner._deadline > monotonic() + _EARLY:
        _arm(owner._deadline)  # a stale alarm, meant for a body that has ended
        return
    raise _Interrupt(owner, None)


def _earliest() -> interruptible | None:
    found = None
    for guard in _running:
        if guard._deadline is not None and (found is None or guard._deadline < found._deadline):  # type: ignore[operator]
            found = guard
    return found


def _schedule() -> None:
    """Set the timer for what runs now: off, the earliest deadline, or repeating while a shutdown interrupt is delivered."""
    global _stop
    if not _running:
        _stop = None
        _disarm()
    elif _stop is None:
        owner = _earliest()
        if owner is None or owner._deadline is None:
            _disarm()
        elif owner._deadline != _armed:
            _arm(owner._deadline)


def _arm(when: float) -> None:
    global _armed
    if signal.getsignal(signal.SIGALRM) is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    _armed = when
    signal.setitimer(signal.ITIMER_REAL, max(when - monotonic(), 1e-4), _REFIRE)


def _disarm() -> None:
    global _armed
    _armed = None
    signal.setitimer(signal.ITIMER_REAL, 0)


#: Frames in which an interrupt must not be raised: the guard's own bookkeeping.
_OWN_CODE = frozenset(
    f.__code__
    for f in (interruptible.__enter__, interruptible.__exit__, interrupt_running, _on_alarm, _earliest, _schedule, _arm, _disarm)
)
