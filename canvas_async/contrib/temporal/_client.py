"""Connect to Temporal, run a worker, start a convergence or schedule a daily one."""

from __future__ import annotations

import dataclasses
import math
import re
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import attrs
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.envconfig import ClientConfig
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from canvas_async._errors import CanvasError, ValidationError
from canvas_async.provision.shard import load_bytes

from ._activities import converge_shard, read_file, start_convergence
from ._lease import check_heartbeat_timeout
from ._workflow import (
    BUSY_ERROR,
    ConvergeFile,
    ConvergeInput,
    ConvergeResult,
    StartConvergence,
)

__all__ = [
    "DEFAULT_ADDRESS",
    "Convergence",
    "OrganizationBusyError",
    "connect",
    "pinned_input",
    "schedule_converge",
    "schedule_id",
    "start_converge",
    "worker",
]

#: Where a client connects when neither an option nor TEMPORAL_ADDRESS says.
DEFAULT_ADDRESS: Final = "localhost:7233"


async def connect(
    address: str | None = None,
    namespace: str | None = None,
    *,
    runtime: Runtime | None = None,
    environ: Mapping[str, str] | None = None,
) -> Client:
    """Connect to Temporal as the ``temporal`` CLI would.

    The connection comes from Temporal's own environment configuration
    (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
    ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``_KEY_PATH``, ``TEMPORAL_PROFILE``
    and its config file), so a worker is pointed at its own cluster or at
    Temporal Cloud exactly like the ``temporal`` CLI; ``address`` and
    ``namespace`` override it.
    """
    config: dict[str, Any] = dict(
        ClientConfig.load_client_connect_config(override_env_vars=environ)
    )
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return await Client.connect(**config, runtime=runtime)


def worker(
    client: Client,
    task_queue: str,
    *,
    max_concurrent_activities: int = 8,
    heartbeat_throttle: timedelta = timedelta(seconds=0.5),
) -> Worker:
    """Return a worker that runs the convergence workflows and activities on ``task_queue``.

    Its Canvas keys (in the environment) name the organization it converges:
    every worker of a task queue needs the same organization's keys.

    Args:
        client: Connected to Temporal.
        task_queue: Where the workflows and their activities are queued.
        max_concurrent_activities: Shards this worker converges at once.
        heartbeat_throttle: Most often a heartbeat is sent (Temporal's default
            is up to 60 s); a shard's lease counts only heartbeats Temporal
            holds, so they must not wait long.
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ConvergeFile, StartConvergence],
        activities=[converge_shard, start_convergence],
        max_concurrent_activities=max_concurrent_activities,
        default_heartbeat_throttle_interval=heartbeat_throttle,
        max_heartbeat_throttle_interval=heartbeat_throttle,
        # The workflow module imports only the standard library and temporalio;
        # canvas_async's own modules are shared with the sandbox, not reloaded.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("canvas_async")
        ),
    )


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-")
    if not slug:
        raise ValidationError(f"a task queue's name needs letters or digits, not {text!r}")
    return slug


async def pinned_input(reference: str, *, shards: int, **options: Any) -> ConvergeInput:
    """Read the file once here, refuse it if invalid, and return the job pinning its hash.

    A path is sent as an absolute one: workers resolve it on their own
    machines, where this directory means nothing. It was read here, so it
    exists here; every worker must see it at that path too (a shared mount),
    or pass an ``http(s)://`` URL instead.

    Args:
        reference: The file: a path, or an ``http(s)://`` URL.
        shards: How many activities split the accounts.
        options: The rest of :class:`ConvergeInput` (``replace``, ``prune``,
            ``heartbeat_timeout``, ``shard_deadline``).

    Raises:
        DesiredStateError: The file is invalid (nothing is started).
        ValidationError: A heartbeat timeout too short to hold a lease on, or
            a shard deadline not past it.
        OSError: The file cannot be read here.
    """
    reference = _absolute(reference)
    state = load_bytes(await read_file(reference), source=reference)
    assert state.digest is not None
    job = ConvergeInput(reference, state.digest, shards, **options)
    check_heartbeat_timeout(job.heartbeat_timeout)
    if not (math.isfinite(job.shard_deadline) and job.shard_deadline > job.heartbeat_timeout):
        raise ValidationError(
            f"a shard deadline must be longer than the heartbeat timeout "
            f"({job.heartbeat_timeout:g} s), not {job.shard_deadline:g}"
        )
    return job


def _absolute(reference: str) -> str:
    """A path made absolute (a URL as it is)."""
    if reference.startswith(("http://", "https://")):
        return reference
    return str(Path(reference).absolute())


class OrganizationBusyError(CanvasError):
    """The organization is converging another file now; nothing was started."""


@attrs.frozen
class Convergence:
    """The organization's convergence a start led to: started by it, or joined.

    Attributes:
        handle: The running workflow.
        id: Its workflow id: ``canvas-converge/<organization>``.
        run_id: Its run.
        organization: The organization's key, from the workers' keys.
        file_hash: The file it converges.
        joined: Whether it was running already (the same file), started by someone else.
    """

    handle: WorkflowHandle[ConvergeFile, ConvergeResult]
    id: str
    run_id: str
    organization: str
    file_hash: str
    joined: bool

    async def result(self) -> ConvergeResult:
        """Wait for it to end; return every shard's result.

        Raises:
            WorkflowFailureError: It failed (its cause says which shards and why).
        """
        return await self.handle.result()


async def start_converge(client: Client, job: ConvergeInput, *, task_queue: str) -> Convergence:
    """Start converging ``job``, or join the organization's convergence of it already running.

    A worker on ``task_queue`` names the organization from its keys and
    starts the convergence under the organization's one workflow id
    (:func:`workflow_id`); so returns once a worker has taken the start.

    Raises:
        OrganizationBusyError: The organization is converging another file
            (or the same with other options) now; the message names it.
    """
    try:
        started = await client.execute_workflow(
            StartConvergence.run,
            job,
            id=f"canvas-start/{uuid.uuid4()}",
            task_queue=task_queue,
        )
    except WorkflowFailureError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == BUSY_ERROR:
            raise OrganizationBusyError(cause.message) from None
        raise
    handle = client.get_workflow_handle_for(
        ConvergeFile.run, started.workflow_id, run_id=started.run_id
    )
    # Its other fields are the start's, in the same order.
    return Convergence(handle, *dataclasses.astuple(started))


def schedule_id(task_queue: str) -> str:
    """The id of the daily convergence scheduled on ``task_queue`` (one per queue)."""
    return f"canvas-converge/{_slug(task_queue)}"


async def schedule_converge(
    client: Client, job: ConvergeInput, *, task_queue: str, cron: str
) -> ScheduleHandle:
    """Create (or update) the daily convergence of ``job`` on ``cron``.

    One schedule per task queue (:func:`schedule_id`); the queue's workers'
    keys name the organization. Each scheduled run starts the convergence as
    :func:`start_converge` does: under the organization's one workflow id,
    joining the organization's convergence of the same file if one still
    runs, and refused (that scheduled run fails, naming what runs) if
    another file's does. Each run converges exactly the file hash scheduled:
    change the file, schedule again.
    """
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            StartConvergence.run,
            job,
            # Temporal appends the time to each run's id.
            id=f"canvas-start/{_slug(task_queue)}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[cron]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    name = schedule_id(task_queue)
    try:
        return await client.create_schedule(name, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(name)
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))
        return handle
