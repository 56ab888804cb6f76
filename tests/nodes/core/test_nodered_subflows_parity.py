"""A Node-RED export with subflows runs unchanged and emits what Node-RED 4.1.15 emitted.

fixtures/nodered-subflows.json: a `Scaler` subflow (env FACTOR num, LABEL
str, CONF json) holding change nodes, a switch comparing with `LIMIT` from
the global-config's env, a catch scoped to one inner node, a status node, and
a nested instance of a `Badge` subflow whose status output sets its instance's
status. Three instances on one tab: A overrides FACTOR and LABEL, B only
LABEL, C takes FACTOR from the tab's env (`env` type) and LABEL from the tab
by naming itself. Negative values fail in a node no inner catch covers, so
the error leaves the instance and reaches the tab's catch scoped to the
three instance ids. A disabled node sits on one branch and must never emit.

The change nodes record what Node-RED resolves (`$env`, env-typed rules,
`${A} text ${B}`, NR_NODE_ID/NAME/PATH, NR_SUBFLOW_NAME/ID, NR_FLOW_NAME/ID)
and the ids Node-RED gives the copies (`<instance>-<node>`), so the recording
pins ids, env and scoping together. The subflow uses change nodes rather than
a function node so that the fixture does not depend on the function node's
language. Error texts are engine-specific (JSONata's messages differ between
jsonata-js and jsonata-python), so the capture drops `error.message` and
`error.stack` and keeps `error.source`.

fixtures/record_nodered.py nodered-subflows regenerates the recording.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from _nodered_capture import assert_same_per_branch, lines, run_until

from runtime import cli

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-subflows.json"
EXPECTED = FIXTURES / "nodered-subflows.expected.jsonl"


def _branch(line: str) -> tuple[str, str]:
    """Per branch and instance: the three instances run side by side, so only their own order is Node-RED's contract."""
    record = json.loads(line)
    return record["branch"], str(record["msg"].get("topic"))


def test_flowwire_emits_what_node_red_emitted(tmp_path: Path) -> None:
    expected = lines(EXPECTED)
    assert_same_per_branch(expected, run_until(EXPORT, len(expected), tmp_path / "capture.jsonl"), _branch)


def test_the_recording_covers_what_the_fixture_is_for() -> None:
    """Guards the fixture itself: each instance's env, both catch levels and the nested status all appear."""
    records = [json.loads(line) for line in lines(EXPECTED)]
    branches = {r["branch"] for r in records}
    assert branches == {f"{i}/{k}" for i in "ABC" for k in ("out", "caught", "status")} | {"parent-catch"}
    outs = {r["msg"]["topic"]: r["msg"] for r in records if r["branch"].endswith("/out")}
    assert {t: m["label"] for t, m in outs.items()} == {"A": "alpha", "B": "beta", "C": "tab label"}
    assert [r["msg"]["error"]["source"]["id"] for r in records if r["branch"] == "parent-catch"] == [
        f"{i}-5cae1e2f3a4b0005" for i in ("a1a1a1a1a1a10001", "b2b2b2b2b2b20001", "c3c3c3c3c3c30001")
    ]


def test_the_export_validates_without_warnings(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)
    with caplog.at_level(logging.WARNING):
        rc = cli.main(["validate", str(EXPORT)])
    assert rc == 0, capsys.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
