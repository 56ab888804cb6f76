"""A Node-RED export of typical JavaScript function bodies emits, under flowwire, what Node-RED 4.1.15 emitted.

fixtures/nodered-functions.json is a flows export whose function nodes carry
no `language` (a JSON export: JavaScript): counters in context, multi-output
routing, node.send in a loop, await on a timer, setTimeout with node.done,
arrays of arrays, Buffer handling, RED.util, built-ins (Date, RegExp, Math,
JSON), initialize, env's NR_* names, flow context shared by two nodes, and
errors (thrown and node.error) to a catch node. Every branch ends in the same
capture as the everyday fixture (see test_nodered_parity.py), and
fixtures/nodered-functions.expected.jsonl is what real Node-RED wrote
(fixtures/record_nodered_functions.py). Lines are compared as text per branch.
"""

from __future__ import annotations

from pathlib import Path

from _nodered_capture import assert_runs_as_recorded

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-functions.json"


def test_flowwire_runs_the_function_bodies_as_node_red_did(tmp_path: Path) -> None:
    assert_runs_as_recorded(EXPORT, tmp_path)
