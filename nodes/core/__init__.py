"""Node-RED's core node set: one module per node type or small family."""

from . import change, debug, events, function, inject, structure

__all__ = ["change", "debug", "events", "function", "inject", "structure"]
