"""Two attempts of one shard at once: with the lease one works and the other waits; without
it, every write they overlap on is made twice."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import aiohttp
import pytest

from canvas_async import provision
from canvas_async.provision import lease as lease_module
from canvas_async.provision.lease import (
    FileLease,
    LeaseHeldError,
    LeaseLostError,
    guarded_session,
    read_record,
)
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator, Latency
from tests.shards.shard_support import ENV, changes_of, converged, duplicates, write_file, writes
from tests.support import client_of

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=24, random_seed=5)


async def test_a_lease_is_held_by_one_attempt_at_a_time(tmp_path: Path) -> None:
    first = FileLease(tmp_path, "shard-0-of-2", file_hash="sha256:abc")
    second = FileLease(tmp_path, "shard-0-of-2")
    await first.acquire()
    with pytest.raises(LeaseHeldError, match=r"held by another attempt .*sha256:abc"):
        await second.acquire(wait=0)
    with pytest.raises(LeaseHeldError):
        await second.acquire(wait=0.2)
    record = read_record(first.path)
    assert record is not None
    assert record["state"] == "held"
    assert record["pid"] == os.getpid()

    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await first.release()
    await asyncio.wait_for(waiting, 10)
    assert second.held
    await second.check()
    with pytest.raises(LeaseLostError):
        await first.check()
    await second.release()
    record = read_record(second.path)
    assert record is not None
    assert record["state"] == "released"
    await second.release()  # harmless twice


async def test_the_record_keeps_beating_while_held_and_says_who_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease_module, "HEARTBEAT_SECONDS", 0.01)
    lease = FileLease(tmp_path, "shard-0-of-1", owner="pod-7")
    async with lease.hold():
        await lease.acquire()  # already held: nothing to do
        lease.path.write_text("", encoding="utf-8")  # wiped; the next beat writes it again
        for _ in range(500):
            if read_record(lease.path):
                break
            await asyncio.sleep(0.01)
        record = read_record(lease.path)
        assert record is not None
        assert record["owner"] == "pod-7"
        with pytest.raises(
            LeaseHeldError, match=r"\(owner pod-7, host .*, pid \d+, last heartbeat"
        ):
            await FileLease(tmp_path, "shard-0-of-1").acquire(wait=0)
    assert read_record(tmp_path / "missing.lock") is None


async def test_a_removed_lock_file_means_the_lease_is_lost(tmp_path: Path) -> None:
    lease = FileLease(tmp_path, "shard-1-of-2")
    async with lease.hold():
        lease.path.unlink()
        with pytest.raises(LeaseLostError, match="removed"):
            await lease.check()
        other = FileLease(tmp_path, "shard-1-of-2")
        await other.acquire(wait=0)  # the path names a new file: it is free
        await other.release()


async def _attempt(
    emu: CanvasEmulator, path: Path, shard: Shard, lease: FileLease | None
) -> provision.RunReport:
    state = load_file(path)

    async def run(session: aiohttp.ClientSession | None = None) -> provision.RunReport:
        async with client_of(emu, session=session) as canvas:
            return await provision.apply(canvas, state, shard=shard, environ=ENV)

    if lease is None:
        return await run()
    async with lease.hold(), guarded_session(lease) as session:
        return await run(session)


@pytest.mark.parametrize("with_lease", [True, False], ids=["lease", "no-lease"])
async def test_two_attempts_of_one_shard_at_once(
    emu: CanvasEmulator, tmp_path: Path, with_lease: bool
) -> None:
    ids = emu.state.managed_ids[:24]
    path = write_file(tmp_path / "state.json", ids)
    shard = Shard(1, 2)
    mine = [a.id for a in shard.select(load_file(path)).accounts if a.id is not None]
    assert len(mine) >= 6
    # Every answer takes a while, so the two attempts' reads and writes interleave.
    emu.faults.add(Latency(0.03))

    def lease() -> FileLease | None:
        return FileLease(tmp_path / "leases", shard.lease_name) if with_lease else None

    first, second = await asyncio.gather(
        _attempt(emu, path, shard, lease()), _attempt(emu, path, shard, lease())
    )

    assert {a.account_id for a in first.accounts} == set(mine)
    assert first.shard == second.shard == "1/2"
    assert first.file_hash == second.file_hash == load_file(path).digest
    if with_lease:
        assert duplicates(emu) == 0
        assert converged(emu, mine) == []
        # One attempt made every change; the other, after waiting, found none to make.
        made = sorted(r.summary()["changes"] for r in (first, second))
        assert made == [0, changes_of(shard.select(load_file(path)).accounts)]
    else:
        assert duplicates(emu) > 0
    # Only this shard's accounts were touched.
    others = set(ids) - set(mine)
    assert not [r for r in emu.state.reg_applications.values() if r.account_id in others]


async def test_a_lost_lease_stops_the_run_before_its_next_write(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:8]
    path = write_file(tmp_path / "state.json", ids)
    lease = FileLease(tmp_path, "shard-0-of-1")
    async with lease.hold(), guarded_session(lease) as session:
        lease.path.unlink()
        before = writes(emu)
        async with client_of(emu, session=session) as canvas:
            with pytest.raises(LeaseLostError):
                await provision.apply(canvas, load_file(path), environ=ENV)
    assert writes(emu) == before == 0


async def test_a_shard_plan_reads_only_its_accounts(emu: CanvasEmulator, tmp_path: Path) -> None:
    ids = emu.state.managed_ids[:24]
    path = write_file(tmp_path / "state.json", ids)
    state = load_file(path)
    async with client_of(emu) as canvas:
        reports = [await provision.plan(canvas, state, shard=Shard(i, 3)) for i in range(3)]
    seen = [a.account_id for r in reports for a in r.accounts]
    assert sorted(seen, key=str) == sorted(ids, key=str)
    assert [r.shard for r in reports] == ["0/3", "1/3", "2/3"]
    assert {r.to_json()["file_hash"] for r in reports} == {state.digest}
    assert all(uuid.UUID(str(a.account_id)) for r in reports for a in r.accounts)
