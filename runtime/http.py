"""The HTTP server as node families see it (`Node.http`): routes, websocket paths, metrics.

    route = self.http.add_route("get", "/users/:id", handler)   # in start()
    self.http.remove_route(route)                               # in close()

A handler gets the aiohttp request and the path's `:params` and returns an
aiohttp response; docs/http.md describes the server and its settings.
"""

from ._histogram import Histogram
from ._http import HttpServer, Route, RouteHandler
from ._http_settings import HttpConfig

__all__ = ["Histogram", "HttpConfig", "HttpServer", "Route", "RouteHandler"]
