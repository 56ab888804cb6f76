"""JSONata through jsonata-python, with Node-RED's extra functions.

Node-RED binds `$flowContext`, `$globalContext`, `$env` and `$moment`-less
helpers into every expression; we bind the first three, which is what flows
exported from Node-RED use in practice.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .properties import PathError, get_path, parse_path, split_store

if TYPE_CHECKING:
    from ._node import Node

class Expression:
    def __init__(self, text: str) -> None:
        # Imported on first use: loading jsonata-python is a noticeable share of cold start, and most flows have no expression.
        import jsonata

        try:
            self._expr = jsonata.Jsonata(text)
        except Exception as exc:  # jsonata raises its own JException
            raise PathError(f"invalid JSONata expression {text!r}: {exc}") from None
        self._lambda = jsonata.Jsonata.JLambda
        self.text = text

    def evaluate(self, msg: dict[str, Any], node: Node | None = None, bindings: dict[str, Any] | None = None) -> Any:
        env = self._expr.create_frame()
        lam = self._lambda
        # Python callables must be wrapped as JLambda, or jsonata-python refuses to invoke them.
        env.bind("env", lam((lambda name: node.env(name)) if node is not None else (lambda name: os.environ.get(name))))
        if node is not None:
            env.bind("flowContext", lam(lambda key: _context(node.flow_context, key)))
            env.bind("globalContext", lam(lambda key: _context(node.global_context, key)))
        for name, value in (bindings or {}).items():
            env.bind(name, value)
        try:
            return self._expr.evaluate(msg, env)
        except Exception as exc:
            raise PathError(f"JSONata expression {self.text!r} failed: {exc}") from None


def _context(ctx: Any, key: str) -> Any:
    store, name = split_store(key)
    keys = parse_path(name)
    value = ctx.get(str(keys[0]), store=store)
    return get_path(value, keys[1:]) if len(keys) > 1 else value


def compile(text: str) -> Expression:  # noqa: A001 - mirrors re.compile
    return Expression(text)
