"""The workflows: one convergence per organization, one activity per shard, retried by Temporal.

This module runs in Temporal's workflow sandbox: it imports nothing but the
standard library and ``temporalio``, and names its activities by their
registered names. What moves through Temporal is small: the file's reference
(path or URL), its content hash and the shard numbers, never the desired
state itself (payloads are limited in size) and never a credential (workers
read theirs from their own environment).

Every convergence starts through :class:`StartConvergence`, whatever starts
it (``temporal apply``, a Schedule): its one activity runs on a worker, names
the organization from that worker's keys and starts, or joins,
:class:`ConvergeFile` under the organization's one workflow id
(:func:`workflow_id`). Temporal runs one workflow per id at a time, so two
convergences of one organization never run at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError
from temporalio.workflow import ActivityCancellationType

__all__ = [
    "ACTIVITY_NAME",
    "PERMANENT_ERRORS",
    "START_ACTIVITY_NAME",
    "START_WORKFLOW_NAME",
    "WORKFLOW_NAME",
    "ConvergeFile",
    "ConvergeInput",
    "ConvergeResult",
    "ConvergeStarted",
    "ShardInput",
    "ShardResult",
    "StartConvergence",
    "workflow_id",
]

WORKFLOW_NAME: Final = "CanvasConvergeFile"
START_WORKFLOW_NAME: Final = "CanvasStartConvergence"
ACTIVITY_NAME: Final = "canvas-converge-shard"
START_ACTIVITY_NAME: Final = "canvas-start-convergence"
#: The error type of a start refused because the organization converges another file.
BUSY_ERROR: Final = "OrganizationBusy"
#: Failures no retry can mend: the file is invalid, or not the one started for,
#: or its accounts differ in ways applying again will not fix.
PERMANENT_ERRORS: Final = (
    "FileHashMismatchError",
    "DesiredStateError",
    "MissingEnvironmentError",
    "ShardError",
    "ShardUnfixable",
    "BadHeartbeatTimeout",
    BUSY_ERROR,
)


def workflow_id(organization: str) -> str:
    """The id of an organization's convergence: one runs at a time, whatever started it.

    Args:
        organization: The organization's key (``Canvas.organization``), as
            the workers' keys name it.
    """
    return f"canvas-converge/{organization}"


@dataclasses.dataclass(frozen=True)
class ConvergeInput:
    """What one convergence of a file needs.

    Attributes:
        file: Where every worker reads the file: an absolute path they all
            see, or an ``http(s)://`` URL.
        file_hash: Its content hash (``sha256:<hex>``); a worker reading other
            bytes refuses them, so every shard converges the same target.
        shards: How many activities split the accounts.
        organization: The organization's key; empty until the start activity
            sets it from the worker's keys.
        replace: ``apply --replace``.
        prune: ``apply --prune``.
        heartbeat_timeout: Seconds without a heartbeat after which Temporal
            presumes an attempt lost and retries the shard elsewhere; the
            attempt stops sending before that (see ``HeartbeatLease``).
        shard_deadline: Seconds a shard is retried for, over all its attempts
            (as many as fit), before the convergence fails.
    """

    file: str
    file_hash: str
    shards: int
    organization: str = ""
    replace: bool = False
    prune: bool = False
    heartbeat_timeout: float = 60.0
    shard_deadline: float = 6 * 3600.0


@dataclasses.dataclass(frozen=True)
class ShardInput:
    """One activity's work: shard ``index`` of ``count`` of the file."""

    file: str
    file_hash: str
    index: int
    count: int
    replace: bool = False
    prune: bool = False


@dataclasses.dataclass(frozen=True)
class ShardResult:
    """What converging one shard did, over all its attempts.

    Attributes:
        shard: The shard (``I/N``).
        file_hash: The file it converged.
        accounts: Its accounts.
        changes: Changes made by every attempt of the shard, each counted
            once: the attempt that succeeded counts on from what the last
            heartbeat Temporal recorded of the attempt before said. Exact
            when ``attempts`` is 1; after a retry a lower bound, short of
            what an attempt made after its last recorded heartbeat.
        attempts: The attempt that succeeded (1 when none was retried).
    """

    shard: str
    file_hash: str
    accounts: int
    changes: int
    attempts: int = 1


@dataclasses.dataclass(frozen=True)
class ConvergeResult:
    """Every shard's result."""

    file_hash: str
    shards: list[ShardResult]

    @property
    def accounts(self) -> int:
        """Accounts converged."""
        return sum(s.accounts for s in self.shards)

    @property
    def changes(self) -> int:
        """Changes made by every shard attempt (see :attr:`ShardResult.changes`)."""
        return sum(s.changes for s in self.shards)

    @property
    def changes_exact(self) -> bool:
        """Whether :attr:`changes` is exact: no shard ran more than once.

        Otherwise it is a lower bound: what a cut-off attempt made after its
        last heartbeat Temporal recorded is not counted.
        """
        return all(s.attempts == 1 for s in self.shards)


@dataclasses.dataclass(frozen=True)
class ConvergeStarted:
    """The organization's convergence a start led to.

    Attributes:
        workflow_id: Its id (:func:`workflow_id`).
        run_id: Its run.
        organization: The organization's key.
        file_hash: The file it converges.
        joined: It was running already (same file and options), started by
            someone else; this start waits for it instead of running beside it.
    """

    workflow_id: str
    run_id: str
    organization: str
    file_hash: str
    joined: bool


@workflow.defn(name=START_WORKFLOW_NAME)
class StartConvergence:
    """Start or join the organization's convergence; what a Schedule and ``temporal apply`` run.

    A Schedule appends a timestamp to the ids of the workflows it starts, so
    it cannot start :class:`ConvergeFile` under the organization's fixed id
    itself: it starts this, whose activity does.
    """

    @workflow.run
    async def run(self, job: ConvergeInput) -> ConvergeStarted:
        """Run the start activity on any worker; fail for good if the organization is busy."""
        try:
            started: ConvergeStarted = await workflow.execute_activity(
                START_ACTIVITY_NAME,
                job,
                result_type=ConvergeStarted,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(hours=1),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(seconds=30),
                    maximum_attempts=0,
                    non_retryable_error_types=list(PERMANENT_ERRORS),
                ),
            )
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):  # say why, not "activity task failed"
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
            raise
        return started


@workflow.defn(name=WORKFLOW_NAME)
class ConvergeFile:
    """Converge every shard of a file, each as one activity retried until its deadline."""

    @workflow.run
    async def run(self, job: ConvergeInput) -> ConvergeResult:
        """Run the shards at once; fail, naming them, if any failed for good."""
        # As many attempts as fit in the deadline: an outage of Canvas or of
        # a worker is ridden out, not counted against a few tries.
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(minutes=1),
            maximum_attempts=0,
            non_retryable_error_types=list(PERMANENT_ERRORS),
        )
        heartbeat = timedelta(seconds=job.heartbeat_timeout)
        runs = [
            workflow.execute_activity(
                ACTIVITY_NAME,
                ShardInput(job.file, job.file_hash, index, job.shards, job.replace, job.prune),
                result_type=ShardResult,
                activity_id=f"shard-{index}-of-{job.shards}",
                schedule_to_close_timeout=timedelta(seconds=job.shard_deadline),
                heartbeat_timeout=heartbeat,
                retry_policy=retry,
                # A cancelled workflow ends once its shards have stopped writing.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            for index in range(job.shards)
        ]
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
        failed = [
            # An activity's error says "Activity task failed"; its cause says why.
            f"shard {index}/{job.shards}: {outcome.__cause__ or outcome}"
            for index, outcome in enumerate(outcomes)
            if isinstance(outcome, BaseException)
        ]
        if any(_timed_out(o) for o in outcomes):
            # A shard that ran out of time may have an attempt still sending
            # (Temporal gave up on it, it has not heard yet): the organization
            # is free for another convergence only once that attempt has seen
            # its lease lost or let it run out, within one heartbeat timeout.
            await workflow.sleep(heartbeat)
        if failed:
            raise ApplicationError(
                f"{len(failed)} of {job.shards} shards failed: " + "; ".join(failed),
                type="ShardsFailed",
                non_retryable=True,
            )
        results = [o for o in outcomes if isinstance(o, ShardResult)]
        return ConvergeResult(job.file_hash, results)


def _timed_out(outcome: object) -> bool:
    return isinstance(outcome, ActivityError) and isinstance(outcome.cause, ActivityTimeoutError)
