"""Bulk runs follow the client's own concurrency limit unless told otherwise."""

from __future__ import annotations

import asyncio

import pytest

from canvas_async import AccountView, Canvas
from canvas_async.bulk import for_each_account
from canvas_async.testing import CanvasEmulator


@pytest.mark.canvas_emulator(synthetic_accounts=12)
@pytest.mark.canvas_client(max_concurrency=3)
async def test_bulk_follows_the_clients_max_concurrency(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    in_progress = peak = 0

    async def probe(view: AccountView) -> None:
        nonlocal in_progress, peak
        in_progress += 1
        peak = max(peak, in_progress)
        await asyncio.sleep(0.01)
        in_progress -= 1

    report = await for_each_account(canvas, emu.state.managed_ids[-12:], probe)

    assert canvas.max_concurrency == 3
    assert len(report.results) == 12
    assert peak == 3
