"""`flowwire validate` never shows a traceback: generated and mutated flow documents exit 0 or 2.

Three sources of input, each a few seconds in the normal suite (and the
generated documents that validate are also started and stopped, as `run` would):
- documents built from the keys and node types the loader cares about
  (subflow definitions and instances, env lists, wires, scopes, groups,
  global-config, disabled flags) with values of every JSON type in every place;
- the repository's own flow files with nodes mutated (a key dropped, a value
  replaced by another type, nodes duplicated or removed);
- bytes: real files cut short or with bytes flipped, in JSON and YAML.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime import FlowError, Runtime, check_files, cli

#: Something the loader imports (jsonata) raises the recursion limit once; hypothesis notes that it cannot reset it.
pytestmark = pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")

ROOT = Path(__file__).resolve().parents[2]
#: Flow documents only: `*.test.yaml` files beside the flows hold `flowwire test` cases, not nodes.
SEEDS = sorted([*(p for p in ROOT.glob("flows/**/*.yaml") if not p.name.endswith(".test.yaml")), *ROOT.glob("tests/**/fixtures/nodered-*.json")])

#: FLOWWIRE_FUZZ_EXAMPLES=2000 for a longer hunt; the normal suite keeps to a few seconds.
FUZZ = settings(max_examples=int(os.environ.get("FLOWWIRE_FUZZ_EXAMPLES", "40")), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TYPES = ["tab", "group", "subflow", "subflow:s1", "subflow:s2", "subflow:nope", "global-config", "change", "catch", "status", "complete",
         "link in", "link out", "link call", "inject", "function", "exec", "switch", "junction", "comment", "test-sink", "unknown-type", "greeter"]
IDS = ["a", "b", "c", "s1", "s2", "t1", "g1", "a-b", ""]
KEYS = ["id", "type", "z", "g", "d", "disabled", "wires", "env", "in", "out", "status", "name", "label", "scope", "links", "rules", "modules", "flow",
        "meta", "credentials", "x", "y", "command", "payload", "payloadType", "timer", "uncaught", "nodes"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(IDS + TYPES + ["${X}", "${X:-1}", "NR_NODE_ID", "true"]), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["id", "port", "name", "value", "type", "wires", "t", "p"]), inner, max_size=4), max_leaves=12)
env_entry = st.fixed_dictionaries({"name": st.sampled_from(["X", "K", "NR_NODE_ID", ""]), "value": values, "type": st.sampled_from(["str", "num", "bool", "json", "env", "cred", "jsonata", "bin", "re", "date", "nonsense"])})
port = st.fixed_dictionaries({"wires": st.lists(st.fixed_dictionaries({"id": st.sampled_from(IDS), "port": st.one_of(st.integers(-1, 3), values)}), max_size=3)})
special = {
    "type": st.sampled_from(TYPES),
    "id": st.sampled_from(IDS),
    "z": st.sampled_from(IDS),
    "g": st.sampled_from(IDS),
    "wires": st.one_of(values, st.lists(st.lists(st.sampled_from(IDS), max_size=3), max_size=3)),
    "env": st.one_of(values, st.lists(env_entry, max_size=3)),
    "in": st.one_of(values, st.lists(port, max_size=2)),
    "out": st.one_of(values, st.lists(port, max_size=3)),
    "status": st.one_of(values, port),
}
node = st.dictionaries(st.sampled_from(KEYS), values, max_size=6).flatmap(
    lambda base: st.fixed_dictionaries({k: special.get(k, st.just(v)) for k, v in base.items()} | {"id": special["id"], "type": special["type"]})
)
documents = st.one_of(st.lists(node, max_size=8), st.fixed_dictionaries({"nodes": st.lists(node, max_size=6)}, optional={"settings": values, "modules": values}), values)


def _validate(path: Path) -> int:
    """Run `flowwire validate` in-process; any exception escaping it fails the test with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(["validate", str(path)])
        except SystemExit as exc:  # how `validate` leaves with problems listed
            rc = exc.code if isinstance(exc.code, int) else 1
    assert rc in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    return rc


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Thousands of located problems need not be logged; the level goes back for the tests after these."""
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)
    logger = logging.getLogger("flowwire")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@FUZZ
@given(document=documents, as_yaml=st.booleans())
def test_generated_documents(document: Any, as_yaml: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("flow.yaml" if as_yaml else "flow.json")
        path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML: the .yaml path goes through the YAML reader's rules
        _validate(path)


#: Types whose start would run arbitrary generated code or commands on this machine.
_NOT_STARTED = ("exec", "function")


def _startable(document: Any) -> Any:
    if isinstance(document, list):
        return [n for n in document if not (isinstance(n, dict) and n.get("type") in _NOT_STARTED)]
    if isinstance(document, dict) and isinstance(document.get("nodes"), list):
        return {**document, "nodes": _startable(document["nodes"])}
    return document


@settings(FUZZ, max_examples=max(5, FUZZ.max_examples // 2))
@given(document=documents)
def test_generated_documents_that_validate_also_start_and_stop(document: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "flow.json"
        path.write_text(json.dumps(_startable(document)), encoding="utf-8")
        try:
            graph = check_files([path])
        except FlowError:
            return

        async def start_and_stop() -> None:
            runtime = Runtime(graph, drain_timeout=0.2, close_timeout=0.5)
            with contextlib.suppress(FlowError):  # a node that cannot be created is a located problem too
                await runtime.start()
            await runtime.stop()

        asyncio.run(start_and_stop())


def _seed_nodes(path: Path) -> list[Any]:
    from runtime._convert import read

    data = read(path)
    return list(data["nodes"] if isinstance(data, dict) else data)


SEED_NODES = {p.name: _seed_nodes(p) for p in SEEDS}


@FUZZ
@given(seed=st.sampled_from(sorted(SEED_NODES)), edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(KEYS), st.one_of(values, st.just("<drop>"), st.just("<dup>"))), min_size=1, max_size=6))
def test_mutated_repository_flows(seed: str, edits: list[tuple[int, str, Any]]) -> None:
    nodes = json.loads(json.dumps(SEED_NODES[seed]))
    for index, key, value in edits:
        if not nodes:
            break
        target = nodes[index % len(nodes)]
        if not isinstance(target, dict):
            continue
        if value == "<drop>":
            target.pop(key, None)
        elif value == "<dup>":
            nodes.append(json.loads(json.dumps(target)))
        else:
            target[key] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "flow.json"
        path.write_text(json.dumps(nodes), encoding="utf-8")
        _validate(path)


SEED_BYTES = {p.name: p.read_bytes()[:20_000] for p in SEEDS}


@FUZZ
@given(seed=st.sampled_from(sorted(SEED_BYTES)), cut=st.integers(0, 20_000), flips=st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 255)), max_size=4))
def test_damaged_bytes(seed: str, cut: int, flips: list[tuple[int, int]]) -> None:
    raw = bytearray(SEED_BYTES[seed][: max(1, cut)])
    for at, byte in flips:
        raw[at % len(raw)] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (seed if cut % 2 else Path(seed).stem + ".yaml")
        path.write_bytes(bytes(raw))
        _validate(path)
