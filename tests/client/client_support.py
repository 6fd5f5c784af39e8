"""Helpers of the client tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import yarl
from aiohttp import web
from leak_check import register_secret

from canvas_async.testing import CanvasEmulator


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


async def running(emulator: CanvasEmulator) -> AsyncIterator[CanvasEmulator]:
    """Start ``emulator``, register its keys as secrets, check it stayed healthy."""
    register_secret(emulator.consumer)
    register_secret(emulator.secret_key)
    async with emulator:
        yield emulator
    assert emulator.state.internal_errors == []
