"""Requests waiting for an `http response` node, by the id their msg carries in `msg.res._res`.

Fan-out deep-copies messages, so the msg cannot hold the live response (Node-RED's
cloneMessage special-cases `req`/`res`; flowwire's `clone` does not know HTTP).
`msg.res` is a plain `{"_res": id}` instead: every copy names the same pending
request, the first `http response` to answer it wins, and the msg stays JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

_prefix = os.urandom(6).hex()
_counter = itertools.count(1)
_waiting: dict[str, asyncio.Future[web.StreamResponse]] = {}


def open_request() -> tuple[str, asyncio.Future[web.StreamResponse]]:
    """A new id and the future its response will be set on."""
    rid = f"{_prefix}-{next(_counter):x}"
    future: asyncio.Future[web.StreamResponse] = asyncio.get_running_loop().create_future()
    _waiting[rid] = future
    return rid, future


def close_request(rid: str) -> None:
    _waiting.pop(rid, None)


def answer(rid: str, response: web.StreamResponse) -> bool:
    """Set the response of a waiting request; False when it was already answered or timed out."""
    future = _waiting.pop(rid, None)
    if future is None or future.done():
        return False
    future.set_result(response)
    return True


def waiting() -> int:
    return len(_waiting)
