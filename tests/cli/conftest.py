"""Fixtures of the command's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from canvas_async.testing import CanvasEmulator


@pytest.fixture
async def emu() -> AsyncIterator[CanvasEmulator]:
    """An emulator with the sample data and four synthetic accounts."""
    async with CanvasEmulator(seed="samples", synthetic_accounts=4, random_seed=9) as emu:
        yield emu
