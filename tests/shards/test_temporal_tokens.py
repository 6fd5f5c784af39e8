"""A shard attempt on Temporal picks the auth mode as the command does and revokes its pair."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from canvas_async.contrib import temporal
from canvas_async.provision.shard import load_file
from canvas_async.testing import CanvasEmulator
from tests.shards.shard_support import cli_env, converged, write_file, writes
from tests.support import started


async def test_an_attempt_detects_token_mode_and_revokes_its_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with started(CanvasEmulator(auth="token", seed="empty", synthetic_accounts=4)) as emu:
        path = write_file(tmp_path / "accounts.json", emu.state.managed_ids)
        job = temporal.ShardInput(str(path), str(load_file(path).digest), 0, 1)
        # No workflow here for a shard's lease to read back: run it unfenced.
        for name, value in cli_env(emu, CANVAS_TEMPORAL_UNGUARDED="1").items():
            monkeypatch.setenv(name, value)

        await ActivityEnvironment().run(temporal.converge_shard, job)

        assert converged(emu, emu.state.managed_ids) == []
        assert (emu.state.tokens.issued, emu.state.tokens.deletes) == (1, 1)

        monkeypatch.setenv("CANVAS_AUTH", "oauth")
        before = writes(emu)
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(temporal.converge_shard, job)
        assert caught.value.type == "BadAuthMode"
        assert caught.value.non_retryable
        assert writes(emu) == before
