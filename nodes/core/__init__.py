"""Node-RED's core node set: one module per node type or small family."""

from . import change, debug, delay, events, file, function, http_request, inject, link, parsers, range, rbe, sequence, structure, switch, template, trigger

__all__ = ["change", "debug", "delay", "events", "file", "function", "http_request", "inject", "link", "parsers", "range", "rbe", "sequence", "structure", "switch", "template", "trigger"]
