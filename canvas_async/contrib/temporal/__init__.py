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

# Each module's __all__ names its public names; the package's is theirs together.
from . import _activities, _client, _lease, _workflow
from ._activities import *  # noqa: F403
from ._client import *  # noqa: F403
from ._lease import *  # noqa: F403
from ._workflow import *  # noqa: F403

__all__ = _activities.__all__ + _client.__all__ + _lease.__all__ + _workflow.__all__
