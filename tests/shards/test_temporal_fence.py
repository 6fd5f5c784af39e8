"""Two writers of one organization on Temporal, and what keeps them apart.

A shard attempt Temporal has given up on (its worker frozen, or cut off from
Temporal while it still reaches Canvas) sends nothing more, and a Schedule's
start beside a manual one of the same organization makes one convergence.
Each runs ``fenced`` (as shipped: not one duplicate) and, where it has something to
judge, ``unfenced`` too (the workers run with ``CANVAS_TEMPORAL_UNGUARDED=1``, which
turns the guards off: duplicates), so each shows that what it checks can fail. A frozen
worker's writes once woken, unfenced, depend on the machine's load (nothing to judge),
and a hanging link fails unfenced as a refused one does: those run fenced only.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.client import ScheduleActionExecutionStartWorkflow, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from canvas_async.cli import _exit
from canvas_async.contrib import temporal
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import WRITES, CanvasEmulator, Hold, Latency
from tests.shards.shard_support import (
    cli_env,
    converged,
    duplicates,
    until,
    write_file,
)
from tests.shards.temporal_support import (
    HEARTBEAT_TIMEOUT,
    PATIENCE,
    Link,
    WorkerProcess,
    address,
    dev_server,
    eventually,
    pending_of,
    shard_under_way,
    start_workers,
    stop_all,
)
from tests.support import finish, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=400, random_seed=13)

GUARDS = [pytest.param(True, id="fenced"), pytest.param(False, id="unfenced")]


@pytest.fixture
async def server() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server() as env:
        yield env


def _stale_age(line: str) -> float | None:
    """The age of the newest confirmed heartbeat a "stopped sending" line gives."""
    found = re.search(r"no renewal confirmed for ([0-9.]+) s", line)
    return float(found.group(1)) if found else None


def _accounts_of(path: Path, activity_id: str) -> set[str]:
    """The ids of the accounts of a shard (activity ``shard-<index>-of-<count>``)."""
    index, count = map(int, re.findall(r"\d+", activity_id))
    state = Shard(index, count).select(load_file(path))
    return {str(a.id) for a in state.accounts}


def _read_one(emu: CanvasEmulator, accounts: set[str], *, since: float) -> Callable[[], bool]:
    """A condition: one of ``accounts`` has had its workflows listed since ``since``."""

    def read() -> bool:
        for record in reversed(emu.state.requests):  # newest first, answered in order
            if record.time < since - 10:
                return False
            if (
                record.operation == "list_workflows"
                and record.took_effect
                and record.account_header in accounts
                and record.time >= since
            ):
                return True
        return False

    return read


def _lists(emu: CanvasEmulator) -> collections.Counter[str | None]:
    """How many times the workflows of each account have been listed."""
    return collections.Counter(r.account_header for r in emu.log if r.operation == "list_workflows")


async def _second_attempt_on(
    server: WorkflowEnvironment, workflow_id: str, worker: WorkerProcess
) -> bool | None:
    """Whether a later attempt of a shard has started on ``worker``."""
    for p in (await pending_of(server.client, workflow_id)).values():
        if p["started"] and p["attempt"] > 1 and p["worker"].startswith(f"{worker.pid}@"):
            return True
    return None


async def test_a_frozen_worker_sends_nothing_once_its_shard_runs_elsewhere(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:400]
    path = write_file(tmp_path / "accounts.json", ids)
    emu.faults.add(Latency(0.3))  # a shard takes seconds: it is frozen midway
    queue = f"q-{uuid.uuid4()}"
    workers = await start_workers(
        emu, address(server), queue, 2, "--max-concurrent-activities", "1"
    )
    frozen = workers[0]
    try:
        job = await temporal.pinned_input(str(path), shards=2, heartbeat_timeout=HEARTBEAT_TIMEOUT)
        convergence = await temporal.start_converge(server.client, job, task_queue=queue)
        shard = await shard_under_way(server.client, convergence.id, frozen)
        # Freeze it right after it read an account: it is about to write to it.
        await until(_read_one(emu, _accounts_of(path, shard), since=time.monotonic()))
        frozen.proc.send_signal(signal.SIGSTOP)
        # Temporal gives up on the frozen attempt and the other worker converges
        # its shard too; only then does the frozen one wake up.
        result = await asyncio.wait_for(convergence.result(), PATIENCE)
        assert result.accounts == 400
        # From now on a write lands at once: one sent by the frozen attempt before
        # it hears that Temporal gave up on it (its next heartbeat's answer) lands.
        emu.faults.clear()
        woke = time.monotonic()
        frozen.proc.send_signal(signal.SIGCONT)
        # It stops at its next check or, frozen while a write was under way, the
        # kernel ends it as it wakes up (the lease watchdog's alarm).
        if await frozen.ended_by_alarm(f"{shard} attempt 1 of", "stopped sending"):
            print("frozen worker: ended by its lease's alarm")
        else:
            await frozen.line(f"{shard} attempt 1 of", "ended")
            _, stopped = await frozen.line(f"{shard} attempt 1 of", "stopped sending")
            print(f"frozen worker: {stopped}")
        # Not one write arrived after it woke up. Counted by arrival, not by how many
        # have landed: a write the other worker gave up on under load (its timeout is
        # the lease's margin) may still land after the convergence ended.
        assert [r.operation for r in emu.log if r.operation in WRITES and r.time >= woke] == []
        assert duplicates(emu) == 0
        assert converged(emu, ids) == []
    finally:
        await stop_all(workers)


@pytest.mark.parametrize(
    ("cut", "fenced"),
    [
        pytest.param("refused", True, id="refused-fenced"),
        pytest.param("refused", False, id="refused-unfenced"),
        pytest.param("hanging", True, id="hanging-fenced"),
    ],
)
async def test_a_worker_cut_off_from_temporal_stops_before_its_shard_runs_elsewhere(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path, cut: str, fenced: bool
) -> None:
    ids = emu.state.managed_ids[:256]
    path = write_file(tmp_path / "accounts.json", ids)
    # Writes are slow, reads quick: the cut-off worker is still writing when the
    # other takes its shard over, and the other soon reaches the accounts it
    # writes to. A write takes less than the margin (3 s of a 9 s timeout).
    timeout = 9.0
    emu.faults.add(Latency(1.5), operations=WRITES)
    queue = f"q-{uuid.uuid4()}"
    async with Link(address(server)) as link:
        # One shard at a time: it has no poll out for another that Temporal could
        # hand it (unseen, once its link hangs) instead of the other worker.
        cut_off = (
            await start_workers(
                emu, link.address, queue, 1, "--max-concurrent-activities", "1",
                unguarded=not fenced,
            )
        )[0]  # fmt: skip
        workers = [cut_off]
        try:
            job = await temporal.pinned_input(str(path), shards=1, heartbeat_timeout=timeout)
            convergence = await temporal.start_converge(server.client, job, task_queue=queue)
            workers += await start_workers(emu, address(server), queue, 1, unguarded=not fenced)
            shard = await shard_under_way(server.client, convergence.id, cut_off)
            if not fenced:
                # Unfenced, the two attempts overlap for sure: from the cut on, no write
                # lands before the second attempt has sent one of its own. The cut-off
                # attempt is stuck on the writes of the accounts it is at, and the second,
                # reading the accounts in the same order, reaches those first.
                hold = Hold()
                emu.faults.add(hold, operations=WRITES)
            if cut == "refused":
                await link.refuse()
            else:
                link.hang()
            cut_at = time.monotonic()
            if not fenced:
                await eventually(lambda: _second_attempt_on(server, convergence.id, workers[1]))
                stuck = hold.waiting
                await until(lambda: hold.waiting > stuck)
                hold.release()

            try:
                result = await asyncio.wait_for(convergence.result(), PATIENCE)
            except WorkflowFailureError:
                # Unfenced, the duplicates it made fail the convergence (the
                # check after apply sees them): it never passes for success.
                assert not fenced
            else:
                assert result.accounts == 256
            await cut_off.line(f"{shard} attempt 1 of", "ended")

            print(f"cut off ({cut}): {duplicates(emu)} duplicates")
            if fenced:
                when, stopped = await cut_off.line(f"{shard} attempt 1 of", "stopped sending")
                print(f"cut off ({cut}): {when - cut_at:.1f} s after the cut: {stopped}")
                # It stopped once its newest confirmed heartbeat was older than the
                # timeout less the margin: before Temporal could give up on it.
                age = _stale_age(stopped)
                assert age is not None
                assert timeout - temporal.heartbeat_margin(timeout) <= age < timeout
                assert duplicates(emu) == 0
                assert converged(emu, ids) == []
            else:
                assert duplicates(emu) > 0
        finally:
            cut_off.proc.kill()  # its link is gone: it would not stop gracefully
            await stop_all(workers)


@pytest.mark.parametrize("fenced", GUARDS)
async def test_a_scheduled_and_a_manual_start_of_one_organization_make_one_convergence(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path, fenced: bool
) -> None:
    ids = emu.state.managed_ids[:400]
    path = write_file(tmp_path / "accounts.json", ids)
    if fenced:
        emu.faults.add(Latency(0.5))  # a convergence takes about 10 s: the two overlap
    else:
        # Unfenced, the two convergences overlap for sure: no write lands before both
        # have read one account.
        hold = Hold()
        emu.faults.add(hold, operations=WRITES)
    queue = f"q-{uuid.uuid4()}"
    workers = await start_workers(emu, address(server), queue, 2, unguarded=not fenced)
    env = cli_env(emu, TEMPORAL_ADDRESS=address(server))
    args = ["--json", "temporal", "apply", str(path), "--shards", "2", "--task-queue", queue]
    args += ["--heartbeat-timeout", str(HEARTBEAT_TIMEOUT)]
    try:
        code, out, err = await finish(await spawn(*args, "--schedule", "30 2 * * *", env=env))
        assert code == _exit.OK, err
        schedule = server.client.get_schedule_handle(json.loads(out)["schedule_id"])

        manual = await spawn(*args, env=env)
        await schedule.trigger()
        if not fenced:
            await until(lambda: max(_lists(emu).values(), default=0) >= 2)
            hold.release()

        async def scheduled_start() -> str | None:
            for done in (await schedule.describe()).info.recent_actions:
                assert isinstance(done.action, ScheduleActionExecutionStartWorkflow)
                return done.action.workflow_id
            return None

        starter = server.client.get_workflow_handle_for(
            temporal.StartConvergence.run, await eventually(scheduled_start)
        )
        by_schedule = await asyncio.wait_for(starter.result(), PATIENCE)
        code, out, err = await finish(manual)
        scheduled = server.client.get_workflow_handle(
            by_schedule.workflow_id, run_id=by_schedule.run_id
        )
        print(f"scheduled beside manual: {duplicates(emu)} duplicates")
        if not fenced:
            # Two convergences at once: duplicates, and neither passes for success.
            assert code != _exit.OK
            with pytest.raises(WorkflowFailureError):
                await asyncio.wait_for(scheduled.result(), PATIENCE)
            assert duplicates(emu) > 0
            return
        assert code == _exit.OK, err
        by_hand = json.loads(out)
        assert by_hand["accounts"] == 400
        await asyncio.wait_for(scheduled.result(), PATIENCE)
        # One run of the organization's id: one started it, the other joined.
        assert by_schedule.workflow_id == by_hand["workflow_id"]
        assert by_schedule.run_id == by_hand["run_id"]
        assert sorted([by_schedule.joined, by_hand["joined"]]) == [False, True]
        assert duplicates(emu) == 0
        assert converged(emu, ids) == []
    finally:
        await stop_all(workers)
