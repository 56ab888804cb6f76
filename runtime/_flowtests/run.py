"""Running one case: the flow changed for the test (stubs, taps, quiet injects), messages in, checks."""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import _registry
from .._document import Document, NodeSpec, from_data
from .._engine import Runtime
from .._errors import FlowError, FlowwireError, NodeError, Problem
from .._jsonata import Expression
from .._messages import Msg, clone, new_msgid
from .._node import Node, NodeProps
from .._parsing import ParseError, parse
from .._registry import register
from .._validation import check_documents
from ..properties import PathError
from ..secrets import scrub
from ..testing import Flow
from .cases import Case, Expect, ExpectError, Fail, Respond, Result

_TAP = "__flowtest_tap__"


class _StubProps(NodeProps):
    respond: dict[str, Any] | None = None
    error: str | None = None


@register("test-stub")
class TestStub(Node):
    """Stands in for a node in `flowwire test`: records its input; answers, fails or stays quiet."""

    Props = _StubProps
    props: _StubProps

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[Msg] = []

    def on_input(self, msg: Msg) -> Msg | None:
        self.messages.append(clone(msg))
        if self.props.error is not None:
            raise NodeError(self.props.error, msg)
        if self.props.respond is None:
            return None
        msg.update(clone(self.props.respond))
        return msg


# -- running one case ----------------------------------------------------------------------------


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Nodes read some settings from os.environ at start, so a case's env is set there for its duration."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _documents(case: Case, problems: list[Problem]) -> list[Document]:
    documents = []
    for flow_path in case.flows:
        try:
            data = parse(flow_path.read_bytes(), json_errors=flow_path.suffix == ".json")
        except OSError as exc:
            problems.append(Problem(f"cannot read the flow: {exc.strerror or exc}", file=str(flow_path)))
            continue
        except ParseError as exc:
            problems.append(Problem(exc.message, file=str(flow_path), line=exc.line))
            continue
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "tests"}
        document = from_data(data, str(flow_path), problems)
        if document is None:
            continue
        for module in document.modules:
            try:
                _registry.load_module(module, flow_path.parent)
            except Exception as exc:
                problems.append(Problem(f"custom node module {module!r} failed to import: {exc}", file=str(flow_path), field="modules"))
        documents.append(document)
    return documents


def _prepare(case: Case, documents: list[Document], problems: list[Problem]) -> None:
    """Stubs, quiet injects, taps, memory context and no unused config nodes (see the module docstring)."""
    specs = {s.id: s for d in documents for s in d.nodes}
    where = {"file": str(case.file), "line": case.line}
    for node_id, stub in case.stub.items():
        spec = specs.get(node_id)
        if spec is None:
            problems.append(Problem(f"stub for unknown node {node_id!r}", field=f"stub.{node_id}", **where))
            continue
        if stub == "remove":
            for d in documents:
                d.nodes = [s for s in d.nodes if s.id != node_id]
            continue
        if stub == "emulator":
            spec.raw["emulator"] = "always"
            continue
        respond = {} if stub == "pass" else stub.respond if isinstance(stub, Respond) else None
        spec.type, spec.raw = "test-stub", {"respond": respond, "error": stub.error if isinstance(stub, Fail) else None}
    for d in documents:
        for spec in d.nodes:
            if spec.type == "inject":
                spec.raw.update(once=False, repeat=0, crontab="")
            elif spec.type == "debug" and spec.id not in case.stub:
                spec.type, spec.raw = "test-stub", {}
        storage = d.settings.get("contextStorage")
        if isinstance(storage, dict):
            d.settings["contextStorage"] = {k: v if k == "default" and isinstance(v, str) else {"module": "memory"} for k, v in storage.items()}
    specs = {s.id: s for d in documents for s in d.nodes}
    for expect in case.spec.expect:
        target = specs.get(expect.node)
        if target is None:
            problems.append(Problem(f"expects messages at unknown node {expect.node!r}", field="expect", **where))
            continue
        tap = _TAP + expect.node
        if tap in specs:
            continue
        for spec in specs.values():
            for port in spec.wires:
                if expect.node in port:
                    port.append(tap)
        documents[0].nodes.append(NodeSpec(id=tap, type="test-sink", raw={}, file=target.file, line=target.line, z=target.z))
        specs[tap] = documents[0].nodes[-1]
    _drop_unused_config(documents)


def _drop_unused_config(documents: list[Document]) -> None:
    def mentions(value: Any, node_id: str) -> bool:
        if isinstance(value, str):
            return value == node_id
        if isinstance(value, dict):
            return any(mentions(v, node_id) for v in value.values())
        if isinstance(value, list):
            return any(mentions(v, node_id) for v in value)
        return False

    while True:
        specs = [s for d in documents for s in d.nodes]
        unused = {
            s.id for s in specs
            if (cls := _registry.lookup(s.type)) is not None and cls.is_config and not any(o is not s and mentions(o.raw, s.id) for o in specs)
        }
        if not unused:
            return
        for d in documents:
            d.nodes = [s for s in d.nodes if s.id not in unused]


@dataclass
class _Caught:
    node: str
    message: str
    msg: Any


def _error_text(err: Exception | str) -> str:
    if isinstance(err, NodeError) or not isinstance(err, Exception):
        return scrub(str(err))
    return scrub(f"{type(err).__name__}: {err}")


async def run_case(case: Case) -> Result:
    result = Result(case)
    started = time.perf_counter()
    try:
        with _environment(case.env):
            await _run(case, result)
    except FlowError as exc:
        result.failures.append("the flow is not valid for this case:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except (FlowwireError, PathError) as exc:
        result.failures.append(f"error: {exc}")
    result.seconds = time.perf_counter() - started
    return result


async def _run(case: Case, result: Result) -> None:
    problems: list[Problem] = []
    _registry.load_builtins()
    documents = _documents(case, problems)
    _prepare(case, documents, problems)
    if problems:
        raise FlowError(problems)
    graph = check_documents(documents, {**os.environ}, problems, base_dir=case.flows[0].parent)
    if problems:
        raise FlowError(problems)
    runtime = Runtime(graph, base_dir=case.flows[0].parent)
    caught: list[_Caught] = []
    await runtime.start()
    try:
        events = runtime._router.events
        assert events is not None
        report = events.error

        def record(node: Node, err: Exception | str, msg: Msg | None, token: Any) -> None:
            caught.append(_Caught(node.id, _error_text(err), msg))
            report(node, err, msg, token)

        events.error = record  # type: ignore[method-assign]
        flow = Flow(runtime)
        for key, value in case.spec.context.get("global", {}).items():
            runtime.contexts.global_().set(key, value)
        _send(case, flow, runtime)
        await _wait(case, flow, caught)
        result.failures.extend(_check(case, flow, caught))
    finally:
        await runtime.stop()


def _send(case: Case, flow: Flow, runtime: Runtime) -> None:
    for index, step in enumerate(case.spec.send):
        if step.fire is not None:
            node = runtime.nodes.get(step.fire)
            if node is None or node.type != "inject":
                raise FlowwireError(f"send[{index}]: fire names {step.fire!r}, which is not an inject node of the flow")
            flow.deliver(step.fire, {"_msgid": new_msgid()})
            continue
        if step.node is None or step.node not in runtime.nodes:
            raise FlowwireError(f"send[{index}]: say which node receives the message (node: id), one of the flow's nodes; got {step.node!r}")
        for msg in ([step.msg] if step.msg is not None else []) + (step.msgs or []):
            flow.deliver(step.node, {"_msgid": new_msgid(), **clone(msg)})


def _wanted(expect: Expect) -> int:
    if expect.count is not None:
        return expect.count
    return len(expect.messages) if expect.messages is not None else 1


async def _wait(case: Case, flow: Flow, caught: list[_Caught]) -> None:
    """Until every expectation has its messages (or the case's timeout), then until the flow is quiet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + case.spec.timeout
    errors_wanted = len(case.spec.errors or [])

    def arrived() -> bool:
        return all(len(_received(flow, e.node)) >= _wanted(e) for e in case.spec.expect) and len(caught) >= errors_wanted

    while not arrived() and loop.time() < deadline:
        await asyncio.sleep(0.002)
    await flow.runtime.wait_idle(max(0.0, min(0.25, deadline - loop.time())))
    await asyncio.sleep(0)


def _received(flow: Flow, node_id: str) -> list[Msg]:
    tap = flow.runtime.nodes.get(_TAP + node_id)
    return list(tap.messages) if tap is not None else []


def _show(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True, default=repr, ensure_ascii=False).splitlines()


def _diff(expected: Any, actual: Any) -> str:
    lines = difflib.unified_diff(_show(expected), _show(actual), "expected", "actual", lineterm="", n=3)
    return "\n".join("    " + line for line in lines)


def _projection(msg: Msg, expected: dict[str, Any]) -> dict[str, Any]:
    return {k: msg[k] for k in expected if k in msg}


def _matches(msg: Msg, expected: dict[str, Any]) -> bool:
    from .._stores import same_json

    return all(k in msg and same_json(msg[k], v) for k, v in expected.items())


def _check(case: Case, flow: Flow, caught: list[_Caught]) -> list[str]:
    failures: list[str] = []
    for index, expect in enumerate(case.spec.expect):
        failures.extend(_check_expect(f"expect[{index}] at {expect.node!r}", expect, _received(flow, expect.node)))
    if case.spec.errors is None:
        failures.extend(f"unexpected error from node {c.node!r}: {c.message}" for c in caught)
    else:
        failures.extend(_check_errors(case.spec.errors, caught))
    return failures


def _plain(msgs: list[Msg]) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "_msgid"} for m in msgs]


def _check_expect(label: str, expect: Expect, msgs: list[Msg]) -> list[str]:
    failures: list[str] = []
    wanted = _wanted(expect)
    exact = expect.count is not None or expect.messages is not None
    if (len(msgs) != wanted) if exact else (len(msgs) < wanted):
        what = f"exactly {wanted}" if exact else f"at least {wanted}"
        failures.append(f"{label}: expected {what} message(s), got {len(msgs)}:\n" + "\n".join("    " + line for line in _show(_plain(msgs))))
    if expect.messages is not None:
        if expect.ordered:
            for i, (want, got) in enumerate(zip(expect.messages, msgs, strict=False)):
                if not _matches(got, want):
                    failures.append(f"{label}: message {i + 1} differs (only the expected keys are compared):\n{_diff(want, _projection(got, want))}")
        else:
            left = list(msgs)
            for want in expect.messages:
                hit = next((m for m in left if _matches(m, want)), None)
                if hit is None:
                    failures.append(f"{label}: no message matches (any order):\n" + "\n".join("    " + line for line in _show(want))
                                    + "\n  got:\n" + "\n".join("    " + line for line in _show([_projection(m, want) for m in left])))
                else:
                    left.remove(hit)
    if expect.match is not None:
        expression = Expression(expect.match)
        for i, msg in enumerate(msgs):
            if not expression.evaluate(msg):
                failures.append(f"{label}: message {i + 1} does not satisfy {expect.match!r}:\n" + "\n".join("    " + line for line in _show(_plain([msg])[0])))
    if expect.json_schema is not None:
        import jsonschema

        validator = jsonschema.Draft202012Validator(expect.json_schema)
        for i, msg in enumerate(msgs):
            for error in validator.iter_errors(_plain([msg])[0]):
                path = "/".join(str(p) for p in error.absolute_path) or "(the message)"
                failures.append(f"{label}: message {i + 1} fails the schema at {path}: {error.message}")
    return failures


def _check_errors(expected: list[ExpectError], caught: list[_Caught]) -> list[str]:
    failures = []
    if len(caught) != len(expected):
        got = "\n".join(f"    {c.node}: {c.message}" for c in caught) or "    (none)"
        failures.append(f"errors: expected {len(expected)} error(s), got {len(caught)}:\n{got}")
    for i, (want, got) in enumerate(zip(expected, caught, strict=False)):
        if want.node is not None and want.node != got.node:
            failures.append(f"errors[{i}]: expected an error from {want.node!r}, got one from {got.node!r}: {got.message}")
        if want.message is not None and want.message not in got.message:
            failures.append(f"errors[{i}]: expected the message to contain {want.message!r}, got {got.message!r}")
    return failures
