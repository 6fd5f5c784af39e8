"""Fixtures of the client tests: a running emulator and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_support import running
from leak_check import record_text

from canvas_async import Canvas
from canvas_async.testing import CanvasEmulator


@pytest.fixture
async def emu() -> AsyncIterator[CanvasEmulator]:
    """An emulator with the documented sample data, in key mode."""
    async for emulator in running(CanvasEmulator(seed="samples")):
        yield emulator


@pytest.fixture
async def canvas(emu: CanvasEmulator) -> AsyncIterator[Canvas]:
    """A client of ``emu`` with short timeouts."""
    async with Canvas(
        consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url, timeout=5
    ) as client:
        yield client
        record_text("repr of Canvas", repr(client))
