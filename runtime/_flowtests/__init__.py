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
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .._errors import Problem
from .cases import Case, Result, discover, load_cases
from .run import run_case



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
