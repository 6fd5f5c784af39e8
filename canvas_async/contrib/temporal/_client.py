"""Connect to Temporal, run a worker, start a convergence or schedule a daily one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

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
    ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from canvas_async._errors import ValidationError
from canvas_async.provision.shard import load_bytes

from ._activities import converge_shard, read_file
from ._workflow import ConvergeFile, ConvergeInput, ConvergeResult

__all__ = [
    "DEFAULT_ADDRESS",
    "connect",
    "pinned_input",
    "schedule_converge",
    "start_converge",
    "worker",
    "workflow_id",
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
    heartbeat_throttle: timedelta = timedelta(seconds=1),
) -> Worker:
    """Return a worker that runs the converge workflow and shard activities on ``task_queue``.

    Args:
        client: Connected to Temporal.
        task_queue: Where the workflow's activities are queued.
        max_concurrent_activities: Shards this worker converges at once.
        heartbeat_throttle: Most often a heartbeat is sent; a cancelled attempt
            learns it from a heartbeat's answer, so this bounds how long it
            may write after being cancelled (Temporal's default is up to 60 s).
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ConvergeFile],
        activities=[converge_shard],
        max_concurrent_activities=max_concurrent_activities,
        default_heartbeat_throttle_interval=heartbeat_throttle,
        max_heartbeat_throttle_interval=heartbeat_throttle,
        # The workflow module imports only the standard library and temporalio;
        # canvas_async's own modules are shared with the sandbox, not reloaded.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("canvas_async")
        ),
    )


def workflow_id(organization: str, file_hash: str) -> str:
    """The id of the one convergence of ``file_hash`` for ``organization`` at a time."""
    return f"canvas-converge/{_slug(organization)}/{file_hash}"


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-")
    if not slug:
        raise ValidationError(f"an organization name needs letters or digits, not {text!r}")
    return slug


async def pinned_input(
    reference: str,
    *,
    shards: int,
    organization: str,
    **options: Any,
) -> ConvergeInput:
    """Read the file once here, refuse it if invalid, and return the job pinning its hash.

    Raises:
        DesiredStateError: The file is invalid (nothing is started).
    """
    state = load_bytes(await read_file(reference), source=reference)
    assert state.digest is not None
    _slug(organization)
    return ConvergeInput(reference, state.digest, shards, organization, **options)


async def start_converge(
    client: Client, job: ConvergeInput, *, task_queue: str
) -> WorkflowHandle[ConvergeFile, ConvergeResult]:
    """Start converging ``job``, or attach to its convergence already running.

    The workflow id is one per (organization, file hash): a second start of
    the same file for the same organization, from anywhere, joins the running
    one instead of converging the same accounts beside it.
    """
    return await client.start_workflow(
        ConvergeFile.run,
        job,
        id=workflow_id(job.organization, job.file_hash),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def schedule_converge(
    client: Client, job: ConvergeInput, *, task_queue: str, cron: str
) -> ScheduleHandle:
    """Create (or update) the organization's daily convergence of ``job`` on ``cron``.

    One schedule per organization (``canvas-converge/<organization>``); a
    run still going when the next is due makes that one skip (no overlap).
    Each run converges exactly the file hash scheduled: change the file,
    schedule again.
    """
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ConvergeFile.run,
            job,
            id=workflow_id(job.organization, job.file_hash),
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[cron]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    schedule_id = f"canvas-converge/{_slug(job.organization)}"
    try:
        return await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(schedule_id)

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
        return handle
