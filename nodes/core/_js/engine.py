"""One QuickJS context per function node, stoppable from Python.

Why quickjs-ng (measured facts in shared/reference/js-engines.md): a 2.5 MB
wheel, ~0.3 MB per context (Node-RED gives each function node its own
context; a shared one leaks sloppy-mode globals), ~15 µs a message, and the
only candidate whose runaway loops stop in every case measured (after
`await`, in timers), with the context usable afterwards. V8 bindings cost
20-60x the memory and could not stop a loop after `await`; pythonmonkey and
dukpy cannot stop one at all.

How a body is stopped: the binding's own time limit counts process CPU
time, and while it is set the binding refuses every call from JavaScript
into Python (`node.send`, context reads). So instead this module installs
QuickJS's interrupt handler itself, through the library's exported
`JS_SetInterruptHandler`, as a Python callback. QuickJS calls it every
few thousand operations with the GIL taken back, which is exactly when
CPython runs pending signal handlers: `runtime.interruptible`'s deadline
alarm and the CLI's SIGTERM handler raise inside it. ctypes cannot let an
exception leave a callback; it hands it to `sys.unraisablehook`, which
`call` points at `_keep` for the duration of the call, so the exception is
kept, the next check answers "stop", the engine unwinds with an
uncatchable "interrupted", and `call` re-raises the kept exception in the
Python frame that entered JavaScript, inside the node's `interruptible`.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

import _quickjs
import quickjs

JSException = quickjs.JSException

_lib = ctypes.CDLL(_quickjs.__file__)
_lib.JS_GetRuntimeOpaque.restype = ctypes.c_void_p
_lib.JS_GetRuntimeOpaque.argtypes = [ctypes.c_void_p]
_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_lib.JS_SetInterruptHandler.argtypes = [ctypes.c_void_p, _HANDLER, ctypes.c_void_p]
_lib.JS_SetInterruptHandler.restype = None

#: Exceptions raised by signal handlers while JavaScript ran, oldest first.
_kept: list[BaseException] = []
_depth = 0
#: The hook in place when the outermost JavaScript call began (pytest installs its own).
_saved: Callable[[Any], Any] = sys.unraisablehook


def _check(runtime: int | None, opaque: int | None) -> int:
    return 1 if _kept else 0


_handler = _HANDLER(_check)


def _keep(unraisable: Any) -> None:
    if unraisable.object is _check:
        _kept.append(unraisable.exc_value)
    else:
        _saved(unraisable)


def _take() -> BaseException:
    """The first interrupt kept; repeats of it (the alarm refires while the engine unwinds) are dropped."""
    first = _kept[0]
    _kept.clear()
    return first


def keep(exc: BaseException) -> None:
    """From a Python callback: an interrupt arrived there; stop the JavaScript that called it."""
    _kept.append(exc)


class Engine:
    """A QuickJS context with a memory limit whose runs Python can interrupt."""

    def __init__(self, memory_limit: int) -> None:
        self.context = quickjs.Context()
        runtime = ctypes.c_void_p.from_address(id(self.context) + ctypes.sizeof(ctypes.c_ssize_t) * 2).value
        # The binding keeps its Context object as the runtime's opaque: reading it back proves the layout.
        if not runtime or _lib.JS_GetRuntimeOpaque(runtime) != id(self.context):
            raise RuntimeError("this quickjs-ng build does not have the layout flowwire expects")
        _lib.JS_SetInterruptHandler(runtime, _handler, None)
        self.context.set_memory_limit(memory_limit)
        self.context.set_max_stack_size(1024 * 1024)
        #: A call was stopped midway (an interrupt, the memory limit): the calls it ran for need closing.
        self.stopped = False

    def add(self, name: str, function: Callable[..., Any]) -> None:
        self.context.add_callable(name, function)

    def eval(self, code: str) -> Any:
        return self.call(self.context.eval, code)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run JavaScript; an interrupt kept meanwhile is raised here, after the engine unwound."""
        global _depth, _saved
        if not _depth:
            _kept.clear()  # left from a call that has ended (a repeat that arrived late): not this call's
            _saved, sys.unraisablehook = sys.unraisablehook, _keep
        _depth += 1
        try:
            result = function(*args)
        except JSException:
            self.stopped = True
            if _kept:
                raise _take() from None
            raise
        finally:
            _depth -= 1
            if not _depth:
                sys.unraisablehook = _saved
        if _kept and not _depth:
            self.stopped = True
            raise _take()
        return result

    def pump(self) -> None:
        """Run the promise jobs that are ready (QuickJS leaves the job queue to its host)."""
        run = self.context.execute_pending_job
        while self.call(run):
            pass
