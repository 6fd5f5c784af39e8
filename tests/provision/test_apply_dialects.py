"""apply against every documented reading of the answers, and /Clients only."""

from __future__ import annotations

import collections

import pytest

from canvas_async import provision
from canvas_async.provision import Status
from canvas_async.testing import CanvasEmulator, Dialect
from tests.provision.test_apply import ENV, _state, _writes, assert_matches
from tests.support import client_of, started

DIALECTS = {
    "documented": Dialect(),
    "metadata": Dialect.metadata(),
    "mixed": Dialect(run="true", scheduler="true", delete="empty", accounts_path="clients"),
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
async def test_apply_converges_once_in_every_dialect(name: str) -> None:
    emulator = CanvasEmulator(
        seed="empty", synthetic_accounts=6, random_seed=3, dialect=DIALECTS[name]
    )
    async with started(emulator) as emu, client_of(emu) as canvas:
        state = _state(emu, 4, emails=2)
        first = await provision.apply(canvas, state, environ=ENV)
        writes = _writes(emu)
        second = await provision.apply(canvas, state, environ=ENV)

    assert first.ok, first.table()
    assert {a.status for a in first.accounts} == {Status.DONE}
    assert_matches(emu, state)
    assert second.summary()["changes"] == 0
    assert _writes(emu) == writes
    posts = collections.Counter(r.operation for r in emu.log if r.method == "POST")
    assert posts["create_account"] == 2  # never twice
    assert posts["create_workflow"] == 6
