"""The JavaScript side of a function node: marshalling, the API callbacks, timers, completion.

Messages cross as JSON text (one `json.dumps` and one `JSON.parse` each
way): Python bytes become Buffers and back; a value JSON cannot carry (an
HTTP response object in `msg.res`, a datetime) crosses as a reference that
JavaScript can move around but not look into, and comes back as the very same
Python object. Integers beyond 2**53 lose precision in JavaScript, as in Node-RED.

Only a message's small top-level values cross with it (`_left_behind`); the
others are converted when the body first reads them and, untouched, never
cross at all: JavaScript sends back a marker and the output gets the original
value (prelude.js, "lazy messages"). Why: a 10 KB object no body reads cost
~450 µs per node as JSON both ways, ~30 µs left behind (one node, in process).
Sharing follows Node-RED: the message the body got is the object it returns
or sends with `node.send(msg, false)`, so the first output to carry an
untouched value carries the original; a clone (`node.send(msg)`,
`RED.util.cloneMessage`) or a further output carries a copy.

Completion: a body that returns without leaving anything behind answers
`on_input` directly. One that awaits, starts `setTimeout` timers, or calls
`node.done()` (found in the text, as Node-RED does) leaves its message held
(`Node.hold`) until the promise settles, the timers have run and, where it
calls it, `node.done()`; sends made meanwhile belong to that message.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from importlib import resources
from typing import TYPE_CHECKING, Any

from runtime import Held, Msg, NodeError, Output

from .engine import Engine, JSException, keep

if TYPE_CHECKING:
    import asyncio

    from ..function import Function

_PRELUDE = resources.files(__package__).joinpath("prelude.js").read_text(encoding="utf-8")
#: Node-RED's own test for "this body finishes its messages itself".
_USES_DONE = re.compile(r"node\.done\s*\(\s*\)")
_USES_AWAIT = re.compile(r"\bawait\b")
#: Bodies that may leave promise jobs behind; for the rest the job queue is not polled after each message.
_USES_JOBS = re.compile(r"\b(await|async|then|catch|finally|Promise|queueMicrotask)\b")
#: References to Python objects kept for JavaScript, oldest dropped first.
_MAX_REFS = 10_000
#: Values sent with the message rather than on first read: scalars, strings up to this length...
_EAGER_TEXT = 1024
#: ...and lists and dicts of at most this many such scalars (a typical payload such as {"i": 1, "hop": 0}).
_EAGER_ITEMS = 8
_SCALARS = frozenset({int, float, bool, type(None)})
#: Values a copy shares as they are (immutable).
_ATOMS = frozenset({str, bytes, *_SCALARS})
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def _left_behind(msg: Msg) -> dict[str, Any] | None:
    """The top-level values that stay in Python until read: those cheaper to ask for later than to send now.

    Sent with the message: scalars, strings up to `_EAGER_TEXT`, and lists and
    dicts of at most `_EAGER_ITEMS` such values. Written as one loop because it
    runs for every message: with a helper call per value it cost a small
    message 4.7 µs instead of 1.2 µs.
    """
    left = None
    for key, value in msg.items():
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is str:
            if len(value) <= _EAGER_TEXT:
                continue
        elif (kind is dict or kind is list) and len(value) <= _EAGER_ITEMS:
            for item in value.values() if kind is dict else value:
                inner = type(item)
                if not (inner in _SCALARS or (inner is str and len(item) <= _EAGER_TEXT)):
                    break
            else:
                continue
        if left is None:
            left = {}
        left[key] = value
    return left


def _copy(value: Any) -> Any:
    """A copy as RED.util.cloneMessage makes it: containers and bytes copied, Python objects (msg.res) shared."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _copy(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMS else _copy(v) for v in value]
    if kind is bytearray:
        return bytearray(value)
    return value


class _Left:
    """The values of one message left in Python, and which of them an output already carries."""

    __slots__ = ("shared", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.shared: set[str] = set()


class _Codec:
    """JSON both ways, with Buffers, references to Python objects and the values lazy messages left behind."""

    def __init__(self) -> None:
        self.refs: OrderedDict[int, Any] = OrderedDict()
        #: Per message id (`sid`), its values left in Python, until JavaScript holds nothing made from it.
        self.left: dict[int, _Left] = {}
        self._seq = 0
        self._special = False
        self._encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=self._default)
        self._decoder = json.JSONDecoder(object_hook=self._hook)  # made once: json.loads(object_hook=) makes one a call (~6 µs)

    def _default(self, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            self._special = True
            return {"__fw_b__": bytes(value).decode("latin-1")}
        self._special = True
        self._seq += 1
        self.refs[self._seq] = value
        if len(self.refs) > _MAX_REFS:
            self.refs.popitem(last=False)
        return {"__fw_r__": self._seq}

    def encode(self, value: Any) -> tuple[str, bool]:
        """(json, whether it holds Buffers or references)."""
        self._special = False
        try:
            text = _dumps(value)
        except (TypeError, ValueError):
            text = self._encoder.encode(value)
        return text, self._special

    def reply(self, value: Any) -> str:
        text, special = self.encode(value)
        return ("1" if special else "0") + text

    def _hook(self, obj: dict[str, Any]) -> Any:
        if len(obj) == 1:
            if "__fw_b__" in obj:
                return obj["__fw_b__"].encode("latin-1")
            if "__fw_r__" in obj:
                return self.refs.get(obj["__fw_r__"])
            if "__fw_l__" in obj:
                sid, key, copy = obj["__fw_l__"]
                left = self.left[sid]
                value = left.values[key]
                if copy or key in left.shared:
                    return _copy(value)
                left.shared.add(key)
                return value
        return obj

    def decode(self, flagged: str) -> Any:
        """From "0json"/"1json" (1: Buffers inside); references are looked for whenever any were handed out."""
        if flagged[0] == "1" or self.refs:
            return self._decoder.decode(flagged[1:])
        return json.loads(flagged[1:])


def _ports(value: Any) -> Output:
    """JavaScript's normalised [port][msgs] into flowwire's output (a list per port)."""
    if value is None:
        return None
    return [None if port is None else port[0] if len(port) == 1 else port for port in value]


class JsBody:
    """A compiled body in the node's own context; `run` answers `on_input`."""

    def __init__(self, node: Function, memory_limit: int) -> None:
        self.node = node
        self.engine = Engine(memory_limit)
        self.codec = _Codec()
        self.open: dict[int, tuple[Held, Msg]] = {}
        self.timers: dict[int, asyncio.TimerHandle] = {}
        self._seq = 0
        self.status_used = False
        for name in ("send", "log", "error", "status", "ctx", "env", "timer", "finish", "get", "release"):
            self.engine.add(f"__py_{name}", getattr(self, f"_py_{name}"))
        props = node.props
        info = {"id": node.id, "name": node.name, "path": f"{node.z}/{node.id}" if node.z else node.id, "outputs": props.outputs}
        self.engine.context.set("__fw_info", json.dumps(info))
        self.engine.eval(_PRELUDE)
        fw = {name: self.engine.eval(f"__fw__.{name}") for name in ("compileBody", "run", "fire", "hook", "stopTimers", "stopped")}
        self.engine.eval("delete globalThis.__fw__")
        self._run, self._fire, self._hook, self._stop_timers, self._stopped = fw["run"], fw["fire"], fw["hook"], fw["stopTimers"], fw["stopped"]
        code = props.func or ""
        self._jobs = bool(_USES_JOBS.search(code))
        self.engine.call(fw["compileBody"], code, bool(_USES_AWAIT.search(code)), bool(_USES_DONE.search(code)))

    # -- messages ------------------------------------------------------------------------------

    def run(self, msg: Msg) -> Output:
        self._seq += 1
        call_id = self._seq
        left = _left_behind(msg)
        if left is not None:
            self.codec.left[call_id] = _Left(left)
            text, special = self.codec.encode({key: 0 if key in left else value for key, value in msg.items()})
            names = _dumps(list(left))
        else:
            text, special = self.codec.encode(msg)
            names = ""
        reply = self.engine.call(self._run, text, special, call_id, names)
        if reply[0] == "E":
            raise NodeError(reply[1:])
        pending = reply[1] == "P"
        if pending or reply[2] == "H":
            self.open[call_id] = (self.node.hold(msg), msg)
        if self._jobs or pending:
            self.engine.pump()  # stopped there: Function.on_input hands the failure to fail_stopped
        if pending:
            return None
        return _ports(self.codec.decode(reply[1] + reply[3:]))

    # -- callbacks from JavaScript: never raise (the binding would turn it into SystemError) --

    def _guarded(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - becomes a JavaScript error
            return f"!{exc}"
        except BaseException as exc:  # an interrupt (deadline, shutdown): stop the JavaScript that called
            keep(exc)
            return "!interrupted"

    def _py_send(self, call_id: int, flagged: str) -> str | None:
        return self._guarded(self._send, call_id, flagged)  # type: ignore[no-any-return]

    def _send(self, call_id: int, flagged: str) -> None:
        output = _ports(self.codec.decode(flagged))
        held = self.open.get(call_id)
        if held is not None:
            held[0].send(output)
        else:
            self.node.send(output)

    def _py_log(self, call_id: int, level: str, text: str) -> None:
        def log() -> None:
            if level == "warn":
                self.node.warn(text)
            elif level == "error":
                self.node.log.error(text)
            elif level == "info":
                self.node.log.info(text)
            else:
                self.node.log.debug(text)

        self._guarded(log)

    def _py_error(self, call_id: int, text: str, flagged: str) -> None:
        def report() -> None:
            msg = self.codec.decode(flagged) if flagged else None
            if msg is None:
                self.node.log.error(text)
            else:
                self.node.error(text, msg)

        self._guarded(report)

    def _py_status(self, flagged: str) -> None:
        def status() -> None:
            self.status_used = True
            self.node.status(self.codec.decode(flagged))

        self._guarded(status)

    def _py_ctx(self, op: str, scope: str, flagged: str) -> str:
        return self._guarded(self._ctx, op, scope, flagged)  # type: ignore[no-any-return]

    def _ctx(self, op: str, scope: str, flagged: str) -> str:
        node = self.node
        context = node.context if scope == "node" else node.flow_context if scope == "flow" else node.global_context
        args = self.codec.decode(flagged)
        if op == "get":
            key, store = args
            value = [context.get(k, store) for k in key] if isinstance(key, list) else context.get(key, store)
            return "" if value is None else self.codec.reply(value)
        if op == "set":
            key, value, store = args
            if isinstance(key, list):
                values = value if isinstance(value, list) else []
                for index, k in enumerate(key):
                    context.set(k, values[index] if index < len(values) else None, store)
            else:
                context.set(key, value, store)
            return "0null"
        return self.codec.reply(context.keys(args[0]))

    def _py_env(self, name: str) -> str:
        return self._guarded(self._env, name)  # type: ignore[no-any-return]

    def _env(self, name: str) -> str:
        value = self.node.env(name)
        return "" if value is None else self.codec.reply(value)

    def _py_timer(self, timer_id: int, delay: float, repeat: bool) -> None:
        self._guarded(self._timer, timer_id, delay, repeat)

    def _timer(self, timer_id: int, delay: float, repeat: bool) -> None:
        handle = self.timers.pop(timer_id, None)
        if handle is not None:
            handle.cancel()
        if delay >= 0:
            self.timers[timer_id] = self.node.call_later(max(delay, 1) / 1000, self._on_timer, timer_id, max(delay, 1) / 1000 if repeat else None)

    def _on_timer(self, timer_id: int, every: float | None) -> None:
        if every is not None:
            self.timers[timer_id] = self.node.call_later(every, self._on_timer, timer_id, every)
        else:
            self.timers.pop(timer_id, None)
        self.node.run_js(self._fire, timer_id)

    def _py_get(self, sid: int, key: str) -> str:
        return self._guarded(self._get, sid, key)  # type: ignore[no-any-return]

    def _get(self, sid: int, key: str) -> str:
        left = self.codec.left.get(sid)
        if left is None:
            raise LookupError(f"msg.{key} is no longer available: its message was released when the node closed")
        return self.codec.reply(left.values[key])

    def _py_release(self, sids: str) -> None:
        for sid in sids.split(","):
            self.codec.left.pop(int(sid), None)

    def _py_finish(self, call_id: int, error: str) -> None:
        def finish() -> None:
            entry = self.open.pop(call_id, None)
            if entry is None:
                return
            held, msg = entry
            if error.startswith("!"):
                held.error(NodeError(error[1:]), msg)
            elif error:
                held.error(NodeError(error), msg)
            else:
                held.done()

        self._guarded(finish)

    def fail_stopped(self, error: Exception) -> set[int]:
        """After JavaScript was stopped midway: fail the held messages whose code it was running; answers their call ids.

        The stopped code's `finally` blocks and promise handlers never run,
        so without this its message would stay held until close. The hold
        reports the error (catch gets the message) and ends it, and complete
        nodes are not told, as for any failed message.
        """
        failed: set[int] = set()
        if not self.engine.stopped:
            return failed
        self.engine.stopped = False
        for text in filter(None, self.engine.call(self._stopped).split(",")):
            entry = self.open.pop(int(text), None)
            if entry is not None:
                entry[0].error(error, entry[1])
                failed.add(int(text))
        return failed

    @property
    def last_call(self) -> int:
        """The call id of the message `run` took last."""
        return self._seq

    # -- lifecycle -----------------------------------------------------------------------------

    def hook(self, code: str, can_send: bool) -> Any:
        """Start initialize/finalize; returns a function answering its failure text once settled."""
        return self.engine.call(self._hook, code, can_send)

    def close(self) -> None:
        self.engine.call(self._stop_timers)
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        for held, _msg in self.open.values():
            held.done()
        self.open.clear()
        self.codec.left.clear()
        if self.status_used:
            self.node.status()


def compile_error(code: str, label: str, *, async_: bool) -> str | None:
    """A body's syntax error with its own line numbers, or None; compiled in a scratch context."""
    engine = _scratch()
    prefix = "(async function (msg, node, __fw__) {" if async_ else "(function (msg, node, __fw__) {"
    try:
        engine.eval(prefix + (code or "") + "\n})")
    except JSException as exc:
        first = str(exc).splitlines()
        text = first[0] if first else "syntax error"
        match = re.search(r"<input>:(\d+):(\d+)", str(exc))
        where = f" (line {match.group(1)}, column {match.group(2)} of the code)" if match else ""
        return f"{text}{where}"
    return None


_scratch_engine: Engine | None = None


def _scratch() -> Engine:
    global _scratch_engine
    if _scratch_engine is None:
        _scratch_engine = Engine(64 * 1024 * 1024)
    return _scratch_engine


def uses_await(code: str) -> bool:
    return bool(_USES_AWAIT.search(code or ""))
