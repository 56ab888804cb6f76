"""`flowwire test`: YAML flow tests, run through the real command (in-process `main`)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from textwrap import dedent

import pytest

from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["test", *args])
    out, err = capsys.readouterr()
    return code, out, err


FLOW = """\
name: pricing
nodes:
  - id: start
    type: inject
    once: true
    repeat: 1
    props: [{p: payload, v: "3", vt: num}]
    wires: [price]
  - id: price
    type: function
    func: |
      if msg.payload < 0:
          raise ValueError("negative quantity")
      msg.total = msg.payload * 2.5
      return msg
    wires: [lookup]
  - id: lookup
    type: http request
    url: http://prices.invalid/{{payload}}
    wires: [out]
  - id: out
    type: debug
"""


@pytest.fixture
def flow_dir(tmp_path: Path) -> Path:
    (tmp_path / "pricing.yaml").write_text(FLOW)
    return tmp_path


def write_tests(directory: Path, text: str, name: str = "pricing.test.yaml") -> Path:
    path = directory / name
    path.write_text(dedent(text))
    return path


def test_the_example_flows_pass_offline_in_under_ten_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    code, out, _ = run(capsys, str(ROOT / "flows"))
    elapsed = time.perf_counter() - started
    assert code == 0, out
    names = {line.split("::")[0].rsplit("/", 1)[-1] for line in out.splitlines() if "PASSED" in line}
    assert names >= {"hello.test.yaml", "mqtt-sensors.test.yaml", "assistant.test.yaml", "custom-node.test.yaml"}
    assert elapsed < 10, f"{elapsed:.1f} s"


def test_stubs_assertions_and_a_passing_run(flow_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tests(flow_dir, """\
        stub:
          lookup: {respond: {statusCode: 200, payload: {ok: true}}}
        tests:
          - name: the inject fires only when told to, and the stub answers
            send:
              - fire: start
            expect:
              - node: lookup
                messages: [{payload: 3, total: 7.5}]
              - node: out
                messages: [{statusCode: 200, payload: {ok: true}, total: 7.5}]
          - name: any order, a predicate and a schema
            send:
              - node: price
                msgs: [{payload: 1}, {payload: 2}]
            expect:
              - node: lookup
                ordered: false
                messages: [{total: 5.0}, {total: 2.5}]
                match: "total > 2"
                schema: {type: object, required: [total], properties: {total: {type: number}}}
          - name: an error is expected and nothing goes on
            stub: {lookup: sink}
            send:
              - node: price
                msg: {payload: -1}
            expect:
              - node: lookup
                count: 0
            errors:
              - {node: price, message: "negative quantity"}
          - name: a stub can fail like the real node
            stub: {lookup: {error: "503 from the price service"}}
            send:
              - node: price
                msg: {payload: 1}
            errors:
              - {node: lookup, message: "503"}
        """)
    code, out, _ = run(capsys, str(flow_dir))
    assert code == 0, out
    assert out.count("PASSED") == 4 and "4 passed" in out


def test_a_failing_assertion_shows_expected_and_actual(flow_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_tests(flow_dir, """\
        stub: {lookup: sink}
        tests:
          - name: wrong total
            send:
              - node: price
                msg: {payload: 2}
            expect:
              - node: lookup
                messages: [{payload: 2, total: 6}]
          - name: right total
            send:
              - node: price
                msg: {payload: 2}
            expect:
              - node: lookup
                messages: [{total: 5}]
          - name: an unexpected error fails the case
            send:
              - node: price
                msg: {payload: -2}
            expect:
              - {node: lookup, count: 0}
        """)
    junit = tmp_path / "out" / "junit.xml"
    code, out, _ = run(capsys, str(flow_dir), "--junit-xml", str(junit))
    assert code == 1
    assert "wrong total FAILED" in out and "right total PASSED" in out
    assert '-  "total": 6' in out and '+  "total": 5.0' in out, out
    assert "unexpected error from node 'price': ValueError: negative quantity" in out
    assert "2 failed, 1 passed" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("3", "2")
    failures = {c.get("name"): c.find("failure") for c in suite.iter("testcase")}
    assert failures["right total"] is None and "total" in (failures["wrong total"].text or "")  # type: ignore[union-attr]


def test_a_missing_message_is_a_failure_after_the_timeout(flow_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tests(flow_dir, """\
        stub: {lookup: sink}
        tests:
          - name: waits then fails
            timeout: 0.3
            send:
              - node: price
                msg: {payload: 1}
            expect:
              - {node: lookup, count: 2}
        """)
    code, out, _ = run(capsys, str(flow_dir), "-q")
    assert code == 1 and "expected exactly 2 message(s), got 1" in out and '"total": 2.5' in out


def test_tests_inside_a_flow_document_and_the_k_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "inline.yaml"
    flow.write_text(FLOW + dedent("""\
        tests:
          - name: one
            stub: {lookup: sink}
            send: [{node: price, msg: {payload: 4}}]
            expect: [{node: lookup, messages: [{total: 10}]}]
          - name: two
            stub: {lookup: sink}
            send: [{node: price, msg: {payload: 0}}]
            expect: [{node: lookup, messages: [{total: 0}]}]
        """))
    code, out, _ = run(capsys, str(tmp_path), "-k", "two")
    assert code == 0 and "inline.yaml::two PASSED" in out and "::one" not in out
    assert main(["validate", str(flow)]) == 0, "a flow with tests: still validates and runs"


def test_a_wrong_test_file_is_a_located_error(flow_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_tests(flow_dir, """\
        tests:
          - name: typo
            send:
              - node: price
                mesg: {payload: 1}
        """)
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert f"{path}:5: field 'tests.0.send.0.mesg': Extra inputs are not permitted" in err, err


def test_unknown_nodes_in_stubs_and_steps_are_reported(flow_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tests(flow_dir, """\
        tests:
          - name: stub typo
            stub: {lookpu: sink}
          - name: fire a function
            stub: {lookup: sink}
            send: [{fire: price}]
        """)
    code, out, _ = run(capsys, str(flow_dir))
    assert code == 1
    assert "stub for unknown node 'lookpu'" in out
    assert "fire names 'price', which is not an inject node" in out
