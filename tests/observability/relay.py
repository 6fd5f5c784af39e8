"""A local HTTP relay: a forward proxy, or a TLS front, for the emulator.

It answers on 127.0.0.1 and forwards every request it gets to the target
(the emulator), recording what it saw. As an ``http://`` proxy it receives
absolute-form requests; behind ``ssl_context`` it terminates TLS.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator

import aiohttp
import attrs
import yarl
from aiohttp import web
from multidict import CIMultiDict

_HOP_BY_HOP = frozenset(
    {"host", "connection", "proxy-connection", "keep-alive", "content-length", "transfer-encoding"}
)


@attrs.frozen
class Seen:
    """One request the relay forwarded."""

    method: str
    path: str
    headers: CIMultiDict[str] = attrs.field(repr=False)


@attrs.define
class Relay:
    """A running relay: its URL and the requests it forwarded."""

    url: yarl.URL
    seen: list[Seen] = attrs.field(factory=list)


@contextlib.asynccontextmanager
async def relay(target: str, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Relay]:
    """Run a relay forwarding to ``target``'s host; yield it."""
    origin = yarl.URL(target).origin()
    state = Relay(yarl.URL("http://127.0.0.1"))
    async with aiohttp.ClientSession(auto_decompress=False) as upstream:

        async def forward(request: web.Request) -> web.Response:
            state.seen.append(Seen(request.method, request.path, CIMultiDict(request.headers)))
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            async with upstream.request(
                request.method,
                origin.join(yarl.URL(request.rel_url.path_qs)),
                headers=headers,
                data=await request.read(),
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(status=answer.status, body=body, headers=kept)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "http" if ssl_context is None else "https"
        state.url = yarl.URL(f"{scheme}://127.0.0.1:{port}")
        try:
            yield state
        finally:
            await runner.cleanup()
