"""The `flowwire` command: validate, run (signals, drain, env files, log formats,
secrets), schema and nodes. `run` is tested as a real subprocess; the commands that
only print are called in-process (same code, no interpreter start-up per test).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runtime import cli
from runtime._context import Contexts

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
CLI_NODES = FIXTURES / "cli_nodes.py"
FLOWWIRE = [sys.executable, "-m", "runtime.cli"]


class Process:
    """A running `flowwire` whose stdout and stderr are collected as they arrive."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Event()
        self._readers = [asyncio.create_task(self._read(proc.stdout, self.stdout)), asyncio.create_task(self._read(proc.stderr, self.stderr))]

    async def _read(self, stream: asyncio.StreamReader | None, into: list[str]) -> None:
        assert stream is not None
        async for line in stream:
            into.append(line.decode().rstrip("\n"))
            self._changed.set()

    async def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        async def until() -> None:
            while not predicate():
                if self.proc.returncode is not None:
                    raise AssertionError(f"flowwire exited ({self.proc.returncode}) before {what}:\n" + "\n".join(self.stderr))
                self._changed.clear()
                # Output wakes us at once; predicates about files are polled every 10 ms.
                waiters = [asyncio.ensure_future(self._changed.wait()), asyncio.ensure_future(self.proc.wait())]
                await asyncio.wait(waiters, timeout=0.01, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; stderr:\n" + "\n".join(self.stderr)) from None

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def finish(self, timeout: float = 15.0) -> int:
        rc = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.gather(*self._readers)
        return rc


@asynccontextmanager
async def flowwire(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> AsyncIterator[Process]:
    proc = await asyncio.create_subprocess_exec(
        *FLOWWIRE, *args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    process = Process(proc)
    try:
        yield process
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def run_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)  # keep pytest's log capture
    try:
        rc = cli.main(list(args))
    except SystemExit as exc:
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def write_flow(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def write_cli_flow(tmp_path: Path, nodes: str, settings: str = "") -> Path:
    """flow.yaml loading the test node types of fixtures/cli_nodes.py; `nodes` is the YAML list under `nodes:`."""
    header = f"modules: [{CLI_NODES}]\n" + (f"settings: {settings}\n" if settings else "")
    return write_flow(tmp_path, "flow.yaml", header + "nodes:\n" + nodes.lstrip("\n"))


# -- validate -------------------------------------------------------------------------------


def test_validate_prints_a_one_line_summary(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rc, out, _ = run_in_process(capsys, monkeypatch, "validate", str(ROOT / "flows" / "hello.yaml"), str(FIXTURES / "nodered-export.json"))
    assert rc == 0
    assert out.splitlines() == ["ok: 14 node(s) on 1 tab(s) in 2 file(s)"]


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_flow(tmp_path, "bad.yaml", "- {id: a, type: injct, wires: [b]}\n- {id: b, type: debug, active: maybe}\n- {id: b, type: debug}\n")
    rc, out, err = run_in_process(capsys, monkeypatch, "validate", str(path))
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "3 problem(s) found; nothing was started:"
    assert lines[1] == f"  {path}:1: node 'a': field 'type': unknown node type 'injct'; did you mean 'inject'?"
    assert lines[2].startswith(f"  {path}:2: node 'b': field 'active': ")
    assert lines[3] == f"  {path}:3: node 'b': field 'id': duplicate id (first defined at {path}:2)"



def test_validate_checks_the_http_settings_and_exits_2_naming_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_flow(tmp_path, "flow.yaml", "settings: {uiPort: 99999}\nnodes:\n  - {id: d, type: debug}\n")
    rc, out, err = run_in_process(capsys, monkeypatch, "validate", str(path))
    assert rc == 2 and out == ""
    assert err.splitlines() == [
        "1 problem(s) found; nothing was started:",
        f"  {path}: field 'settings.uiPort': must be a port number 0-65535 (0: any free port)",
    ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("emoji.json", json.dumps([{"id": "i", "type": "inject", "topic": "\U0001f600"}, {"id": "f", "type": "function", "func": "return {'payload': '\U0001f600'}"}]).encode()),
        ("utf16.json", json.dumps([{"id": "i", "type": "inject", "topic": "caf\u00e9"}], ensure_ascii=False).encode("utf-16")),
        ("utf16.yaml", "- {id: i, type: inject, topic: caf\u00e9}\n".encode("utf-16")),
        ("bom.json", json.dumps([{"id": "i", "type": "inject"}]).encode("utf-8-sig")),
    ],
)
def test_validate_reads_surrogate_escapes_utf16_and_byte_order_marks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    rc, out, err = run_in_process(capsys, monkeypatch, "validate", str(path))
    assert (rc, err) == (0, "") and out.startswith("ok: ")


@pytest.mark.parametrize(
    ("name", "data", "located"),
    [
        ("latin1.yaml", b"- id: i\n  type: inject\n  topic: caf\xe9\n", ":3: not UTF-8 text: byte 0xe9 at column 13"),
        ("lone.json", b'[\n {"id": "i", "type": "inject", "topic": "\\ud83d"}\n]', ":2: a string holds half of a UTF-16 surrogate pair"),
        ("listkey.yaml", b"- id: a\n  type: debug\n  [x, y]: 1\n", ":3: not valid YAML/JSON: a mapping key must be a string or a number, not a list"),
        ("date.yaml", b"- id: a\n  type: inject\n  payload: 2024-02-30\n", ":3: not valid YAML/JSON: cannot read this value"),
        ("deep.json", b'[{"id": "i", "type": "inject", "payload": ' + b"[" * 300 + b"]" * 300 + b"}]", ":1: node 'i': field 'payload': nested deeper than 100"),
    ],
)
def test_validate_names_the_line_of_text_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, located: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    rc, out, err = run_in_process(capsys, monkeypatch, "validate", str(path))
    assert rc == 2 and out == ""
    assert err.splitlines()[1].startswith(f"  {path}{located}"), err


def test_validate_refuses_an_alias_bomb_at_its_alias_within_bounded_memory(tmp_path: Path) -> None:
    """Nine levels of nine aliases: 387 million strings if expanded. The 1 GiB address-space cap
    turns a regression into a MemoryError (exit 1) instead of a machine-sized process."""
    lines = ["- id: n", "  type: inject", "  payload:", '    a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"    a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 9)]
    path = write_flow(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run([*FLOWWIRE, "validate", str(path)], cwd=ROOT, preexec_fn=cap_memory, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.splitlines()[1] == f"  {path}:9: aliases expand this document past 100,000 nodes; refused (an alias bomb?)"


# -- run ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("- {id: i, type: inject, once: true, onceDelay: 0, wires: [d]}\n- {id: d, type: debug}\n- {id: x, type: debug, complete: 3}\n", "node 'x': field 'complete'"),
        ("settings: {metrics: true, httpResponseTimeout: -1}\nnodes:\n  - {id: i, type: inject, once: true, onceDelay: 0, wires: [d]}\n  - {id: d, type: debug}\n",
         "field 'settings.httpResponseTimeout': must be a number of milliseconds above 0"),
    ],
    ids=["a bad node field", "a bad http setting"],
)
async def test_run_on_an_invalid_file_starts_nothing_and_exits_2(tmp_path: Path, document: str, problem: str) -> None:
    path = write_flow(tmp_path, "flow.yaml", document)
    async with flowwire("run", str(path)) as fw:
        rc = await fw.finish()
    assert rc == 2
    assert fw.stdout == [], "the inject never fired"
    assert any(problem in line for line in fw.stderr)


async def test_run_hello_prints_debug_output_and_exits_0_on_sigint_after_draining() -> None:
    async with flowwire("run", "flows/hello.yaml", env={"USER": "tester"}) as fw:
        await fw.wait_for(lambda: any(line.startswith("[hello] msg:") for line in fw.stdout), "the first debug line")
        fw.send(signal.SIGINT)
        rc = await fw.finish()
    assert rc == 0
    first = json.loads(fw.stdout[0].removeprefix("[hello] msg: "))
    assert first["payload"] == "HELLO FROM FLOWWIRE!" and first["greeted_by"] == "tester"
    assert any("SIGINT received" in line for line in fw.stderr)
    assert any("stopped cleanly" in line for line in fw.stderr)


async def test_sigterm_drains_in_flight_messages_so_nothing_is_lost(tmp_path: Path) -> None:
    out = tmp_path / "received.txt"
    path = write_cli_flow(
        tmp_path,
        f"""
  - {{id: burst, type: cli-burst, count: 8, wires: [slow]}}
  - {{id: slow, type: cli-slow, seconds: 0.1, wires: [record]}}
  - {{id: record, type: cli-record, path: "{out}"}}
""",
    )
    async with flowwire("run", str(path)) as fw:
        await fw.wait_for(lambda: out.is_file() and out.read_text().count("\n") >= 1, "the first message to arrive")
        fw.send(signal.SIGTERM)
        rc = await fw.finish()
    assert rc == 0
    assert out.read_text().split() == [str(i) for i in range(8)], "every in-flight message reached the end"


async def _signal_twice(fw: Any) -> int:
    """SIGTERM, wait until it is handled, SIGTERM again: the forced exit's return code."""
    fw.send(signal.SIGTERM)
    await fw.wait_for(lambda: any("SIGTERM received" in line for line in fw.stderr), "the first signal to be handled")
    fw.send(signal.SIGTERM)
    return await fw.finish()


async def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    path = write_cli_flow(
        tmp_path,
        """
  - {id: burst, type: cli-burst, count: 1, wires: [stuck]}
  - {id: stuck, type: cli-stuck}
""",
        settings="{drainTimeout: 60}",
    )
    async with flowwire("run", str(path)) as fw:
        await fw.wait_for(lambda: any("holding" in line for line in fw.stderr), "the message to reach the stuck node")
        rc = await _signal_twice(fw)
    assert rc == 130, "a forced exit is not a clean one"
    assert any("second signal" in line for line in fw.stderr)


SPIN_FOREVER = """
  - {id: go, type: inject, once: true, onceDelay: 0, payload: spin, payloadType: str, wires: [spin]}
  - id: spin
    type: function
    func: |
      node.warn('spinning')
      while True:
          pass
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_a_function_body_stuck_in_a_loop(tmp_path: Path, sig: signal.Signals) -> None:
    path = write_flow(tmp_path, "flow.yaml", "nodes:" + SPIN_FOREVER)
    async with flowwire("run", str(path)) as fw:
        await fw.wait_for(lambda: any("spinning" in line for line in fw.stderr), "the body to start spinning")
        fw.send(sig)
        rc = await fw.finish(timeout=10)
    assert rc == 0, "\n".join(fw.stderr)
    [error] = [line for line in fw.stderr if "[function:spin]" in line and "ERROR" in line]
    assert "interrupted: shutting down" in error
    assert any(f"{sig.name} received" in line for line in fw.stderr)
    assert "stopped cleanly" in fw.stderr[-1]


async def test_a_function_timeout_keeps_the_runtime_going(tmp_path: Path) -> None:
    path = write_flow(
        tmp_path,
        "flow.yaml",
        """
nodes:
  - {id: first, type: inject, once: true, onceDelay: 0, payload: spin, payloadType: str, wires: [f]}
  - {id: second, type: inject, once: true, onceDelay: 0.1, payload: after, payloadType: str, wires: [f]}
  - id: f
    type: function
    timeout: 0.2
    func: |
      while msg.payload == 'spin':
          pass
      return msg
    wires: [[d]]
  - {id: d, type: debug}
""",
    )
    async with flowwire("run", str(path)) as fw:
        await fw.wait_for(lambda: bool(fw.stdout), "the message after the runaway one")
        fw.send(signal.SIGTERM)
        rc = await fw.finish()
    assert rc == 0
    assert fw.stdout == ["[d] payload: after"]
    assert any("[function:f]" in line and "function timed out after 0.2 s" in line for line in fw.stderr)


@pytest.mark.skipif(not hasattr(Contexts, "flush_sync"), reason="Contexts.flush_sync (saving file context stores synchronously) is not on this branch yet")
async def test_a_second_signal_saves_file_context_before_exiting(tmp_path: Path) -> None:
    store = tmp_path / "context"
    path = write_cli_flow(
        tmp_path,
        """
  - {id: burst, type: cli-burst, count: 1, wires: [keep]}
  - id: keep
    type: function
    func: |
      flow.set('kept', 'value')
      node.warn('kept')
      return msg
    wires: [[stuck]]
  - {id: stuck, type: cli-stuck}
""",
        settings=f"{{drainTimeout: 60, contextStorage: {{default: {{module: file, dir: '{store}', flushInterval: 3600}}}}}}",
    )
    async with flowwire("run", str(path)) as fw:
        # Not on "kept": until `keep` returns, the first signal interrupts its body, the message
        # fails, the drain ends at once and the second signal lands in (or after) the closing flush.
        await fw.wait_for(lambda: any("holding" in line for line in fw.stderr), "the message to reach the stuck node")
        rc = await _signal_twice(fw)
    assert rc == 130, "\n".join(fw.stderr)
    saved = [json.loads(p.read_text()) for p in store.glob("*.json")]
    assert {"kept": "value"} in saved, "the file store was written before the forced exit"


async def test_env_file_values_are_substituted(tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text("# settings for the test\nexport GREETING='hi from a file'\nTOPIC=t1\n")
    path = write_flow(
        tmp_path,
        "flow.yaml",
        "- {id: i, type: inject, once: true, onceDelay: 0, payload: '${GREETING}', payloadType: str, topic: '${TOPIC}', wires: [d]}\n- {id: d, type: debug}\n",
    )
    async with flowwire("run", str(path), "--env-file", str(env_file)) as fw:
        await fw.wait_for(lambda: bool(fw.stdout), "debug output")
        fw.send(signal.SIGINT)
        assert await fw.finish() == 0
    assert fw.stdout == ["[d] payload: hi from a file"]


async def test_json_logs_and_secrets_never_appear_anywhere(tmp_path: Path) -> None:
    key = "sk-test-5ecret-0123456789"
    path = write_cli_flow(
        tmp_path,
        """
  - {id: ok, type: inject, once: true, onceDelay: 0, payload: go, payloadType: str, wires: [api]}
  - {id: bad, type: inject, once: true, onceDelay: 0, payload: fail, payloadType: str, wires: [api]}
  - {id: api, type: cli-secret, key: "${API_KEY}", wires: [show]}
  - {id: show, type: debug, complete: "true", console: true}
  - {id: st, type: status, wires: [show]}
""",
    )
    async with flowwire("run", str(path), "--log-format", "json", env={"API_KEY": key}) as fw:
        await fw.wait_for(lambda: any("rejected" in line for line in fw.stderr) and len(fw.stdout) >= 2, "the error and the debug lines")
        fw.send(signal.SIGINT)
        assert await fw.finish() == 0
    everything = "\n".join(fw.stdout + fw.stderr)
    assert key not in everything
    assert "key=***" in everything and "rejected key ***" in everything
    records = [json.loads(line) for line in fw.stderr if line.strip()]
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    [error] = [r for r in records if "rejected" in r["message"]]
    assert error["level"] == "error" and error["node_id"] == "api"


# -- schema --------------------------------------------------------------------------------------


def test_schema_is_a_json_schema_that_accepts_good_flows_and_rejects_bad_ones(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rc, out, _ = run_in_process(capsys, monkeypatch, "schema")
    assert rc == 0
    schema = json.loads(out)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)

    validator.validate(yaml.safe_load((ROOT / "flows" / "hello.yaml").read_text()))
    validator.validate(json.loads((FIXTURES / "nodered-export.json").read_text()))
    validator.validate(json.loads((ROOT / "tests" / "nodes" / "core" / "fixtures" / "nodered-subflows.json").read_text()))

    for bad in (
        {"nodes": [{"id": "a", "type": "no-such-type"}]},
        {"nodes": [{"id": "a", "type": "inject", "once": "sometimes"}]},
        {"nodes": [{"type": "debug"}]},
        {"nodes": [], "extra": 1},
    ):
        assert not validator.is_valid(bad), bad


# -- nodes ---------------------------------------------------------------------------------------


def test_nodes_lists_every_type_with_a_summary(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rc, out, _ = run_in_process(capsys, monkeypatch, "nodes")
    assert rc == 0
    rows = {line.split()[0]: line for line in out.splitlines()}
    for node_type in ("inject", "debug", "function", "change", "catch", "status", "complete", "comment", "tab"):
        assert node_type in rows
        assert len(rows[node_type].split(maxsplit=1)) == 2, f"{node_type} has a summary"


def test_nodes_type_prints_its_properties(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rc, out, _ = run_in_process(capsys, monkeypatch, "nodes", "change")
    assert rc == 0
    assert out.startswith("change: Sets, changes")
    assert "rules" in out

    rc, _, err = run_in_process(capsys, monkeypatch, "nodes", "chnage")
    assert rc == 2 and "did you mean change" in err
