"""The benchmark flow's middle, shared by flowwire and Node-RED: switch → template → split → join.

Every message is tested by a `switch` on `payload.status` (one output for
"requires_action", the `else` output for the rest), rendered into a string
by one of two `template` nodes, split on spaces into 6 messages and joined
back (automatic mode) into the same string.
"""

from __future__ import annotations

from typing import Any


def middle(first_after: str) -> list[dict[str, Any]]:
    """Node-RED-exported-style nodes; `first_after` is the id the join sends to."""
    return [
        {
            "id": "sw",
            "type": "switch",
            "z": "tab1",
            "name": "needs action?",
            "property": "payload.status",
            "propertyType": "msg",
            "rules": [{"t": "eq", "v": "requires_action", "vt": "str"}, {"t": "else"}],
            "checkall": "true",
            "repair": False,
            "outputs": 2,
            "x": 300,
            "y": 100,
            "wires": [["tpl_action"], ["tpl_ok"]],
        },
        _template("tpl_action", "action {{payload.i}} alpha beta gamma delta"),
        _template("tpl_ok", "ok {{payload.i}} alpha beta gamma delta"),
        {
            "id": "split",
            "type": "split",
            "z": "tab1",
            "name": "",
            "splt": " ",
            "spltType": "str",
            "arraySplt": 1,
            "arraySpltType": "len",
            "stream": False,
            "addname": "",
            "x": 700,
            "y": 100,
            "wires": [["join"]],
        },
        {
            "id": "join",
            "type": "join",
            "z": "tab1",
            "name": "",
            "mode": "auto",
            "build": "object",
            "property": "payload",
            "propertyType": "msg",
            "key": "topic",
            "joiner": "\\n",
            "joinerType": "str",
            "accumulate": False,
            "timeout": "",
            "count": "",
            "reduceRight": False,
            "reduceExp": "",
            "reduceInit": "",
            "reduceInitType": "",
            "reduceFixup": "",
            "x": 900,
            "y": 100,
            "wires": [[first_after]],
        },
    ]


def _template(node_id: str, text: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "template",
        "z": "tab1",
        "name": "",
        "field": "payload",
        "fieldType": "msg",
        "format": "handlebars",
        "syntax": "mustache",
        "template": text,
        "output": "str",
        "x": 500,
        "y": 100,
        "wires": [["split"]],
    }


# -- Node-RED's side: the same middle between function-node source and sink ----------------

_NR_SOURCE = r"""
const b = global.get('bench');
const N = Number(b.env('NRB_N', '100000'));
const t0 = b.now();
flow.set('t0', t0);
flow.set('N', N);
const K = Number(b.env('NRB_BATCH', '0')) || N;
let i = 0;
function chunk() {
    const end = Math.min(N, i + K);
    for (; i < end; i++) {
        node.send({ payload: { i: i, status: i % 4 === 0 ? 'requires_action' : 'completed' }, topic: 'run' }, false);
    }
    if (i < N) b.setImmediate(chunk); else flow.set('t_emitted', b.now());
}
chunk();
return null;
"""

_NR_SINK = r"""
const b = global.get('bench');
let c = (context.get('c') || 0) + 1;
context.set('c', c);
const i = Number(String(msg.payload).split(' ')[1]);
const want = (i % 4 === 0 ? 'action ' : 'ok ') + i + ' alpha beta gamma delta';
if (msg.payload !== want || msg.parts !== undefined) { context.set('bad', (context.get('bad') || 0) + 1); }
const N = flow.get('N');
if (c === N) {
    const t1 = b.now();
    const t0 = flow.get('t0');
    b.done({ bench: 'sequence', n: N, received: c, bad: context.get('bad') || 0,
             elapsed_ms: t1 - t0, emit_ms: flow.get('t_emitted') - t0, msgs_per_s: N / ((t1 - t0) / 1000) });
}
return null;
"""


def nodered_flow() -> list[dict[str, Any]]:
    """flows.json for Node-RED 4 with ../shared/bench/nodered's settings.js (global.get('bench'))."""

    def function(node_id: str, name: str, code: str, wires: list[list[str]], outputs: int) -> dict[str, Any]:
        return {
            "id": node_id,
            "type": "function",
            "z": "tab1",
            "name": name,
            "func": code,
            "outputs": outputs,
            "timeout": 0,
            "noerr": 0,
            "initialize": "",
            "finalize": "",
            "libs": [],
            "x": 100,
            "y": 100,
            "wires": wires,
        }

    inject = {
        "id": "inj",
        "type": "inject",
        "z": "tab1",
        "name": "start",
        "props": [{"p": "payload"}, {"p": "topic", "vt": "str"}],
        "repeat": "",
        "crontab": "",
        "once": True,
        "onceDelay": 0.5,
        "topic": "start",
        "payload": "",
        "payloadType": "date",
        "x": 100,
        "y": 60,
        "wires": [["src"]],
    }
    return [
        {"id": "tab1", "type": "tab", "label": "sequence bench", "disabled": False, "info": ""},
        inject,
        function("src", "source", _NR_SOURCE, [["sw"]], 1),
        *middle("sink"),
        function("sink", "count", _NR_SINK, [], 0),
    ]


if __name__ == "__main__":
    import json
    from pathlib import Path

    target = Path(__file__).with_name("nodered_flow.json")
    target.write_text(json.dumps(nodered_flow(), indent=1) + "\n")
    print("wrote", target)
