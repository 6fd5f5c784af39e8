"""Fixtures of the command's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from leak_check import register_secret

from canvas_async.testing import CanvasEmulator


@pytest.fixture
async def emu() -> AsyncIterator[CanvasEmulator]:
    """An emulator with the sample data and four synthetic accounts."""
    async with CanvasEmulator(seed="samples", synthetic_accounts=4, random_seed=9) as emu:
        register_secret(emu.secret_key)
        yield emu
