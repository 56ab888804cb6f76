"""`flowwire test`: flow tests written in YAML beside the flows, run on `runtime.testing`.

A test file `<flow>.test.yaml` (or a `tests:` list inside a flow document)
holds cases; each case starts its flow afresh, with stubs in place of the
nodes that reach the outside, sends messages in, waits until what it expects
has arrived (or its timeout), and compares. docs/testing-flows.md is the
reference; the flow is changed before validation only in these ways:

- a stubbed node becomes a `test-stub` with the same id and wires;
- inject nodes do not fire on their own (a case fires them with `fire:`),
  and debug nodes are quiet sinks (the report is the output);
- every node a case expects messages at gets a recording tap on each wire
  into it, so "what arrives at a node" is what its input wires carried;
- context stores are all memory stores, and config nodes no remaining node
  names (a broker once its mqtt nodes are stubbed) are left out: offline.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import _registry
from ._document import Document, NodeSpec, from_data
from ._engine import Runtime
from ._errors import FlowError, FlowwireError, NodeError, Problem
from ._jsonata import Expression
from ._messages import Msg, clone, new_msgid
from ._node import Node, NodeProps
from ._parsing import ParseError, parse
from ._registry import register
from ._validation import check_documents
from .properties import PathError
from .secrets import scrub
from .testing import Flow

TEST_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")
FLOW_SUFFIXES = (".yaml", ".yml", ".json")
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


# -- the test file format ----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Respond(_Model):
    respond: dict[str, Any] = Field(default_factory=dict)


class Fail(_Model):
    error: str


Stub = Literal["sink", "pass", "remove", "emulator"] | Respond | Fail | None


class Step(_Model):
    node: str | None = None
    msg: dict[str, Any] | None = None
    msgs: list[dict[str, Any]] | None = None
    fire: str | None = None


class Expect(_Model):
    node: str
    count: int | None = Field(None, ge=0)
    messages: list[dict[str, Any]] | None = None
    ordered: bool = True
    match: str | None = None
    json_schema: dict[str, Any] | None = Field(None, alias="schema")


class ExpectError(_Model):
    node: str | None = None
    message: str | None = None


class CaseSpec(_Model):
    name: str
    env: dict[str, str] = Field(default_factory=dict)
    stub: dict[str, Stub] = Field(default_factory=dict)
    context: dict[Literal["global"], dict[str, Any]] = Field(default_factory=dict)
    send: list[Step] = Field(default_factory=list)
    expect: list[Expect] = Field(default_factory=list)
    errors: list[ExpectError] | None = None
    timeout: Annotated[float, Field(gt=0)] = 5.0


class TestFile(_Model):
    flow: str | list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    stub: dict[str, Stub] = Field(default_factory=dict)
    tests: list[CaseSpec]


@dataclass
class Case:
    spec: CaseSpec
    file: Path
    line: int | None
    flows: list[Path]
    env: dict[str, str]
    stub: dict[str, Stub]

    @property
    def id(self) -> str:
        return f"{self.file}::{self.spec.name}"


@dataclass
class Result:
    case: Case
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


# -- collecting ----------------------------------------------------------------------------------


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Test files under the paths: `*.test.yaml` files, and flow documents with a `tests:` list."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(FLOW_SUFFIXES)) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name.endswith(TEST_SUFFIXES) or _has_tests(candidate) or not path.is_dir():
                found.append(candidate)
    return list(dict.fromkeys(found))


def _has_tests(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("tests:") for line in head.splitlines())


def _line_of(data: Any, loc: Sequence[int | str]) -> int | None:
    """The line of the innermost located value along a pydantic error location."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        key_lines = getattr(node, "key_lines", None)
        if isinstance(node, dict) and part in node:
            line = (key_lines or {}).get(part, line) if isinstance(part, str) else line
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
        line = getattr(node, "line", line)
    return line


def load_cases(path: Path, problems: list[Problem]) -> list[Case]:
    name = str(path)
    try:
        data = parse(path.read_bytes(), json_errors=path.suffix == ".json")
    except OSError as exc:
        problems.append(Problem(f"cannot read the file: {exc.strerror or exc}", file=name))
        return []
    except ParseError as exc:
        problems.append(Problem(exc.message, file=name, line=exc.line))
        return []
    is_flow = not path.name.endswith(TEST_SUFFIXES)
    if not isinstance(data, dict) or "tests" not in data:
        problems.append(Problem("a test file is a mapping with a 'tests:' list", file=name, line=getattr(data, "line", None)))
        return []
    section = {k: v for k, v in data.items() if k in ("tests", "env", "stub", "flow")} if is_flow else data
    try:
        parsed = TestFile.model_validate(section)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            problems.append(Problem(error["msg"], file=name, line=_line_of(data, error["loc"]), field=where))
        return []
    if is_flow:
        flows = [path]
    elif parsed.flow is None:
        stem = path.name[: -len(next(s for s in TEST_SUFFIXES if path.name.endswith(s)))]
        flows = [p for p in (path.with_name(stem + s) for s in FLOW_SUFFIXES) if p.is_file()][:1]
        if not flows:
            problems.append(Problem(f"no flow named {stem}.yaml beside it; say which with 'flow:'", file=name, field="flow"))
            return []
    else:
        flows = [path.parent / f for f in ([parsed.flow] if isinstance(parsed.flow, str) else parsed.flow)]
    cases = []
    tests_data = data["tests"]
    for index, spec in enumerate(parsed.tests):
        line = getattr(tests_data[index], "line", None)
        cases.append(Case(spec, path, line, flows, {**parsed.env, **spec.env}, {**parsed.stub, **spec.stub}))
    return cases


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
    graph = check_documents(documents, {**os.environ}, problems)
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
    from ._stores import same_json

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


# -- the command ---------------------------------------------------------------------------------


def main(args: Any) -> int:
    problems: list[Problem] = []
    files = discover(args.paths)
    cases = [c for f in files for c in load_cases(f, problems)]
    if problems:
        print(f"{len(problems)} problem(s) in the test files; nothing was run:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.keyword:
        cases = [c for c in cases if args.keyword in c.id]
    if not cases:
        print(f"no flow tests found in {', '.join(map(str, args.paths))}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = asyncio.run(_run_all(cases, args.quiet))
    elapsed = time.perf_counter() - started
    failed = [r for r in results if not r.passed]
    if args.quiet:
        print()
    if failed:
        print("=" * 30 + " FAILURES " + "=" * 30)
        for result in failed:
            where = f"{result.case.file}:{result.case.line}" if result.case.line else str(result.case.file)
            print(f"_____ {result.case.id} ({where}) _____")
            for failure in result.failures:
                print(failure)
            print()
    summary = ", ".join(part for part in (f"{len(failed)} failed" if failed else "", f"{len(results) - len(failed)} passed") if part)
    print(f"{'=' * 20} {summary} in {elapsed:.2f}s {'=' * 20}")
    if args.junit_xml:
        _write_junit(Path(args.junit_xml), results, elapsed)
    return 1 if failed else 0


async def _run_all(cases: list[Case], quiet: bool) -> list[Result]:
    results = []
    for case in cases:
        result = await run_case(case)
        results.append(result)
        if quiet:
            print("." if result.passed else "F", end="", flush=True)
        else:
            print(f"{case.id} {'PASSED' if result.passed else 'FAILED'} ({result.seconds:.2f}s)", flush=True)
    return results


def _write_junit(path: Path, results: list[Result], elapsed: float) -> None:
    failed = sum(not r.passed for r in results)
    suite = ET.Element("testsuite", name="flowwire", tests=str(len(results)), failures=str(failed), errors="0", time=f"{elapsed:.3f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=str(result.case.file), name=result.case.spec.name, time=f"{result.seconds:.3f}")
        if result.failures:
            failure = ET.SubElement(case, "failure", message=result.failures[0].splitlines()[0])
            failure.text = "\n\n".join(result.failures)
    root = ET.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
