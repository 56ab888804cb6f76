"""flowwire's runtime: the small public API node authors and embedders use.

    from runtime import Node, NodeProps, register

Everything else lives in underscored modules and may change; `runtime.properties`
(message paths and typed values), `runtime.secrets` and `runtime.testing` are
public too.
"""

from ._engine import Runtime
from ._errors import FlowError, FlowwireError, NodeError, Problem
from ._interrupt import interruptible
from ._node import ConfigNode, ConfigRef, Held, Msg, Node, NodeProps, NodeRef, Output, new_msgid
from ._registry import register
from ._validation import Graph, check_files

__all__ = [
    "ConfigNode",
    "ConfigRef",
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
    "interruptible",
    "new_msgid",
    "register",
]
