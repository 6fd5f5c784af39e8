"""Fan out over many managed accounts: one result per account, never one for all.

:func:`for_each_account` runs an async function once per account, each through
its own :meth:`Canvas.for_account <canvas_async.Canvas.for_account>` view, a
bounded number at a time (the client's ``max_concurrency`` unless told), and
returns every result; :func:`each_account` does the same as a :class:`BulkRun`
to iterate as results arrive. The client's own limits (connections, rate) still
apply underneath. Every account gets an :class:`ItemResult`: its
:class:`Status`, the value, or the exception with the API operation and the
caller's :func:`step` that failed.
One account's failure never stops the others unless ``fail_fast`` is asked
for, and leaving early (an exception, a cancellation, a ``break``) cancels and
awaits everything still running.

The idempotent helpers (:func:`ensure_registered`, :func:`ensure_workflow`,
:func:`ensure_schedule`) make a function safe to run again after any failure:
they look before they write, and write as :mod:`canvas_async.provision` does,
through :func:`reconcile_write`, the one write primitive of reconciling: on an
unknown outcome it reads the state back, and sends again only when the write
provably did not take effect.
:func:`requeue` tries a whole item again after a transient failure, within a
:class:`Requeue` budget, until a :class:`Stop` (deadline, signal) says no.
"""

from __future__ import annotations

from ._accounts import each_account, for_each_account
from ._engine import (
    BulkReport,
    BulkRun,
    ItemResult,
    Progress,
    Status,
    StoppedError,
    current_step,
    step,
)
from ._ensure import ensure_registered, ensure_schedule, ensure_workflow
from ._reconcile import (
    DEFAULT_WRITE_ATTEMPTS,
    DOUBTFUL,
    WriteNotDoneError,
    in_flight,
    read_back,
    reconcile_write,
)
from ._requeue import DEFAULT_REQUEUE, Requeue, Stop, requeue, transient

__all__ = [
    "DEFAULT_REQUEUE",
    "DEFAULT_WRITE_ATTEMPTS",
    "DOUBTFUL",
    "BulkReport",
    "BulkRun",
    "ItemResult",
    "Progress",
    "Requeue",
    "Status",
    "Stop",
    "StoppedError",
    "WriteNotDoneError",
    "current_step",
    "each_account",
    "ensure_registered",
    "ensure_schedule",
    "ensure_workflow",
    "for_each_account",
    "in_flight",
    "read_back",
    "reconcile_write",
    "requeue",
    "step",
    "transient",
]
