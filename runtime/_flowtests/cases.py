"""The test file format (`*.test.yaml`, `tests:` in a flow) and finding the cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._errors import Problem
from .._parsing import ParseError, parse

TEST_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")
FLOW_SUFFIXES = (".yaml", ".yml", ".json")
_TAP = "__flowtest_tap__"


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
