"""Two attempts of one shard at once: with the lease one works and the other waits; without
it, every write they overlap on is made twice."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from canvas_async import provision
from canvas_async._timeouts import DEFAULT_TIMEOUT
from canvas_async.provision import lease as lease_module
from canvas_async.provision.lease import (
    WHOLE_FILE,
    Claim,
    Fence,
    FileLease,
    LeaseHeldError,
    LeaseLostError,
    fenced_timeout,
    guarded_session,
    holding,
    read_record,
)
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator, Latency
from tests.shards.shard_support import ENV, changes_of, converged, duplicates, write_file, writes
from tests.support import client_of

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=24, random_seed=5)


ORG = "org-0123456789abcdef"


def claim(file_hash: str = "sha256:abc", shard: Shard = WHOLE_FILE, org: str = ORG) -> Claim:
    return Claim(org, file_hash, shard)


async def test_a_lease_is_held_by_one_run_at_a_time(tmp_path: Path) -> None:
    first = FileLease(tmp_path, claim(shard=Shard(0, 2)))
    second = FileLease(tmp_path, claim(shard=Shard(0, 2)))
    await first.acquire()
    with pytest.raises(LeaseHeldError, match=r"held by another run .*shard 0/2.*sha256:abc"):
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
    lease = FileLease(tmp_path, claim(), owner="pod-7")
    async with holding(lease):
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
            LeaseHeldError,
            match=r"\(owner pod-7, host .*, pid \d+, converging sha256:abc, last heartbeat",
        ):
            await FileLease(tmp_path, claim()).acquire(wait=0)
    assert read_record(tmp_path / "missing.lock") is None


async def test_a_removed_lock_file_means_the_lease_is_lost(tmp_path: Path) -> None:
    lease = FileLease(tmp_path, claim(shard=Shard(1, 2)))
    async with holding(lease):
        lease.path.unlink()
        with pytest.raises(LeaseLostError, match="removed"):
            await lease.check()
        other = FileLease(tmp_path, claim(shard=Shard(1, 2)))
        await other.acquire(wait=0)  # the path names a new file: it is free
        await other.release()


async def test_shards_of_one_split_share_the_organization_and_nothing_else_does(
    tmp_path: Path,
) -> None:
    held = [FileLease(tmp_path, claim(shard=Shard(i, 4))) for i in range(4)]
    for lease in held:
        await lease.acquire(wait=0)  # every shard of one split of one file, at once
    refused = {
        "the same shard again": claim(shard=Shard(2, 4)),
        "another split of the file": claim(shard=Shard(0, 8)),
        "the whole file": claim(),
        "another file, same split": claim("sha256:def", Shard(1, 4)),
    }
    for what, other in refused.items():
        with pytest.raises(LeaseHeldError, match=r"held by another run \(owner"):
            await FileLease(tmp_path, other).acquire(wait=0)
        assert not FileLease(tmp_path, other).held, what
    # Another organization in the same directory is never blocked.
    async with holding(FileLease(tmp_path, claim(org="org-other"))) as other_org:
        await other_org.check()
    for lease in held[:3]:
        await lease.release()
    # One shard of the split still runs: the other split still waits ...
    with pytest.raises(LeaseHeldError, match="shard 3/4"):
        await FileLease(tmp_path, claim(shard=Shard(0, 8))).acquire(wait=0)
    await held[3].release()
    # ... and takes the organization once the last one has left.
    async with holding(FileLease(tmp_path, claim(shard=Shard(0, 8)))) as resharded:
        await resharded.check()


def test_claims_share_only_across_shards_of_one_split() -> None:
    whole = claim()
    assert not whole.shares_with(claim())
    assert claim(shard=Shard(0, 2)).shares_with(claim(shard=Shard(1, 2)))
    assert not claim(shard=Shard(0, 2)).shares_with(claim(shard=Shard(1, 4)))
    assert not claim(shard=Shard(0, 2)).shares_with(claim("sha256:def", Shard(1, 2)))
    assert whole.shares_with(claim(org="org-other"))
    assert str(claim(shard=Shard(1, 2))) == f"organization {ORG} (shard 1/2 of sha256:abc)"
    for bad in ("", "a/b", "x" * 64, "org 1"):
        with pytest.raises(ValueError, match="organization key"):
            Claim(bad, None)


def test_a_fence_sends_only_while_a_confirmed_renewal_is_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    fence = Fence("the lease", duration=15.0, margin=5.0)
    with pytest.raises(LeaseLostError, match="not held"):
        fence.check()
    fence.confirm(100.0)
    fence.confirm(99.0)  # an older confirmation counts for nothing
    now[0] = 109.9
    fence.check()
    assert fence.remaining == pytest.approx(0.1)
    now[0] = 110.0  # 15 s lease, 5 s margin: stop at 10 s, whatever happened since
    with pytest.raises(LeaseLostError, match=r"no renewal confirmed for 10.0 s"):
        fence.check()
    fence.confirm(109.0)
    fence.check()
    fence.lose()
    with pytest.raises(LeaseLostError):
        fence.check()
    for margin in (0.0, 15.0, 20.0):
        with pytest.raises(ValueError, match="margin"):
            Fence("x", duration=15.0, margin=margin)


def test_a_fenced_timeout_ends_every_request_within_the_margin() -> None:
    fence = Fence("x", duration=15.0, margin=5.0)

    class Renewed:
        name = "renewed"
        request_timeout = fence.margin

    capped = fenced_timeout(Renewed())  # type: ignore[arg-type]
    assert (capped.total, capped.connect) == (5.0, 5.0)
    kernel = FileLease(Path("/nonexistent"), claim())
    assert fenced_timeout(kernel) == DEFAULT_TIMEOUT


async def _attempt(
    emu: CanvasEmulator, path: Path, shard: Shard, lease: FileLease | None
) -> provision.RunReport:
    state = load_file(path)

    async def run(session: aiohttp.ClientSession | None = None) -> provision.RunReport:
        async with client_of(emu, session=session) as canvas:
            return await provision.apply(canvas, state, shard=shard, environ=ENV)

    if lease is None:
        return await run()
    async with holding(lease), guarded_session(lease) as session:
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
        held = Claim(ORG, load_file(path).digest, shard)
        return FileLease(tmp_path / "leases", held) if with_lease else None

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
    lease = FileLease(tmp_path, claim())
    async with holding(lease), guarded_session(lease) as session:
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
