"""One convergence per organization: two ``apply`` processes that meet.

Each test holds the emulator's creates until the second process has either
decided what to create (no lease: it read "missing" too) or said that it
waits for the lease, so the two runs overlap whatever the machine's load.
Without the lease every one of these duplicates; with it, none does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from canvas_async.cli import _exit
from canvas_async.provision.lease import WHOLE_FILE
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator, Hold
from tests.leak_check import record_text
from tests.shards.shard_support import (
    cli_env,
    converged,
    duplicate_workflows,
    duplicates,
    until,
    write_file,
)
from tests.support import spawn, started

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=24, random_seed=21)

#: The writes held until both runs have gone as far as they can.
CREATES = frozenset({"create_reg_application", "create_workflow"})


@attrs.define
class Run:
    """A ``canvas-async apply`` process whose stderr is read as it comes."""

    proc: asyncio.subprocess.Process
    err: list[str] = attrs.field(factory=list)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, *args: str, env: dict[str, str]) -> Run:
        run = cls(await spawn("--json", "apply", *args, env=env))
        run.reader = asyncio.create_task(run._read())
        return run

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.err.append(line.decode())

    @property
    def waits(self) -> bool:
        """Whether it said that another run holds the organization."""
        return any("waiting:" in line for line in self.err)

    async def finish(self) -> tuple[int, str]:
        assert self.proc.stdout is not None
        assert self.reader is not None
        out = await asyncio.wait_for(self.proc.stdout.read(), 120)
        await asyncio.wait_for(self.reader, 120)
        code = await self.proc.wait()
        err = "".join(self.err)
        record_text("canvas-async stdout", out.decode())
        record_text("canvas-async stderr", err)
        return code, err


@contextlib.asynccontextmanager
async def held_creates(emu: CanvasEmulator) -> AsyncIterator[Hold]:
    hold = Hold()
    rule = emu.faults.add(hold, operations=CREATES)
    try:
        yield hold
    finally:
        hold.release()
        emu.faults.remove(rule)


#: Two runs: the first's accounts are among the second's, so both can decide
#: to create in the account the first run holds.
SCENARIOS: dict[str, tuple[Shard | None, Shard | None]] = {
    "two runs of the whole file": (None, None),
    "a shard of 8 beside a shard of 4": (Shard(0, 8), Shard(0, 4)),
    "a shard beside the whole file": (Shard(1, 4), None),
    "one shard twice": (Shard(2, 4), Shard(2, 4)),
}


def _shard_args(shard: Shard | None) -> list[str]:
    return [] if shard is None else ["--shard", str(shard)]


@pytest.mark.parametrize("lease", [True, False], ids=["lease", "no-lease"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_two_runs_of_one_organization_never_write_at_once(
    emu: CanvasEmulator, tmp_path: Path, scenario: str, lease: bool
) -> None:
    ids = emu.state.managed_ids[:24]
    path = write_file(tmp_path / "state.json", ids)
    first_shard, second_shard = SCENARIOS[scenario]
    state = load_file(path)
    second_accounts = len((second_shard or WHOLE_FILE).select(state).accounts)
    common = [str(path), "--lease-wait", "60"] + ([] if lease else ["--no-lease"])

    def env(name: str) -> dict[str, str]:
        # Each run as if on its own machine but for the lease directory: its own TMPDIR.
        tmp = tmp_path / name
        tmp.mkdir()
        return cli_env(emu, CANVAS_LEASE_DIR=str(tmp_path / "leases"), TMPDIR=str(tmp))

    async with held_creates(emu) as hold:
        # One account at a time: the first run holds exactly one create.
        first_args = [*common, *_shard_args(first_shard), "--concurrency", "1"]
        first = await Run.start(*first_args, env=env("first"))
        await until(lambda: hold.waiting == 1 or first.proc.returncode is not None)
        # Every account at once: the second run holds one create per account,
        # or says it waits for the lease.
        second_args = [*common, *_shard_args(second_shard), "--concurrency", "100"]
        second = await Run.start(*second_args, env=env("second"))
        await until(
            lambda: (
                hold.waiting == 1 + second_accounts
                or second.waits
                or second.proc.returncode is not None
            )
        )
        assert second.waits == lease
    (first_code, first_err), (second_code, second_err) = await asyncio.gather(
        first.finish(), second.finish()
    )

    if lease:
        assert (first_code, second_code) == (_exit.OK, _exit.OK), first_err + second_err
        assert "held by another run" in second_err
        assert duplicates(emu) == 0
        touched = (second_shard or WHOLE_FILE).select(state).accounts
        assert converged(emu, [a.id for a in touched if a.id is not None]) == []
    else:
        assert duplicates(emu) > 0
        # The overlap does not pass for success: a run that made or found the
        # duplicates ends non-zero and names them ...
        assert {first_code, second_code} - {_exit.OK}, first_err + second_err
        # ... and the next apply deletes the duplicate workflows it made; the
        # duplicate registrations (the API cannot delete them) it names, exit 5.
        again = await Run.start(*common, *_shard_args(second_shard), env=env("again"))
        code, err = await again.finish()
        assert code == _exit.UNFIXABLE, err
        assert duplicate_workflows(emu) == 0


async def test_two_organizations_never_wait_for_each_other(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    leases = str(tmp_path / "leases")
    path = write_file(tmp_path / "state.json", emu.state.managed_ids[:4])
    async with held_creates(emu) as hold:
        first = await Run.start(str(path), env=cli_env(emu, CANVAS_LEASE_DIR=leases))
        await until(lambda: hold.waiting > 0 or first.proc.returncode is not None)
        async with started(CanvasEmulator(seed="empty", synthetic_accounts=4)) as other:
            other_path = write_file(tmp_path / "other.json", other.state.managed_ids[:4])
            second = await Run.start(str(other_path), env=cli_env(other, CANVAS_LEASE_DIR=leases))
            # The same lease directory, the same file contents but another
            # organization: it converges while the first run is held.
            code, err = await second.finish()
            assert code == _exit.OK, err
            assert not second.waits
            assert converged(other, other.state.managed_ids[:4]) == []
        assert first.proc.returncode is None
    code, err = await first.finish()
    assert code == _exit.OK, err
    assert converged(emu, emu.state.managed_ids[:4]) == []
