"""canvas-async doctor: the server's catalogue against what the SDK sends."""

from __future__ import annotations

from typing import Any

from canvas_async.cli import _exit
from canvas_async.testing import CanvasEmulator, Dialect
from tests.cli.test_cli import _keys, cli
from tests.support import started


async def test_no_difference_against_the_emulator() -> None:
    async with started(CanvasEmulator()) as emu:
        result = await cli("doctor", env=_keys(emu))

    assert result.code == _exit.OK, result.err
    assert "no difference" in result.out
    assert "Traceback" not in result.err


async def test_drift_is_named_and_fails() -> None:
    dialect = Dialect(renamed={"RunWorkflow": "StartWorkflow"}, required={"AddAccountApiDto.phone"})
    async with started(CanvasEmulator(dialect=dialect)) as emu:
        text = await cli("doctor", env=_keys(emu))
        data = await cli("doctor", "--json", env=_keys(emu))

    assert text.code == data.code == _exit.FAILED
    assert "breaking  RunWorkflow: missing operation" in text.out
    assert "breaking  AddAccountApiDto.phone: new required field" in text.out
    assert "note      StartWorkflow (POST): extra operation" in text.out
    assert "3 differences, 2 breaking" in text.out
    report: Any = data.json()
    assert report["ok"] is False
    assert [(d["subject"], d["breaking"]) for d in report["differences"]] == [
        ("RunWorkflow", True),
        ("StartWorkflow (POST)", False),
        ("AddAccountApiDto.phone", True),
    ]


async def test_known_alternatives_are_notes_only() -> None:
    async with started(CanvasEmulator(dialect=Dialect.metadata())) as emu:
        result = await cli("doctor", env=_keys(emu))

    assert result.code == _exit.OK
    assert "note      Accounts: listed under another name: listed as Clients" in result.out
