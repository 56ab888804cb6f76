"""A Node-RED export of the everyday nodes runs unchanged and emits what Node-RED 4.1.15 emitted.

fixtures/nodered-everyday.json is a Node-RED flows export (no function nodes)
covering inject, switch, change, template, split/join, sort, batch, csv, json,
yaml, range, rbe, trigger, delay and link. Every branch ends in a capture: a
change node sets `payload` to `{"branch": <label>, "msg": <the whole message
without _msgid, parts.id removed>}` (JSONata), a json node stringifies it and a
file node appends it as a line to the file named by the CAPTURE_FILE env var.
fixtures/nodered-everyday.expected.jsonl is what real Node-RED wrote
(fixtures/record_nodered.py regenerates it); this test needs no Node-RED.

Lines are compared as text, so payloads, `parts` bookkeeping, key order and
number formatting must all match. Order is compared per inject: the captures
one inject feeds receive its messages in the order Node-RED's hop-by-hop
delivery fixes, whatever the machine's load. Different injects are only
staggered by their `onceDelay` (50 ms apart), and a loaded machine (load
average 8 on 2 cores) stalls the process longer than that, so two injects
fire in the same turn and their messages interleave: that interleaving is not
Node-RED's contract (Node-RED stalled as long would interleave them too), and
grouping captures by a label prefix (e.g. every `sj/...`, fed by three
injects) did compare it. Within the trigger and delay branches order is
compared per capture only, because two timers race there (e.g. a 20 ms rate
limit against a 30 ms fixed delay).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from _nodered_capture import assert_same_per_branch, feeding_injects, lines, run_until

from runtime import cli

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-everyday.json"
EXPECTED = FIXTURES / "nodered-everyday.expected.jsonl"
#: Branches whose captures are fed by independent timers.
TIMED = {"trigger", "delay"}
INJECTS = feeding_injects(EXPORT)


def _branch(line: str) -> str | frozenset[str]:
    label: str = json.loads(line)["branch"]
    return label if label.split("/")[0] in TIMED else INJECTS[label]


def test_flowwire_emits_what_node_red_emitted(tmp_path: Path) -> None:
    expected = lines(EXPECTED)
    assert_same_per_branch(expected, run_until(EXPORT, len(expected), tmp_path / "capture.jsonl"), _branch)


def test_the_export_validates_without_warnings(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli._logging, "configure", lambda *a, **k: None)  # keep pytest's log capture
    with caplog.at_level(logging.WARNING):
        rc = cli.main(["validate", str(EXPORT)])
    assert rc == 0, capsys.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
