"""Node-RED's HTTP and websocket nodes on the runtime's one HTTP server (docs/http.md)."""

from . import http_in, http_response, websocket

__all__ = ["http_in", "http_response", "websocket"]
