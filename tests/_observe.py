"""What a user watches of one node under test: its status, its errors and the messages it finished with.

    async with run_flow(observed(nodes, "d")) as flow:
        ...
        assert statuses(flow) == [("blue", "dot", "1"), ...]
        flow.sink("errors").messages, flow.sink("completed").messages
"""

from __future__ import annotations

from typing import Any

from runtime.testing import Flow


def observed(flow: Any, node_id: str) -> Any:
    """The flow (a node list or a document) plus status, catch and complete nodes scoped to `node_id`,
    feeding the sinks "statuses", "errors" and "completed"."""
    nodes = flow["nodes"] if isinstance(flow, dict) else flow
    nodes = [
        *nodes,
        {"id": "st", "type": "status", "scope": [node_id], "wires": [["statuses"]]},
        {"id": "c", "type": "catch", "scope": [node_id], "wires": [["errors"]]},
        {"id": "cp", "type": "complete", "scope": [node_id], "wires": [["completed"]]},
        {"id": "statuses", "type": "test-sink"},
        {"id": "errors", "type": "test-sink"},
        {"id": "completed", "type": "test-sink"},
    ]
    return {**flow, "nodes": nodes} if isinstance(flow, dict) else nodes


def statuses(flow: Flow) -> list[tuple[Any, Any, Any]]:
    """(fill, shape, text) of each status the observed node showed, in order."""
    return [(m["status"].get("fill"), m["status"].get("shape"), m["status"].get("text")) for m in flow.sink("statuses").messages]
