"""Bodies that handle a message with a big object under msg.blob emit, under flowwire, what Node-RED 4.1.15 emitted.

flowwire converts a message's big top-level values into JavaScript only when
a body first reads them, and hands untouched ones back as the original Python
values (docs/nodes/function.md, "Big messages"). fixtures/nodered-big-messages.json
checks that nothing a body can do tells the difference: a body that leaves
msg.blob alone, changes objects inside it, deletes it and adds it back,
enumerates the keys (for..in, Object.keys, hasOwnProperty, `in`, toJSON),
stringifies msg, sends msg three times (cloned, changed, not cloned), returns
it beside a RED.util.cloneMessage copy on two ports, stores it in context for
the next message, spreads and assigns it, awaits before changing it, freezes a
clone, and goes through RED.util's property paths. The expected lines are what
real Node-RED wrote (fixtures/record_nodered.py nodered-big-messages).
"""

from __future__ import annotations

from pathlib import Path

from _nodered_capture import assert_runs_as_recorded

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT = FIXTURES / "nodered-big-messages.json"


def test_bodies_see_and_emit_big_messages_as_node_red_does(tmp_path: Path) -> None:
    assert_runs_as_recorded(EXPORT, tmp_path)
