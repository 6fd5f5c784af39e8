"""The converge workflow: one activity per shard, retried by Temporal.

This module runs in Temporal's workflow sandbox: it imports nothing but the
standard library and ``temporalio.workflow``, and names its activity by its
registered name. What moves through Temporal is small: the file's reference
(path or URL), its content hash and the shard numbers, never the desired
state itself (payloads are limited in size) and never a credential (workers
read theirs from their own environment).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ActivityCancellationType

__all__ = [
    "ACTIVITY_NAME",
    "PERMANENT_ERRORS",
    "WORKFLOW_NAME",
    "ConvergeFile",
    "ConvergeInput",
    "ConvergeResult",
    "ShardInput",
    "ShardResult",
]

WORKFLOW_NAME: Final = "CanvasConvergeFile"
ACTIVITY_NAME: Final = "canvas-converge-shard"
#: Failures no retry can mend: the file is invalid, or not the one started for.
PERMANENT_ERRORS: Final = (
    "FileHashMismatchError",
    "DesiredStateError",
    "MissingEnvironmentError",
    "ShardError",
)


@dataclasses.dataclass(frozen=True)
class ConvergeInput:
    """What one convergence of a file needs.

    Attributes:
        file: Where every worker reads the file: a path they all see, or an
            ``http(s)://`` URL.
        file_hash: Its content hash (``sha256:<hex>``); a worker reading other
            bytes refuses them, so every shard converges the same target.
        shards: How many activities split the accounts.
        organization: Whose accounts (part of the workflow id).
        replace: ``apply --replace``.
        prune: ``apply --prune``.
        heartbeat_timeout: Seconds without a heartbeat (one per account) after
            which an attempt is presumed lost and the shard retried elsewhere.
        shard_timeout: Seconds one attempt of a shard may take.
        maximum_attempts: Attempts per shard (0: unlimited).
    """

    file: str
    file_hash: str
    shards: int
    organization: str
    replace: bool = False
    prune: bool = False
    heartbeat_timeout: float = 60.0
    shard_timeout: float = 3600.0
    maximum_attempts: int = 5


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
    """What one shard's converging attempt did."""

    shard: str
    file_hash: str
    accounts: int
    changes: int


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
        """Changes made by the attempts that succeeded."""
        return sum(s.changes for s in self.shards)


@workflow.defn(name=WORKFLOW_NAME)
class ConvergeFile:
    """Converge every shard of a file, each as one retried activity."""

    @workflow.run
    async def run(self, job: ConvergeInput) -> ConvergeResult:
        """Run the shards at once; fail, naming them, if any failed for good."""
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(minutes=2),
            maximum_attempts=job.maximum_attempts,
            non_retryable_error_types=list(PERMANENT_ERRORS),
        )
        runs = [
            workflow.execute_activity(
                ACTIVITY_NAME,
                ShardInput(job.file, job.file_hash, index, job.shards, job.replace, job.prune),
                result_type=ShardResult,
                activity_id=f"shard-{index}-of-{job.shards}",
                start_to_close_timeout=timedelta(seconds=job.shard_timeout),
                heartbeat_timeout=timedelta(seconds=job.heartbeat_timeout),
                retry_policy=retry,
                # A cancelled workflow ends once its shards have stopped writing.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            for index in range(job.shards)
        ]
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
        failed = [
            # An activity's error says "Activity task failed"; its cause says why.
            f"shard {index}/{job.shards}: {outcome.__cause__ or outcome}"
            for index, outcome in enumerate(outcomes)
            if isinstance(outcome, BaseException)
        ]
        for outcome in outcomes:
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
        if failed:
            raise ApplicationError(
                f"{len(failed)} of {job.shards} shards failed: " + "; ".join(failed),
                type="ShardsFailed",
                non_retryable=True,
            )
        results = [o for o in outcomes if isinstance(o, ShardResult)]
        return ConvergeResult(job.file_hash, results)
