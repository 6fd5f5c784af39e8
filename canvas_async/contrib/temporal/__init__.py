"""Converge a desired-state file on Temporal: one activity per shard (``canvas-async[temporal]``).

::

    client = await temporal.connect()            # TEMPORAL_ADDRESS, _NAMESPACE, TLS...
    job = await temporal.pinned_input("/srv/canvas/accounts.toml", shards=8)
    convergence = await temporal.start_converge(client, job, task_queue="canvas")
    result = await convergence.result()

Run workers with ``canvas-async temporal worker --task-queue canvas`` where
the Canvas keys and the file's credentials are in the environment; the keys
name the organization, and one convergence per organization runs at a time
(workflow id ``canvas-converge/<organization>``). Each shard attempt sends
only while Temporal confirms its heartbeats (:class:`HeartbeatLease`). See
the README's "Running past one machine".
"""

from __future__ import annotations

from . import _workflow
from ._activities import converge_shard, read_file, start_convergence
from ._client import (
    DEFAULT_ADDRESS,
    Convergence,
    OrganizationBusyError,
    connect,
    pinned_input,
    schedule_converge,
    schedule_id,
    start_converge,
    worker,
)
from ._lease import (
    MIN_HEARTBEAT_TIMEOUT,
    Beat,
    HeartbeatLease,
    check_heartbeat_timeout,
    heartbeat_margin,
)
from ._workflow import *  # noqa: F403 - the names its __all__ lists, added to ours below

__all__ = [
    "DEFAULT_ADDRESS",
    "MIN_HEARTBEAT_TIMEOUT",
    "Beat",
    "Convergence",
    "HeartbeatLease",
    "OrganizationBusyError",
    "check_heartbeat_timeout",
    "connect",
    "converge_shard",
    "heartbeat_margin",
    "pinned_input",
    "read_file",
    "schedule_converge",
    "schedule_id",
    "start_converge",
    "start_convergence",
    "worker",
]
__all__ += _workflow.__all__
