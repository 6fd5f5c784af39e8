"""A create the server answers too late: apply leaves it unknown, never makes it twice.

The emulator, like a real server, finishes a request whose client gave up
waiting; its write lands after the client's read back found nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from canvas_async import Timeout, provision
from canvas_async.provision.shard import load_file
from canvas_async.testing import CanvasEmulator, Latency
from tests.shards.shard_support import ENV, converged, duplicates, until, write_file
from tests.support import TEST_TIMEOUT, client_of

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=4)

#: How long the emulator holds the one write, against a client that waits READ_TIMEOUT.
HOLD = 2.0
READ_TIMEOUT = 0.2


@pytest.mark.parametrize("operation", ["create_workflow", "create_reg_application"])
async def test_a_write_answered_too_late_is_left_unknown_and_made_once(
    emu: CanvasEmulator, tmp_path: Path, operation: str
) -> None:
    ids = emu.state.managed_ids[:4]
    state = load_file(write_file(tmp_path / "state.json", ids))
    emu.faults.add(Latency(HOLD), operations={operation}, times=1)

    impatient = Timeout(total=TEST_TIMEOUT, read=READ_TIMEOUT)
    async with client_of(emu, timeout=impatient) as canvas:
        report = await provision.apply(canvas, state, environ=ENV)

    summary = report.summary()
    assert (summary["done"], summary["outcome_unknown"], summary["failed"]) == (3, 1, 0)
    # The server finishes the write the client gave up on: it exists once.
    await until(lambda: any(r.operation == operation and r.hung_up for r in emu.log))
    assert duplicates(emu) == 0

    async with client_of(emu) as canvas:
        again = await provision.apply(canvas, state, environ=ENV)

    assert again.summary()["done"] == 4
    assert duplicates(emu) == 0
    assert converged(emu, ids) == []
