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
reaches `catch` nodes like any failure. The alarm repeats every `_REFIRE` s
while the body runs, so one that swallows it (a bare `except:`) and carries
on is stopped by the next; one that swallows it on every turn of its own
loop cannot be stopped by any exception, and only a second shutdown signal
(which ends the process) stops that.

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
- once a timed body has run or a shutdown interrupted one, SIGALRM and
  ITIMER_REAL belong to this module.
"""

from __future__ import annotations

import asyncio
import atexit
import signal
import threading
from collections.abc import Coroutine, Generator
from time import monotonic
from types import FrameType, TracebackType, coroutine
from typing import Any, TypeVar

from ._errors import BodyTimeout, NodeError

T = TypeVar("T")

_MAIN_THREAD = threading.main_thread().ident
_get_ident = threading.get_ident
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


#: The guards running now, outermost first (a re-entered guard appears once per entry).
_running: list[interruptible] = []
#: When the timer fires next (monotonic), or None when it is off. It may be
#: earlier than any running deadline: see `interruptible`.
_armed: float | None = None
#: A shutdown interrupt being delivered to the outermost guard.
_stop: str | None = None


class interruptible:  # a context manager, named like contextlib.suppress
    """Run a synchronous body so that its timeout or a shutdown signal can stop it.

        guard = interruptible(timeout, name="function")   # once, e.g. per node
        ...
        with guard:
            result = user_code(msg)

    `timeout` is in seconds; 0 means none (a shutdown still interrupts). A
    body past its deadline raises `BodyTimeout` ("<name> timed out after N s")
    out of the `with`; one stopped by a shutdown raises NodeError with the
    shutdown's message. Both are node errors for `catch` nodes. A guard may
    be kept and entered again, also while it runs (the outermost entry's
    deadline holds).

    Put a call inside the `with`, not the looping code itself: CPython 3.11
    can report an exception raised by a signal handler in a tight loop at an
    instruction just outside the enclosing `with`/`try` ranges of that same
    frame, so only a guard in a calling frame is sure to see it.

    Cost: leaving a guard never touches the timer. A timer left set for a
    body that has ended fires harmlessly (the handler finds the body gone
    and re-arms for the running deadline or switches off), so a stream of
    timed bodies sets the timer about once per `timeout` rather than twice
    per body: a system call costs more than the rest of the guard.
    """

    __slots__ = ("_at", "_deadline", "_depth", "_name", "_timeout")

    def __init__(self, timeout: float = 0, *, name: str = "code") -> None:
        self._timeout = timeout
        self._name = name
        #: A fixed deadline for every entry (the steps of one async body), instead of timeout from entry.
        self._at: float | None = None
        self._deadline: float | None = None
        self._depth = 0

    def __enter__(self) -> None:
        if _get_ident() != _MAIN_THREAD:
            return
        if not self._depth and self._timeout > 0:
            deadline = self._deadline = self._at or monotonic() + self._timeout
            if _armed is None or deadline < _armed:
                _arm(deadline)
        self._depth += 1
        _running.append(self)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        global _stop
        if _get_ident() != _MAIN_THREAD:
            return
        self._depth -= 1
        if _running[-1] is self:
            _running.pop()
        else:
            _running.remove(self)
        if _stop is not None and not _running:
            _stop = None
            _disarm()  # the interrupt was delivered: a repeat left armed would outlive the process's handler at exit
        if exc is not None and type(exc) is _Interrupt and exc.owner is self and not self._depth:
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
    guard = interruptible(timeout, name=name)
    guard._at = deadline
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            with guard:
                try:
                    yielded = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # noqa: BLE001 - cancellation and close() go into the coroutine, as `await` would
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
        _disarm()  # the bodies it was set for have ended
        return
    if frame is not None and frame.f_code in _OWN_CODE:
        return  # entering or leaving a guard: the repeat comes back
    if _stop is not None:
        raise _Interrupt(_running[0], _stop)
    owner = _earliest()
    if owner is None:
        _disarm()
    elif owner._deadline > monotonic() + _EARLY:  # type: ignore[operator]
        _arm(owner._deadline)  # type: ignore[arg-type]  # set for a body that has ended
    else:
        raise _Interrupt(owner, None)


def _earliest() -> interruptible | None:
    """The running guard with the soonest deadline, if any has one."""
    found = None
    for guard in _running:
        if guard._timeout > 0 and (found is None or guard._deadline < found._deadline):  # type: ignore[operator]
            found = guard
    return found


def _arm(when: float) -> None:
    global _armed
    # Checked on every arm (about once per timeout period, not per call): anything that put another
    # handler in place, the interpreter's own at exit included, would otherwise let SIGALRM end the process.
    if signal.getsignal(signal.SIGALRM) is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    _armed = when
    signal.setitimer(signal.ITIMER_REAL, max(when - monotonic(), 1e-4), _REFIRE)


def _disarm() -> None:
    global _armed
    _armed = None
    signal.setitimer(signal.ITIMER_REAL, 0)


# A timer left armed past the last body (it re-fires until `_on_alarm` turns it off) must not outlive
# the handler: at exit the interpreter puts SIGALRM's default back, which would end the process.
atexit.register(_disarm)

#: Frames in which an interrupt must not be raised: the guards' own bookkeeping.
_OWN_CODE = frozenset(f.__code__ for f in (interruptible.__enter__, interruptible.__exit__, interrupt_running, _on_alarm, _earliest, _arm, _disarm))
