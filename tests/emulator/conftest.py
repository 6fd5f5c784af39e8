from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from canvas_async.testing import CanvasEmulator, ManualClock
from tests.emulator.emulator_support import Api
from tests.support import started

# 2022-04-27T10:18:55Z: when the documented sample tokens were issued.
SAMPLE_NOW = datetime(2022, 4, 27, 10, 18, 55, 177428, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[CanvasEmulator]:
    async with started(CanvasEmulator(clock=clock)) as running:
        yield running


@pytest.fixture
async def token_emu(clock: ManualClock) -> AsyncIterator[CanvasEmulator]:
    async with started(CanvasEmulator(auth="token", clock=clock)) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def api(session: aiohttp.ClientSession, emu: CanvasEmulator) -> Api:
    return Api(session, emu)


@pytest.fixture
def token_api(session: aiohttp.ClientSession, token_emu: CanvasEmulator) -> Api:
    return Api(session, token_emu)
