"""An async node: looks each payload up over HTTP, several requests at once."""

from __future__ import annotations

import aiohttp
from pydantic import Field

from runtime import Msg, Node, NodeError, NodeProps, lenient, register


class HttpLookupProps(NodeProps):
    url: str = Field(description="base URL; the payload is appended as the last path segment")
    timeout: lenient.Float = Field(10, description="seconds per request")


@register("http-lookup")
class HttpLookup(Node):
    """Replaces msg.payload with the JSON found at url/<payload> (an example async node)."""

    Props = HttpLookupProps
    props: HttpLookupProps
    concurrency = 4                                     # up to 4 requests in flight at once

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.props.timeout))

    async def on_input(self, msg: Msg) -> Msg:
        url = f"{self.props.url.rstrip('/')}/{msg['payload']}"
        async with self._session.get(url) as response:
            if response.status != 200:
                raise NodeError(f"GET {url}: HTTP {response.status}")
            msg["payload"] = await response.json()
        return msg

    async def close(self) -> None:
        await self._session.close()
