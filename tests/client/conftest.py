"""Fixtures of the client tests: a running emulator and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from leak_check import record_text, register_secret

from canvas_async import Canvas
from canvas_async.testing import CanvasEmulator


async def running(emulator: CanvasEmulator) -> AsyncIterator[CanvasEmulator]:
    """Start ``emulator``, register its keys as secrets, check it stayed healthy."""
    register_secret(emulator.consumer)
    register_secret(emulator.secret_key)
    async with emulator:
        yield emulator
    assert emulator.state.internal_errors == []


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
