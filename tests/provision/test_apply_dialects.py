"""apply against every documented reading of the answers, and /Clients only."""

from __future__ import annotations

import collections

import pytest
from test_apply import ENV, _state, _writes, assert_matches

from canvas_async import Canvas, provision
from canvas_async.provision import Status
from canvas_async.testing import CanvasEmulator, Dialect

DIALECTS = {
    "documented": Dialect(),
    "metadata": Dialect.metadata(),
    "mixed": Dialect(run="true", scheduler="true", delete="empty", accounts_path="clients"),
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
async def test_apply_converges_once_in_every_dialect(name: str) -> None:
    async with CanvasEmulator(
        seed="empty", synthetic_accounts=6, random_seed=3, dialect=DIALECTS[name]
    ) as emu:
        state = _state(emu, 4, emails=2)
        async with Canvas(consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url) as c:
            first = await provision.apply(c, state, environ=ENV)
            writes = _writes(emu)
            second = await provision.apply(c, state, environ=ENV)

        assert emu.state.internal_errors == []

    assert first.ok, first.table()
    assert {a.status for a in first.accounts} == {Status.DONE}
    assert_matches(emu, state)
    assert second.summary()["changes"] == 0
    assert _writes(emu) == writes
    posts = collections.Counter(r.operation for r in emu.log if r.method == "POST")
    assert posts["create_account"] == 2  # never twice
    assert posts["create_workflow"] == 6
