"""Node-RED's core node set: one module per node type or small family.

The modules are imported when a flow first uses one of their types (the
registry reads `NODE_TYPES`), so a flow of three nodes does not hold the
code of thirty.
"""

#: Type → the module (in this package) that registers it.
NODE_TYPES = {
    "batch": "batch", "catch": "events", "change": "change", "comment": "structure", "complete": "events",
    "csv": "parsers", "debug": "debug", "delay": "delay", "exec": "exec", "file": "file", "file in": "file",
    "function": "function", "group": "structure", "http request": "http_request", "inject": "inject", "join": "join",
    "json": "parsers", "junction": "structure", "link call": "link", "link in": "link", "link out": "link",
    "range": "range", "rbe": "rbe", "sort": "sort", "split": "split", "status": "events", "switch": "switch",
    "tab": "structure", "template": "template", "trigger": "trigger", "xml": "parsers", "yaml": "parsers",
}
