"""function: a JavaScript or Python function body that receives `msg`.

`language` picks the engine; it is never guessed from the text (a body such
as `return null;` compiles in both). The loader sets it for nodes that do
not say: `javascript` for Node-RED JSON exports, `python` for YAML, or the
document's `settings.functionLanguage`.

JavaScript runs in an embedded QuickJS engine, one context per node, with
Node-RED's function API (nodes/core/_js; why QuickJS: _js/engine.py).

Python: the code is the body of `def f(msg, node, context, flow, global_, env)`; it
returns what Node-RED's function returns (a msg, a list per port, or None).
If the body uses `await` it becomes an `async def` automatically and the node
runs it as an async handler; otherwise it is the synchronous fast path.
Inside, `msg.payload` works beside `msg["payload"]`.

Every call runs under `runtime.interruptible`, so Node-RED's `timeout`
(seconds, 0 = none) stops a runaway body with a node error for `catch`, and
a shutdown signal stops one that would otherwise keep the process deaf.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from runtime import Msg, Node, NodeError, NodeProps, Output, clone, interruptible, interruptible_await, lenient, register



class AttrDict(dict):  # type: ignore[type-arg]
    """A msg that also answers attribute access; nested dicts are wrapped when reached.

    Wrapping happens on the way in (by attribute or item access), so
    `msg["payload"].room` and `msg.payload.room` both work; `_unwrap` turns
    the wrapped parts back into plain dicts when the output leaves the node.
    """

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is dict:
            value = AttrDict(value)
            dict.__setitem__(self, key, value)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        self.pop(name, None)


class _Env:
    """`env.get("NAME")`, as in Node-RED: node, group, subflow instance, tab, global-config, then the process."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def get(self, name: str, default: Any = None) -> Any:
        value = self._node.env(name)
        return default if value is None else value


class _NodeAPI:
    """The `node` object a function sees: send, warn, error, status, done."""

    def __init__(self, node: Function) -> None:
        self._node = node
        self.id = node.id
        self.name = node.name
        self.log = node.log

    def send(self, output: Output, clone_msg: bool = True) -> None:
        self._node.send(clone(output) if clone_msg else output)

    def warn(self, text: Any) -> None:
        self._node.warn(str(text))

    def error(self, err: Any, msg: Msg | None = None) -> None:
        self._node.error(err if isinstance(err, Exception) else str(err), msg)

    def status(self, fill: Any = None, shape: str | None = None, text: Any = None) -> None:
        self._node.status(fill, shape, text)

    def done(self) -> None:
        """Accepted for Node-RED compatibility; returning from the body is done."""


_PARAMS = "msg, node, context, flow, global_, env"


def _is_async(tree: ast.Module) -> bool:
    class Finder(ast.NodeVisitor):
        found = False

        def visit_Await(self, node: ast.Await) -> None:
            self.found = True

        visit_AsyncFor = visit_AsyncWith = visit_Await  # type: ignore[assignment]

        def visit_FunctionDef(self, node: Any) -> None:
            return None

        visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    finder = Finder()
    finder.visit(tree)
    return finder.found


def compile_body(code: str, name: str) -> Callable[..., Any]:
    """Compile a function body; line numbers (syntax errors, tracebacks) are the body's own.

    The body's syntax tree is placed inside a parsed `def` rather than
    indenting the text, which would shift lines and change multi-line strings.
    """
    body = textwrap.dedent(code or "") or "pass"
    try:
        tree = ast.parse(body, filename=name)
    except SyntaxError as exc:
        raise SyntaxError(exc.msg, (name, exc.lineno, exc.offset, exc.text)) from None
    prefix = "async def" if _is_async(tree) else "def"
    module = ast.parse(f"{prefix} __flowwire_function__({_PARAMS}):\n    pass")
    function = module.body[0]
    assert isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
    function.body = tree.body or [ast.Pass(lineno=1, col_offset=0)]
    try:
        compiled = compile(module, name, "exec")
    except SyntaxError as exc:
        raise SyntaxError(exc.msg, (name, exc.lineno or 1, exc.offset, exc.text)) from None
    namespace: dict[str, Any] = {"__name__": f"flowwire.function.{name}"}
    exec(compiled, namespace)  # noqa: S102 - running the user's flow code is the point of this node
    return namespace["__flowwire_function__"]  # type: ignore[no-any-return]


#: A JavaScript body with no `timeout` of its own is stopped after this many seconds (a runaway loop).
JS_DEFAULT_TIMEOUT = 10.0
#: Bytes a JavaScript context may allocate (settings.functionMemoryLimit, in MB, overrides).
JS_MEMORY_LIMIT_MB = 128


class FunctionProps(NodeProps):
    func: str = Field("return msg", description="body receiving msg, node, context, flow, global (Python: global_), env")
    language: Literal["javascript", "python"] = Field("python", description="the body's language (default from the document: JSON exports javascript, YAML python)")
    libs: list[Any] = Field(default_factory=list, description="Node-RED's external modules; not supported")
    outputs: int = Field(1, ge=0, description="number of output ports")
    initialize: str = Field("", description="body run once at start (same names, no msg)")
    finalize: str = Field("", description="body run once at close")
    timeout: lenient.Float = Field(0, ge=0, description="seconds a call may run before it is stopped with an error (0: no limit)")



def _unwrap(value: Any) -> Any:
    """Plain dicts out: only wrapped parts are copied, so the cost follows what the code touched."""
    if isinstance(value, AttrDict):
        return {k: _unwrap(v) if isinstance(v, (AttrDict, list)) else v for k, v in dict.items(value)}
    if isinstance(value, list):
        return [_unwrap(v) if isinstance(v, (AttrDict, list)) else v for v in value]
    return value


@register("function")
class Function(Node):
    """Runs Python code on each message (Node-RED's function node, in Python)."""

    Props = FunctionProps
    props: FunctionProps
    raw_fields: ClassVar[frozenset[str]] = frozenset({"func", "initialize", "finalize"})

    @classmethod
    def check(cls, props: FunctionProps) -> list[tuple[str, str]]:
        problems = []
        if props.libs:
            names = ", ".join(str(lib.get("module", lib) if isinstance(lib, dict) else lib) for lib in props.libs)
            problems.append(("libs", f"external modules are not supported (libs: {names})"))
        if props.language == "javascript":
            from ._js.bridge import compile_error, uses_await

            for field_name in ("func", "initialize", "finalize"):
                code = getattr(props, field_name)
                error = compile_error(code, field_name, async_=field_name != "finalize" and (field_name == "initialize" or uses_await(code)))
                if error:
                    problems.append((field_name, f"JavaScript does not compile: {error}"))
            return problems
        for field_name in ("func", "initialize", "finalize"):
            try:
                compile_body(getattr(props, field_name), field_name)
            except SyntaxError as exc:
                problems.append((field_name, f"code does not compile: {exc.msg} (line {exc.lineno} of the code)"))
        return problems

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._js: Any = None
        if self.props.language == "javascript":
            self._init_js()
            return
        self._func = compile_body(self.props.func, f"{self.id}.func")
        self._api = _NodeAPI(self)
        self._env = _Env(self)
        self._timeout = self.props.timeout
        self._guard = interruptible(self._timeout, name="function")
        if inspect.iscoroutinefunction(self._func):
            self.on_input = self._on_input_async  # type: ignore[method-assign]

    def _args(self, msg: Any) -> tuple[Any, ...]:
        return (msg, self._api, self.context, self.flow_context, self.global_context, self._env)

    def on_input(self, msg: Msg) -> Output:
        with self._guard:
            out = self._func(*self._args(AttrDict(msg)))
        return _unwrap(out)

    async def _on_input_async(self, msg: Msg) -> Output:
        return _unwrap(await interruptible_await(self._func(*self._args(AttrDict(msg))), self._timeout, name="function"))

    # -- JavaScript --------------------------------------------------------------------------

    def _init_js(self) -> None:
        from ._js.bridge import JsBody

        settings = self.settings
        timeout = self.props.timeout or lenient.as_number(settings.get("globalFunctionTimeout")) or JS_DEFAULT_TIMEOUT
        memory = lenient.as_number(settings.get("functionMemoryLimit")) or JS_MEMORY_LIMIT_MB
        self._js = JsBody(self, int(memory * 1024 * 1024))
        self._js_timeout = timeout
        self._guard = interruptible(timeout, name="function")
        self.on_input = self._on_input_js  # type: ignore[method-assign]

    def _on_input_js(self, msg: Msg) -> Output:
        try:
            with self._guard:
                return self._js.run(msg)  # type: ignore[no-any-return]
        except Exception as exc:
            if self._js.last_call in self._js.fail_stopped(exc):
                return None  # stopped after an await: its hold reported the failure with the msg
            raise

    def run_js(self, function: Any, *args: Any) -> None:
        """A timer firing: run JavaScript outside any message; a failure fails the message whose code it stopped, else is a node error."""
        try:
            with self._guard:
                self._js.engine.call(function, *args)
                self._js.engine.pump()
        except Exception as exc:  # noqa: BLE001 - the engine's own failures (out of memory) end the timer, not the loop
            error = exc if isinstance(exc, NodeError) else NodeError(f"{type(exc).__name__}: {exc}")
            if not self._js.fail_stopped(error):
                self.error(error)

    async def _run_js_hook(self, code: str, label: str, can_send: bool) -> None:
        if not code.strip():
            return
        try:
            with interruptible(self._js_timeout, name=label):
                failure = self._js.hook(code, can_send)
                self._js.engine.pump()
        except Exception as exc:  # noqa: BLE001 - reported like Node-RED does, the node stays up
            raise NodeError(f"{label} code failed: {exc}") from exc
        text = self._js.engine.call(failure)
        if text:
            raise NodeError(f"{label} code failed: {text}")

    async def _run_hook(self, code: str, label: str) -> None:
        """Run initialize/finalize; no timeout (as in Node-RED), but a shutdown signal can stop them."""
        if not code.strip():
            return
        hook = compile_body(code, f"{self.id}.{label}")
        try:
            with interruptible(name=label):
                result = hook(*self._args(None))
            if inspect.iscoroutine(result):
                await interruptible_await(result, name=label)
        except Exception as exc:
            raise NodeError(f"{label} code failed: {type(exc).__name__}: {exc}") from exc

    async def start(self) -> None:
        try:
            if self._js is not None:
                await self._run_js_hook(self.props.initialize, "initialize", True)
            else:
                await self._run_hook(self.props.initialize, "initialize")
        except NodeError as exc:
            self.error(exc)

    async def close(self) -> None:
        if self._js is None:
            await self._run_hook(self.props.finalize, "finalize")
            return
        try:
            await self._run_js_hook(self.props.finalize, "finalize", False)
        except NodeError as exc:
            self.error(exc)
        finally:
            self._js.close()
