"""Converge a desired-state file on Temporal: one activity per shard (``canvas-async[temporal]``).

::

    client = await temporal.connect()            # TEMPORAL_ADDRESS, _NAMESPACE, TLS...
    job = await temporal.pinned_input("s3-synced/accounts.toml", shards=8, organization="acme")
    handle = await temporal.start_converge(client, job, task_queue="canvas")
    result = await handle.result()

Run workers with ``canvas-async temporal worker --task-queue canvas`` where
the Canvas keys and the file's credentials are in the environment. See the
README's "Running past one machine".
"""

from __future__ import annotations

from ._activities import ActivityLease, converge_shard, read_file
from ._client import (
    DEFAULT_ADDRESS,
    connect,
    pinned_input,
    schedule_converge,
    start_converge,
    worker,
    workflow_id,
)
from ._workflow import (
    ACTIVITY_NAME,
    PERMANENT_ERRORS,
    WORKFLOW_NAME,
    ConvergeFile,
    ConvergeInput,
    ConvergeResult,
    ShardInput,
    ShardResult,
)

__all__ = [
    "ACTIVITY_NAME",
    "DEFAULT_ADDRESS",
    "PERMANENT_ERRORS",
    "WORKFLOW_NAME",
    "ActivityLease",
    "ConvergeFile",
    "ConvergeInput",
    "ConvergeResult",
    "ShardInput",
    "ShardResult",
    "connect",
    "converge_shard",
    "pinned_input",
    "read_file",
    "schedule_converge",
    "start_converge",
    "worker",
    "workflow_id",
]
