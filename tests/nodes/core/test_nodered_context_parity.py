"""`$parent.` context keys resolve as in Node-RED 4.1.15: up through nested subflows, from a tab to global.

fixtures/nodered-context-parent.json: a tab seeds global and flow context and
runs an `Outer` subflow that holds an instance of an `Inner` subflow. Change
nodes read and write `flow` keys with one to four `$parent.` prefixes at each
level, and a bare `$parent`; the captured message records what each resolved
to. `fixtures/record_nodered.py nodered-context-parent` regenerates the
recording from real Node-RED.
"""

from __future__ import annotations

import json
from pathlib import Path

from _nodered_capture import lines, run_until

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-context-parent.json"
EXPECTED = FIXTURES / "nodered-context-parent.expected.jsonl"


def test_flowwire_resolves_parent_keys_as_node_red_did(tmp_path: Path) -> None:
    expected = lines(EXPECTED)
    assert [json.loads(line) for line in run_until(EXPORT, len(expected), tmp_path / "capture.jsonl")] == [json.loads(line) for line in expected]


def test_the_recording_covers_each_level() -> None:
    """Guards the fixture: a subflow reaches its tab, a nested one reaches two and three levels up, a tab reaches global."""
    [record] = [json.loads(line) for line in lines(EXPECTED)]
    msg = record["msg"]
    assert (msg["o_tkey"], msg["i_okey"], msg["i_tkey"], msg["i_gkey"]) == ("from tab", "from outer", "from tab", "from global")
    assert (msg["tab_parent_gkey"], msg["global_from_tab"], msg["tab_shared"], msg["o_from_inner"]) == ("from global", "tab wrote", "outer overwrote", "inner wrote")
    assert not {"i_beyond", "o_bare_parent", "tab_parent_parent", "o_own_tkey", "o_after_inner", "tab_okey"} & msg.keys(), "undefined past the top and in a sibling scope"
