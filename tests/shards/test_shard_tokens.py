"""In token mode every shard holds its own token pair and revokes it when it stops."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.provision.lease import (
    Claim,
    FileLease,
    LeaseLostError,
    guarded_session,
    holding,
)
from canvas_async.testing import CanvasEmulator
from tests.shards.shard_support import cli_env, converged, write_file
from tests.support import client_of, finish, spawn, started


async def test_shards_each_hold_and_revoke_their_own_token_pair(tmp_path: Path) -> None:
    async with started(CanvasEmulator(auth="token", seed="empty", synthetic_accounts=12)) as emu:
        ids = emu.state.managed_ids
        path = write_file(tmp_path / "state.json", ids)
        args = ["apply", str(path), "--lease-dir", str(tmp_path / "leases")]
        shards = [await spawn(*args, "--shard", f"{i}/3", env=cli_env(emu)) for i in range(3)]
        results = await asyncio.gather(*(finish(shard) for shard in shards))

        assert [code for code, _, _ in results] == [_exit.OK] * 3, results
        assert converged(emu, ids) == []
        # No mode flag: each shard detected token mode, took a pair and revoked it.
        assert (emu.state.tokens.issued, emu.state.tokens.deletes) == (3, 3)


async def test_a_lost_lease_still_lets_the_tokens_be_revoked(tmp_path: Path) -> None:
    async with started(CanvasEmulator(auth="token", seed="empty")) as emu:
        lease = FileLease(tmp_path, Claim("org-tokens", None))
        async with (
            holding(lease),
            guarded_session(lease) as session,
            client_of(emu, auth="token", session=session) as canvas,
        ):
            await canvas.accounts.list()
            lease.path.unlink()  # another attempt took over
            with pytest.raises(LeaseLostError):
                await canvas.workflows.list()

        sent = collections.Counter(record.operation for record in emu.log)
        assert sent["list_workflows"] == 0
        assert sent["delete_token"] == emu.state.tokens.deletes == 1
