"""The README's first command, ``examples/tour.py``, runs and prints no secret."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from canvas_async.testing import CanvasEmulator
from tests.leak_check import record_text, register_secret

TOUR = Path(__file__).resolve().parents[2] / "examples" / "tour.py"


async def test_tour_runs_and_prints_no_secret(
    emu: CanvasEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("tour", TOUR)
    assert spec is not None
    assert spec.loader is not None
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    for credential in ("01d6-3e54-cff2-c7d8", "correct-horse-battery", "k-123456789"):
        register_secret(credential)

    await tour.tour(emu)

    out = capsys.readouterr().out
    record_text("tour output", out)
    assert "Created workflow 'Nightly employee export'" in out
    assert "after 02:01 it fires at 02:05, 02:10, 02:15 (UTC)" in out
    assert out.rstrip().endswith("the client is closed")
    assert emu.consumer not in out
    assert emu.secret_key not in out
    assert len(emu.state.runs) == 2
