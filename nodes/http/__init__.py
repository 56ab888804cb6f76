"""Node-RED's HTTP and websocket nodes on the runtime's one HTTP server (docs/http.md).

The modules are imported when a flow first uses one of their types (the registry reads `NODE_TYPES`).
"""

#: Type → the module (in this package) that registers it.
NODE_TYPES = {
    "http in": "http_in", "http response": "http_response",
    "websocket-listener": "websocket", "websocket-client": "websocket", "websocket in": "websocket", "websocket out": "websocket",
}
