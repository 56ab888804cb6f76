"""flowwire's runtime: the small public API node authors and embedders use.

    from runtime import Node, NodeProps, register

The node contract (what a node implements and may call) is `Node`'s public
methods and the names below; docs/custom-nodes.md lists every one, and a test
fails when this list and that page disagree. Everything else lives in
underscored modules and may change. Public modules besides this one:
`runtime.lenient` (reading Node-RED's property values), `runtime.properties`
(message paths and typed values), `runtime.secrets` and `runtime.testing`.
"""

from ._engine import Runtime
from ._errors import FlowError, FlowwireError, NodeError, Problem
from ._interrupt import interruptible, interruptible_await
from ._jsonata import Expression
from ._jsonata import compile as compile_jsonata
from ._messages import Msg, Output, clone, new_msgid
from ._node import ConfigNode, ConfigRef, Held, Node, NodeProps, NodeRef
from ._registry import register
from ._validation import Graph, check_files

__all__ = [
    "ConfigNode",
    "ConfigRef",
    "Expression",
    "FlowError",
    "FlowwireError",
    "Graph",
    "Held",
    "Msg",
    "Node",
    "NodeError",
    "NodeProps",
    "NodeRef",
    "Output",
    "Problem",
    "Runtime",
    "check_files",
    "clone",
    "compile_jsonata",
    "interruptible",
    "interruptible_await",
    "new_msgid",
    "register",
]
