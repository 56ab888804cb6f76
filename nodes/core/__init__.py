"""Node-RED's core node set: one module per node type or small family."""

from . import batch, change, debug, delay, events, exec, file, function, http_request, inject, join, link, parsers, range, rbe, sort, split, structure, switch, template, trigger

__all__ = ["batch", "change", "debug", "delay", "events", "exec", "file", "function", "http_request", "inject", "join", "link", "parsers", "range", "rbe", "sort", "split", "structure", "switch", "template", "trigger"]
