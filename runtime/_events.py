"""Who hears about errors, status changes and completions.

Scopes follow Node-RED: a `catch`/`status` node with no scope hears every
node on its own tab (config nodes, which live on no tab, count as on every
tab), a list scope hears the listed ids, `group` hears its group and the
groups nested in it (a `group` scope outside any group hears nothing).
Inside a subflow instance (a node whose `z` is an instance id) the instance's
own catch and status nodes hear first; an error none of them takes goes on to
the flow around the instance as if the instance had reported it (so a catch
scoped to the instance id hears it), and so on outwards. Status goes outwards
the same way unless the subflow has a status output. The `source` of what a
listener receives stays the node where it happened. A catch
marked `uncaught` hears only errors no other catch node took. `complete`
nodes hear the nodes they list. An error whose message already carries an
error from the same node nine times (`msg.error.source.count`) is dropped
with a log line: that is Node-RED's guard against a catch path that fails
forever. An error reported without a msg is only logged, as in Node-RED.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._errors import NodeError
from ._messages import clone
from ._routing import Router, Token
from .secrets import scrub

if TYPE_CHECKING:
    from ._node import Msg, Node

log = logging.getLogger("flowwire.errors")

_MAX_CATCHES = 10


def _in_group(group: str, node: Node, parents: Mapping[str, str]) -> bool:
    """Whether `node` is in `group` or in a group nested in it (at any depth)."""
    seen: set[str] = set()
    current = node.g
    while current and current not in seen:
        if current == group:
            return True
        seen.add(current)
        current = parents.get(current, "")
    return False


def _covers(listener: Node, node: Node, inside: bool, parents: Mapping[str, str]) -> bool:
    """Whether `listener` hears `node` (the reporting node at this level); `inside` is a subflow instance's level."""
    if inside and listener.z != node.z:
        return False
    scope = getattr(listener.props, "scope", None)
    if scope is None or scope == []:
        return listener.z == node.z or not node.z or not listener.z
    if scope == "group":
        return bool(listener.g) and _in_group(listener.g, node, parents)
    return node.id in scope


class Events:
    def __init__(self, nodes: dict[str, Node], router: Router) -> None:
        self._router = router
        self._catch = [n for n in nodes.values() if getattr(n, "listens", None) == "error"]
        self._status = [n for n in nodes.values() if getattr(n, "listens", None) == "status"]
        self._complete: dict[str, list[Node]] = {}
        #: Each group's enclosing group, for `group` scopes over nested groups.
        self._parents = {n.id: n.g for n in nodes.values() if n.type == "group" and n.g}
        #: Subflow instance id → its instance node: the `z` of the nodes copied for it.
        self._instances = {n.id: n for n in nodes.values() if getattr(n, "subflow_instance", False)}
        for n in nodes.values():
            if getattr(n, "listens", None) == "complete":
                for watched in getattr(n.props, "scope", None) or []:
                    self._complete.setdefault(watched, []).append(n)
        for watched in self._complete:
            if watched in nodes:
                nodes[watched]._delivery.watched = True

    def error(self, node: Node, err: Exception | str, msg: Msg | None, token: Token) -> None:
        """Hand a node's error to the catch nodes in scope, each with its own copy of `msg`."""
        if isinstance(err, NodeError):
            text, stack, details = str(err), None, err.details
            if msg is None:
                msg = err.msg
        elif isinstance(err, Exception):
            text = f"{type(err).__name__}: {err}"
            stack = scrub("".join(traceback.format_exception(err)))
            details = {}
        else:
            text, stack, details = str(err), None, {}
        text = scrub(text)
        msgid = msg.get("_msgid") if isinstance(msg, dict) else None
        if not isinstance(msg, dict):
            # Node-RED: an error reported without a msg is only logged; catch nodes need a msg.
            log.error("[%s:%s] %s", node.type, node.id, text, extra={"node_id": node.id, "msgid": None})
            return
        count = 1
        previous = msg.get("error")
        source = previous.get("source") if isinstance(previous, dict) else None
        if isinstance(source, dict) and source.get("id") == node.id:
            count = int(source.get("count", 0)) + 1
            if count >= _MAX_CATCHES:
                log.error(
                    "[%s:%s] message exceeded the maximum number of catches (%d), dropped to stop an error loop: %s (msgid=%s)",
                    node.type,
                    node.id,
                    _MAX_CATCHES,
                    text,
                    msgid,
                    extra={"node_id": node.id, "msgid": msgid},
                )
                return
        targets: list[Node] = []
        for reporter, inside in self._levels(node):
            targets = [c for c in self._catch if not getattr(c.props, "uncaught", False) and _covers(c, reporter, inside, self._parents)]
            if not targets:
                targets = [c for c in self._catch if getattr(c.props, "uncaught", False) and _covers(c, reporter, inside, self._parents)]
            if targets:
                break
        if not targets:
            log.error("[%s:%s] %s (msgid=%s)", node.type, node.id, text, msgid, extra={"node_id": node.id, "msgid": msgid})
            if stack:
                log.debug("[%s:%s] %s", node.type, node.id, stack)
            return
        log.debug("[%s:%s] caught: %s (msgid=%s)", node.type, node.id, text, msgid)
        error = {"message": text, "source": {"id": node.id, "type": node.type, "name": node.name, "count": count}, **details}
        if stack:
            error["stack"] = stack
        for n, catcher in enumerate(targets):
            try:
                copy = clone(msg)
            except Exception as exc:
                if n:
                    log.error("[%s:%s] message could not be copied for catch node %s (%s); it reached the first catch node only",
                              node.type, node.id, catcher.id, type(exc).__name__)
                    continue
                # The msg cannot be copied (the very failure being reported, often): the first catch node gets it as it is.
                copy = msg
            if "error" in copy:
                copy["_error"] = copy["error"]
            copy["error"] = dict(error)
            self._router.enqueue(catcher._delivery, copy, token)

    def _levels(self, node: Node) -> Any:
        """(reporting node, inside an instance) from the node's own flow outwards through the instances holding it."""
        reporter = node
        while True:
            instance = self._instances.get(reporter.z)
            yield reporter, instance is not None
            if instance is None:
                return
            reporter = instance

    def status(self, node: Node, status: dict[str, Any]) -> None:
        targets: list[Node] = []
        for reporter, inside in self._levels(node):
            targets = [s for s in self._status if _covers(s, reporter, inside, self._parents)]
            if targets or (inside and self._instances[reporter.z].has_status_port):
                break
        if not targets:
            return
        token = self._router.token()
        for listener in targets:
            self._router.enqueue(listener._delivery, {"status": {**status, "source": {"id": node.id, "type": node.type, "name": node.name}}}, token)
        token.release()

    def completed(self, node: Node, msg: Msg, token: Token) -> None:
        for listener in self._complete.get(node.id, ()):
            try:
                copy = clone(msg)
            except Exception as exc:
                log.error("[%s:%s] message could not be copied for complete node %s: %s", node.type, node.id, listener.id, type(exc).__name__)
                continue
            self._router.enqueue(listener._delivery, copy, token)
