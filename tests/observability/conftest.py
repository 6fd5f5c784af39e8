"""Fixtures of the observability tests: a started emulator, its keys registered."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from leak_check import register_secret

from canvas_async.testing import CanvasEmulator


@pytest.fixture
async def emu(canvas_emulator: CanvasEmulator) -> AsyncIterator[CanvasEmulator]:
    """The plugin's emulator (options from its marker), keys registered, health checked."""
    register_secret(canvas_emulator.consumer)
    register_secret(canvas_emulator.secret_key)
    yield canvas_emulator
    assert canvas_emulator.state.internal_errors == []
