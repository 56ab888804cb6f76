"""Subflows, env scopes, global-config and disabled nodes, as Node-RED runs them.

The first cases port node-red/node-red test/nodes/subflow/subflow_spec.js
(data in and out, nesting, template and instance env, a parent's env); the
function bodies there become change nodes here, so the tests do not depend on
the function node's language. The rest pin Node-RED's Subflow.js and Flow.js
behaviour: per-instance copies and context, catch/status/complete scoping,
NR_* built-ins, typed env entries, subflow modules, and located problems.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from runtime import FlowError, Msg, Node, NodeProps, register
from runtime.testing import build, run_flow

TAB = {"id": "t0", "type": "tab", "label": "Main"}


def _set(node_id: str, z: str, rules: list[dict[str, Any]], wires: list[list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "change", "z": z, "rules": rules, "wires": wires or [], **extra}


def _rule(path: str, to: Any, tot: str = "str") -> dict[str, Any]:
    return {"t": "set", "p": path, "pt": "msg", "to": to, "tot": tot}


def _subflow(sid: str, first: str, last: str | None = None, env: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "type": "subflow", "name": f"Sub {sid}", "in": [{"wires": [{"id": first}]}], "out": [{"wires": [{"id": last or first, "port": 0}]}], "env": env or [], **extra}


def _env(name: str, value: Any, kind: str = "str") -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


SINK = {"id": "sink", "type": "test-sink", "z": "t0"}


# -- ported from subflow_spec.js ------------------------------------------------------------------


async def test_passes_data_to_and_from_a_subflow() -> None:
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1"), _set("s1-n1", "s1", [_rule("payload", "payload & 'bar'", "jsonata")])]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": "foo"})
        [msg] = await f.received("sink")
    assert msg["payload"] == "foobar"


async def test_passes_data_through_a_nested_subflow() -> None:
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1", "s1-n2"),
            {"id": "s1-n1", "type": "subflow:s2", "z": "s1", "wires": [["s1-n2"]]},
            _set("s1-n2", "s1", [_rule("payload", "payload & 'baz'", "jsonata")]),
            _subflow("s2", "s2-n1"), _set("s2-n1", "s2", [_rule("payload", "payload & 'bar'", "jsonata")])]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": "foo"})
        [msg] = await f.received("sink")
        # Node-RED's ids: <instance>-<node>, nested instances again inside their parent's copy.
        assert {"n1", "n1-s1-n1", "n1-s1-n2", "n1-s1-n1-s2-n1"} <= set(f.runtime.nodes)
    assert msg["payload"] == "foobarbaz"


READ_K = [_rule("V", "K", "env")]


@pytest.mark.parametrize(
    ("template_env", "instance_env", "expected"),
    [([_env("K", "V")], [], "V"), ([], [_env("K", "V")], "V"), ([_env("K", "TV")], [_env("K", "V")], "V")],
    ids=["template", "instance", "instance-overrides-template"],
)
async def test_env_of_the_subflow_template_and_instance(template_env: list[dict[str, Any]], instance_env: list[dict[str, Any]], expected: str) -> None:
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "env": instance_env, "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1", env=template_env), _set("s1-n1", "s1", READ_K)]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": "foo"})
        [msg] = await f.received("sink")
    assert msg["V"] == expected


@pytest.mark.parametrize("on", ["template", "instance"])
async def test_env_of_the_parent_subflow(on: str) -> None:
    k = [_env("K", "V")]
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "env": k if on == "instance" else [], "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1", "s1-n2", env=k if on == "template" else []),
            {"id": "s1-n1", "type": "subflow:s2", "z": "s1", "wires": [["s1-n2"]]},
            _set("s1-n2", "s1", []),
            _subflow("s2", "s2-n1"), _set("s2-n1", "s2", READ_K)]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": "foo"})
        [msg] = await f.received("sink")
    assert msg["V"] == "V"


# -- env: typed entries, built-ins, scopes ------------------------------------------------------------


async def test_typed_env_entries_and_builtins_resolve_node_group_instance_tab_global_process() -> None:
    flow = [
        {"id": "t0", "type": "tab", "label": "Main", "env": [_env("TABV", "from tab"), _env("SHADOW", "tab")]},
        {"id": "gc", "type": "global-config", "env": [_env("GLOBALV", "7", "num"), _env("SHADOW", "global")]},
        {"id": "g1", "type": "group", "z": "t0", "name": "Grp", "env": [_env("GROUPV", "true", "bool")]},
        {"id": "n1", "type": "subflow:s1", "z": "t0", "g": "g1", "name": "inst", "wires": [["sink"]],
         "env": [_env("J", '{"a":[1,2]}', "json"), _env("E", "TABV", "env"), _env("SELF", "SHADOW", "env"), _env("SHADOW", "instance")]},
        SINK,
        _subflow("s1", "s1-n1"),
        _set("s1-n1", "s1", [
            _rule("r", '{"j": $env("J"), "e": $env("E"), "tab": $env("TABV"), "group": $env("GROUPV"), "global": $env("GLOBALV"), "proc": $env("FROM_PROCESS"), '
                       '"self": $env("SELF"), "shadow": $env("SHADOW"), "parent": $env("$parent.SHADOW"), "gid": $env("NR_GROUP_ID"), "gname": $env("NR_GROUP_NAME"), '
                       '"sub": $env("NR_SUBFLOW_NAME"), "subid": $env("NR_SUBFLOW_ID"), "flow": $env("NR_FLOW_NAME"), "flowid": $env("NR_FLOW_ID"), '
                       '"node": $env("NR_NODE_ID"), "path": $env("NR_NODE_PATH")}', "jsonata"),
            _rule("text", "${TABV} and ${GLOBALV}", "env"),
        ], name="reader"),
    ]
    async with run_flow(flow, env={"FROM_PROCESS": "proc"}) as f:
        await f.inject("n1", {"payload": 1})
        [msg] = await f.received("sink")
    assert msg["r"] == {
        "j": {"a": [1, 2]}, "e": "from tab", "tab": "from tab", "group": True, "global": 7, "proc": "proc",
        "self": "instance", "shadow": "instance", "parent": "tab", "gid": "g1", "gname": "Grp",
        "sub": "inst", "subid": "n1", "flow": "Main", "flowid": "t0", "node": "n1-s1-n1", "path": "t0/n1/s1-n1",
    }
    assert msg["text"] == "from tab and 7"


async def test_instance_env_fills_whole_value_properties_with_its_type() -> None:
    """`${VAR}` alone as a property takes the value with its type, as Node-RED's mapEnvVarProperties does."""
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "env": [_env("N", "3", "num")], "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "range", "z": "s1", "minin": "0", "maxin": "${N}", "minout": "0", "maxout": "30", "action": "scale", "wires": []}]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": 1})
        [msg] = await f.received("sink")
    assert msg["payload"] == 10


async def test_cred_env_entries_read_the_instance_credentials() -> None:
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "env": [_env("SECRET", "", "cred")], "credentials": {"SECRET": "s3cret"}, "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1", env=[_env("SECRET", "", "cred")]), _set("s1-n1", "s1", [_rule("s", "SECRET", "env")])]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": 1})
        [msg] = await f.received("sink")
    assert msg["s"] == "s3cret"


class _EnvProps(NodeProps):
    name_to_read: str = "K"


@register("test-env-reader")
class _EnvReader(Node):
    """Reads one env name through the public `Node.env` (tests only)."""

    Props = _EnvProps

    def on_input(self, msg: Msg) -> Msg:
        msg["value"] = self.env(self.props.name_to_read)
        return msg


async def test_node_env_is_the_public_way_to_resolve() -> None:
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "env": [_env("K", "5", "num")], "wires": [["sink"]]}, SINK,
            _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "test-env-reader", "z": "s1", "wires": []},
            {"id": "top", "type": "test-env-reader", "z": "t0", "name_to_read": "MISSING_EVERYWHERE", "wires": [["sink"]]}]
    async with run_flow(flow, env={}) as f:
        await f.inject("n1", {"payload": 1})
        await f.inject("top", {"payload": 2})
        msgs = await f.received("sink", 2)
    assert sorted((m["payload"], m["value"]) for m in msgs) == [(1, 5), (2, None)]


# -- each instance its own copy ----------------------------------------------------------------------


async def test_each_instance_has_its_own_nodes_and_flow_context() -> None:
    count = '($flowContext("n") ? $flowContext("n") : 0) + 1'
    flow = [TAB, SINK,
            {"id": "a", "type": "subflow:s1", "z": "t0", "wires": [["sink"]]},
            {"id": "b", "type": "subflow:s1", "z": "t0", "wires": [["sink"]]},
            _subflow("s1", "s1-n1", "s1-n2"),
            {"id": "s1-n1", "type": "change", "z": "s1", "rules": [{"t": "set", "p": "n", "pt": "flow", "to": count, "tot": "jsonata"}], "wires": [["s1-n2"]]},
            _set("s1-n2", "s1", [_rule("n", "n", "flow")])]
    async with run_flow(flow) as f:
        for target in ("a", "a", "b"):
            await f.inject(target, {"payload": target})
            await f.idle()
        msgs = await f.received("sink", 3)
    assert [(m["payload"], m["n"]) for m in msgs] == [("a", 1), ("a", 2), ("b", 1)]


async def test_input_wired_straight_to_an_output_and_several_outputs() -> None:
    flow = [TAB, {"id": "sink2", "type": "test-sink", "z": "t0"},
            {"id": "n1", "type": "subflow:s1", "z": "t0", "wires": [["sink"], ["sink2"]]}, SINK,
            {"id": "s1", "type": "subflow", "in": [{"wires": [{"id": "s1-n1"}]}], "out": [{"wires": [{"id": "s1", "port": 0}]}, {"wires": [{"id": "s1-n1", "port": 0}]}]},
            _set("s1-n1", "s1", [_rule("payload", "changed")])]
    async with run_flow(flow) as f:
        await f.inject("n1", {"payload": "orig"})
        [straight] = await f.received("sink")
        [changed] = await f.received("sink2")
    assert (straight["payload"], changed["payload"]) == ("orig", "changed")


# -- catch, status, complete ----------------------------------------------------------------------------

FAIL = _rule("payload", '$error("boom")', "jsonata")


def _error_flow(inner_catch: dict[str, Any] | None, outer_scope: list[str] | None) -> list[dict[str, Any]]:
    """A subflow whose `bad` node fails; its output is the inner catch's path (when there is one)."""
    definition = {"id": "s1", "type": "subflow", "in": [{"wires": [{"id": "s1-bad"}]}], "out": [{"wires": [{"id": "s1-tag", "port": 0}]}]}
    flow = [TAB, {"id": "inner", "type": "test-sink", "z": "t0"}, {"id": "outer", "type": "test-sink", "z": "t0"},
            {"id": "n1", "type": "subflow:s1", "z": "t0", "wires": [["inner"]]},
            {"id": "c-out", "type": "catch", "z": "t0", "scope": outer_scope, "wires": [["outer"]]},
            definition, _set("s1-bad", "s1", [FAIL], name="bad"), _set("s1-tag", "s1", [_rule("where", "inside")])]
    if inner_catch is not None:
        flow.append({"id": "s1-c", "type": "catch", "z": "s1", **inner_catch, "wires": [["s1-tag"]]})
    return flow


async def test_a_catch_inside_the_subflow_takes_the_error_first() -> None:
    async with run_flow(_error_flow({"scope": None}, None)) as f:
        await f.inject("n1", {"payload": 1})
        [msg] = await f.received("inner")
        await f.idle()
        assert f.sink("outer").messages == []
    assert msg["where"] == "inside"
    assert msg["error"]["source"] == {"id": "n1-s1-bad", "type": "change", "name": "bad", "count": 1}


@pytest.mark.parametrize("outer_scope", [None, ["n1"]], ids=["unscoped", "scoped-to-instance"])
async def test_an_uncaught_error_leaves_the_instance_as_if_the_instance_reported_it(outer_scope: list[str] | None) -> None:
    # The inner catch is scoped to another node, so it does not take this error.
    async with run_flow(_error_flow({"scope": ["s1-tag"]}, outer_scope)) as f:
        await f.inject("n1", {"payload": 1})
        [msg] = await f.received("outer")
    assert msg["error"]["source"]["id"] == "n1-s1-bad"


async def test_a_catch_scoped_to_the_inner_node_id_outside_does_not_hear_it() -> None:
    async with run_flow(_error_flow(None, ["s1-bad"])) as f:
        await f.inject("n1", {"payload": 1})
        await f.idle()
        assert f.sink("outer").messages == []


async def test_an_inner_catch_does_not_hear_nodes_outside_its_instance(caplog: pytest.LogCaptureFixture) -> None:
    flow = _error_flow({"scope": None}, None)
    flow += [{"id": "top-bad", "type": "change", "z": "t0", "rules": [FAIL], "wires": []}, {"id": "n2", "type": "subflow:s1", "z": "t0", "wires": []}]
    async with run_flow(flow) as f:
        await f.inject("top-bad", {"payload": 1})
        [msg] = await f.received("outer")
        await f.idle()
        assert f.sink("inner").messages == []
    assert msg["error"]["source"]["id"] == "top-bad"


def _status_flow(with_port: bool) -> list[dict[str, Any]]:
    """s1 holds an instance of s2 (whose status output reports "now <payload>") and a node that could feed s1's own status output."""
    definition: dict[str, Any] = {"id": "s1", "type": "subflow", "in": [{"wires": [{"id": "s1-n1"}, {"id": "s1-st"}]}], "out": []}
    if with_port:
        definition["status"] = {"wires": [{"id": "s1-st", "port": 0}]}
    return [TAB, SINK, {"id": "n1", "type": "subflow:s1", "z": "t0", "name": "inst", "wires": []},
            {"id": "st", "type": "status", "z": "t0", "scope": ["n1"], "wires": [["sink"]]},
            definition,
            {"id": "s1-n1", "type": "subflow:s2", "z": "s1", "name": "deep", "wires": []},
            _set("s1-st", "s1", [_rule("payload", '{"fill": "green", "text": "outer " & $string(payload)}', "jsonata")], [[]]),
            {"id": "s2", "type": "subflow", "in": [{"wires": [{"id": "s2-n1"}]}], "out": [], "status": {"wires": [{"id": "s2-n1", "port": 0}]}},
            _set("s2-n1", "s2", [_rule("payload", '"now " & $string(payload)', "jsonata")])]


async def test_a_status_output_sets_the_instance_status_and_keeps_inner_status_inside() -> None:
    async with run_flow(_status_flow(with_port=True)) as f:
        await f.inject("n1", {"payload": 3})
        [msg] = await f.received("sink")
    assert msg["status"] == {"fill": "green", "text": "outer 3", "source": {"id": "n1", "type": "subflow:s1", "name": "inst"}}


async def test_without_a_status_output_inner_status_goes_to_the_parent_scoped_by_instance() -> None:
    async with run_flow(_status_flow(with_port=False)) as f:
        await f.inject("n1", {"payload": 3})
        [msg] = await f.received("sink")
    assert msg["status"] == {"text": "now 3", "source": {"id": "n1-s1-n1", "type": "subflow:s2", "name": "deep"}}


async def test_complete_inside_a_subflow_hears_its_own_copy() -> None:
    flow = [TAB, SINK, {"id": "a", "type": "subflow:s1", "z": "t0", "wires": [["sink"]]}, {"id": "b", "type": "subflow:s1", "z": "t0", "wires": [[]]},
            {"id": "s1", "type": "subflow", "in": [{"wires": [{"id": "s1-n1"}]}], "out": [{"wires": [{"id": "s1-done", "port": 0}]}]},
            _set("s1-n1", "s1", [_rule("x", "1")]),
            {"id": "s1-c", "type": "complete", "z": "s1", "scope": ["s1-n1"], "wires": [["s1-done"]]},
            _set("s1-done", "s1", [_rule("done", "yes")])]
    async with run_flow(flow) as f:
        await f.inject("a", {"payload": "a"})
        await f.inject("b", {"payload": "b"})
        [msg] = await f.received("sink")
    assert (msg["payload"], msg["done"]) == ("a", "yes")


# -- disabled nodes, groups, tabs, instances -------------------------------------------------------------


async def test_disabled_nodes_groups_tabs_and_instances_are_not_started() -> None:
    flow = [TAB, SINK,
            {"id": "t-off", "type": "tab", "disabled": True}, {"id": "on-off-tab", "type": "change", "z": "t-off", "rules": "not even valid", "wires": []},
            {"id": "g-off", "type": "group", "z": "t0", "disabled": True}, {"id": "g-in", "type": "group", "z": "t0", "g": "g-off"},
            {"id": "in-group", "type": "nosuchtype", "z": "t0", "g": "g-in"},
            {"id": "off", "type": "change", "z": "t0", "d": True, "rules": [], "wires": [["sink"]]},
            {"id": "src", "type": "change", "z": "t0", "rules": [_rule("x", "1")], "wires": [["off", "inst-off", "sink"]]},
            {"id": "inst-off", "type": "subflow:s1", "z": "t0", "d": True, "wires": [["sink"]]},
            _subflow("s1", "s1-n1"), _set("s1-n1", "s1", [_rule("via", "subflow")]),
            {"id": "inst-on", "type": "subflow:s1", "z": "t0", "wires": [["sink"]]},
            {"id": "s1-off", "type": "change", "z": "s1", "d": True, "rules": [], "wires": []}]
    async with run_flow(flow) as f:
        assert not {"on-off-tab", "in-group", "off", "inst-off", "inst-off-s1-n1", "inst-on-s1-off"} & set(f.runtime.nodes)
        await f.inject("src", {"payload": 1})
        [msg] = await f.received("sink")
    assert "via" not in msg


# -- global-config ------------------------------------------------------------------------------------------


def test_global_config_modules_explain_unknown_types() -> None:
    flow = [TAB, {"id": "gc", "type": "global-config", "env": [], "modules": {"node-red-contrib-weather": "1.2.0", "node-red-dashboard": "3.6.0"}},
            {"id": "w1", "type": "weather-now", "z": "t0"}, {"id": "w2", "type": "weather-now", "z": "t0"},
            {"id": "u1", "type": "ui_button", "z": "t0"}, {"id": "x1", "type": "zzz-unknowable", "z": "t0"}]
    with pytest.raises(FlowError) as info:
        build(flow)
    texts = [(p.node_id, p.field, p.message) for p in info.value.problems]
    assert ("gc", "modules", "needs the Node-RED package node-red-contrib-weather@1.2.0, which flowwire does not provide: 2 node(s) of type 'weather-now'") in texts
    assert ("gc", "modules", "needs the Node-RED package node-red-dashboard@3.6.0, which flowwire does not provide: 1 node(s) of type 'ui_button'") in texts
    assert next(t for t in texts if t[0] == "x1")[2].startswith("unknown node type 'zzz-unknowable'")
    assert len(texts) == 3


def test_a_lone_global_config_is_accepted() -> None:
    runtime = build([TAB, {"id": "gc", "type": "global-config", "env": [_env("A", "1", "num")], "modules": {}}])
    assert runtime.graph.env.get("missing-node", "A") == 1


# -- subflow modules (Node-RED 3+) -----------------------------------------------------------------------------


async def test_a_subflow_module_loads_like_any_subflow() -> None:
    module = {"id": "mod1", "type": "subflow", "name": "Greeter", "meta": {"module": "node-red-greeter", "type": "greeter", "version": "1.0.0"},
              "in": [{"wires": [{"id": "m-n1"}]}], "out": [{"wires": [{"id": "m-n1", "port": 0}]}], "env": [_env("WHO", "world"), _env("TIMES", "1", "num")],
              "flow": [_set("m-n1", "mod1", [_rule("payload", '"hello " & $env("WHO") & " x" & $string($env("TIMES"))', "jsonata")])]}
    flow = [TAB, SINK, module, {"id": "g1", "type": "greeter", "z": "t0", "WHO": "flowwire", "TIMES": 2, "wires": [["sink"]]}]
    assert build(flow).graph.warnings == []
    async with run_flow(flow) as f:
        await f.inject("g1", {"payload": 1})
        [msg] = await f.received("sink")
    assert msg["payload"] == "hello flowwire x2"


# -- problems name the instance path --------------------------------------------------------------------------


def test_a_problem_in_a_subflow_names_the_instance_path_once_for_all_instances() -> None:
    flow = [TAB, {"id": "a", "type": "subflow:s1", "z": "t0"}, {"id": "b", "type": "subflow:s1", "z": "t0"},
            _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "switch", "z": "s1", "property": "", "propertyType": "nonsense", "rules": [], "wires": []}]
    with pytest.raises(FlowError) as info:
        build(flow)
    ids = {p.node_id for p in info.value.problems}
    assert ids == {"a/s1-n1 (and 1 more instance(s))"}


def test_an_env_dependent_problem_names_the_instance_that_has_it() -> None:
    flow = [TAB, {"id": "a", "type": "subflow:s1", "z": "t0", "env": [_env("MAX", "x")]}, {"id": "b", "type": "subflow:s1", "z": "t0", "env": [_env("MAX", "9", "num")]},
            _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "delay", "z": "s1", "pauseType": "delay", "timeout": "${MAX}", "timeoutUnits": "seconds", "wires": []}]
    with pytest.raises(FlowError) as info:
        build(flow)
    assert {p.node_id for p in info.value.problems} == {"a/s1-n1"}


@pytest.mark.parametrize(
    ("flow", "needle"),
    [
        ([TAB, {"id": "a", "type": "subflow:nope", "z": "t0"}], "no subflow definition 'nope'"),
        ([TAB, {"id": "a", "type": "subflow:s1", "z": "t0"}, _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "subflow:s1", "z": "s1"}], "contains an instance of itself"),
        ([TAB, _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "no-such-type", "z": "s1"}], "unknown node type 'no-such-type'"),
        ([TAB, {"id": "a", "type": "subflow:s1", "z": "t0"}, {"id": "s1", "type": "subflow", "in": "bad", "out": [{"wires": [{"id": 3}]}]}], "must be a list of ports"),
        ([TAB, {"id": "a", "type": "subflow:s1", "z": "t0"}, {"id": "s1", "type": "subflow", "out": [{"wires": [{"id": 3}]}]}], "a port wire must be"),
        ([TAB, {"id": "a", "type": "subflow:s1", "z": "t0"}, {"id": "s1", "type": "subflow", "env": [{"value": 1}]}], "each env entry needs a 'name'"),
        ([TAB, {"id": "a", "type": "subflow:s1", "z": "t0"}, {"id": "s1", "type": "subflow", "env": [_env("J", "{bad", "json")]}], "env 'J': cannot evaluate"),
        ([TAB, _subflow("s1", "s1-n1"), {"id": "s1-n1", "type": "change", "z": "s1", "rules": [], "wires": [["outside"]]}, {"id": "outside", "type": "change", "z": "t0", "rules": []}],
         "which is outside it"),
    ],
    ids=["missing-definition", "recursive", "unknown-type-in-unused-subflow", "ports-not-a-list", "bad-port-wire", "env-without-name", "bad-json-env", "wire-out-of-subflow"],
)
def test_broken_subflows_are_located_problems(flow: list[dict[str, Any]], needle: str) -> None:
    with pytest.raises(FlowError) as info:
        build(flow)
    assert any(needle in p.message for p in info.value.problems), [str(p) for p in info.value.problems]


async def test_uncaught_errors_inside_an_instance_are_logged_with_the_copy_id(caplog: pytest.LogCaptureFixture) -> None:
    flow = [TAB, {"id": "n1", "type": "subflow:s1", "z": "t0", "wires": []}, _subflow("s1", "s1-bad"), _set("s1-bad", "s1", [FAIL])]
    with caplog.at_level(logging.ERROR, logger="flowwire.errors"):
        async with run_flow(flow) as f:
            await f.inject("n1", {"payload": 1})
            await f.idle()
    assert any("change:n1-s1-bad" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("settings", [{"drainTimeout": "soon"}, {"nodeCloseTimeout": -1}, {"messageTreeLimit": 2.5}, {"messageTreeLimit": True}])
def test_settings_the_runtime_reads_as_numbers_are_checked(settings: dict[str, Any]) -> None:
    """A bad one used to pass `validate` and fail `run` with a traceback."""
    with pytest.raises(FlowError) as info:
        build({"nodes": [TAB], "settings": settings})
    assert [p.field for p in info.value.problems] == [f"settings.{next(iter(settings))}"]


async def test_env_typed_values_take_a_default_and_text() -> None:
    flow = [TAB, SINK, {"id": "c", "type": "change", "z": "t0", "wires": [["sink"]], "rules": [
        _rule("a", "${UNSET_HERE:-fallback}", "env"), _rule("b", "UNSET_HERE", "env"), _rule("c", "x ${SET_HERE} y ${UNSET_HERE}", "env")]}]
    async with run_flow(flow, env={"SET_HERE": "v"}) as f:
        await f.inject("c", {"payload": 1})
        [msg] = await f.received("sink")
    assert (msg["a"], msg["b"], msg["c"]) == ("fallback", "", "x v y ")


def test_a_subflow_module_file_is_one_definition_object(tmp_path: Any) -> None:
    """Node-RED 3+ exports a subflow module as one object (not a list); it loads beside the flows that use it."""
    import json

    from runtime import check_files

    module = {"id": "mod1", "type": "subflow", "name": "Greeter", "meta": {"module": "node-red-greeter", "type": "greeter"},
              "in": [{"wires": [{"id": "m-n1"}]}], "out": [], "env": [_env("WHO", "world")], "flow": [_set("m-n1", "mod1", [_rule("who", "WHO", "env")])]}
    (tmp_path / "greeter.json").write_text(json.dumps(module))
    (tmp_path / "flows.json").write_text(json.dumps([TAB, {"id": "g1", "type": "greeter", "z": "t0", "WHO": "there", "wires": []}]))
    graph = check_files([tmp_path / "greeter.json", tmp_path / "flows.json"])
    assert {"g1", "g1-m-n1"} <= set(graph.nodes)
    assert graph.env.get("g1-m-n1", "WHO") == "there"


async def test_a_template_inside_a_subflow_reads_the_instances_env() -> None:
    nodes = [
        {"id": "sf", "type": "subflow", "name": "greeter", "in": [{"wires": [{"id": "t"}]}], "out": [{"wires": [{"id": "t", "port": 0}]}],
         "env": [{"name": "WHO", "type": "str", "value": "default"}]},
        {"id": "t", "type": "template", "z": "sf", "template": "hello {{env.WHO}}", "wires": [[]]},
        {"id": "i1", "type": "subflow:sf", "env": [{"name": "WHO", "type": "str", "value": "instance one"}], "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("i1", {"payload": ""})
        [msg] = await flow.received("out")
    assert msg["payload"] == "hello instance one"


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_a_function_inside_a_subflow_reads_the_instances_env(language: str) -> None:
    body = {"python": "msg.payload = env.get('WHO')\nreturn msg", "javascript": "msg.payload = env.get('WHO'); return msg;"}[language]
    nodes = [
        {"id": "sf", "type": "subflow", "name": "who", "in": [{"wires": [{"id": "f"}]}], "out": [{"wires": [{"id": "f", "port": 0}]}],
         "env": [{"name": "WHO", "type": "str", "value": "default"}]},
        {"id": "f", "type": "function", "z": "sf", "language": language, "func": body, "wires": [[]]},
        {"id": "i1", "type": "subflow:sf", "env": [{"name": "WHO", "type": "str", "value": "instance one"}], "wires": [["out"]]},
        {"id": "out", "type": "test-sink"},
    ]
    async with run_flow(nodes) as flow:
        await flow.inject("i1", {"payload": ""})
        [msg] = await flow.received("out")
    assert msg["payload"] == "instance one"
