"""Helpers of the client tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import yarl
from aiohttp import web


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[yarl.URL]:
    """Serve ``app`` on 127.0.0.1 at a free port; yield its ``/api`` base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield yarl.URL(f"http://127.0.0.1:{port}/api")
    finally:
        await runner.cleanup()
