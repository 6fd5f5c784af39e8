"""A shard attempt's lease on Temporal: held while the server confirms its heartbeats.

Temporal runs one attempt of a shard at a time as far as it knows: it gives
up on an attempt whose heartbeats stop arriving for the heartbeat timeout and
starts the next one elsewhere, whether or not the first has stopped. A
heartbeat that left this process proves nothing (the Python SDK's
``activity.heartbeat()`` never fails, and news of cancellation only comes
with a heartbeat's answer), so :class:`HeartbeatLease` counts only the
heartbeats the server *holds*: each carries ``(attempt, sequence number)``,
the moment it was handed to the SDK is remembered, and about once a second
the attempt reads its own pending activity back from Temporal (the worker's
client, its own short timeout). The newest sequence number found there
confirms the moment it was sent (:meth:`Fence.confirm`); a higher attempt
number, a cancellation or no such pending activity loses the lease for good.

The :class:`~canvas_async.provision.lease.Fence` then refuses every request
once the newest confirmed heartbeat was sent ``heartbeat_timeout - margin``
ago: the server cannot have given up on the attempt before
``heartbeat_timeout`` after that send, and every request times out within the
margin. Reading the fence never waits on the network, so a worker resumed
after a pause (SIGSTOP, a frozen VM) or cut off from Temporal (refused or
hanging) stops before its next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Final, NamedTuple

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from canvas_async._errors import ValidationError
from canvas_async.provision.lease import Fence, LeaseLostError

__all__ = [
    "MIN_HEARTBEAT_TIMEOUT",
    "Beat",
    "HeartbeatLease",
    "check_heartbeat_timeout",
    "heartbeat_margin",
]

#: The shortest margin: longer than a request to Canvas may take under the lease.
MIN_MARGIN: Final = 2.0
#: The shortest heartbeat timeout that leaves a few heartbeats' time to send in.
MIN_HEARTBEAT_TIMEOUT: Final = 5.0
#: Most seconds between heartbeats, and between reads of what Temporal holds.
BEAT_SECONDS: Final = 1.0

#: Answers that another read will not change (the rest may pass: unavailable, timed out...).
_REFUSED: Final = frozenset(
    {
        RPCStatusCode.PERMISSION_DENIED,
        RPCStatusCode.UNAUTHENTICATED,
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.UNIMPLEMENTED,
    }
)

log = logging.getLogger("canvas_async.contrib.temporal")


def heartbeat_margin(heartbeat_timeout: float) -> float:
    """Seconds before the heartbeat timeout at which an attempt stops sending.

    Also the longest a request sent under the lease may take (the Canvas
    client's timeout is capped to it).
    """
    return max(MIN_MARGIN, heartbeat_timeout / 3)


def check_heartbeat_timeout(seconds: float) -> float:
    """Return ``seconds`` if a shard's lease can be held on it.

    Raises:
        ValidationError: Shorter than :data:`MIN_HEARTBEAT_TIMEOUT`, or not finite.
    """
    if not (math.isfinite(seconds) and seconds >= MIN_HEARTBEAT_TIMEOUT):
        raise ValidationError(
            f"a heartbeat timeout must be at least {MIN_HEARTBEAT_TIMEOUT:g} s, not {seconds:g}: "
            f"an attempt stops sending {MIN_MARGIN:g} s (or a third of it) before Temporal may "
            "retry its shard, and needs a few heartbeats' time to send in"
        )
    return seconds


class Beat(NamedTuple):
    """What one heartbeat of a shard attempt carries, in this order.

    Temporal keeps the last details it recorded after the attempt ends, and
    hands them to the next attempt (``activity.info().heartbeat_details``):
    :attr:`changes` counts on from there, so the shard's count includes
    every attempt's changes up to its last heartbeat Temporal recorded.

    Attributes:
        attempt: The attempt that sent it.
        sequence: Its number within the attempt (the lease's read-back).
        finished: Accounts the attempt has finished.
        changes: Changes made by the shard so far: this attempt's, plus what
            the heartbeats of the attempts before it carried.
    """

    attempt: int
    sequence: int
    finished: int = 0
    changes: int = 0

    @classmethod
    def read(cls, details: Sequence[object]) -> Beat | None:
        """Return the heartbeat ``details`` hold, or None if they hold none.

        Numbers a heartbeat lacks (one sent before they were carried) are 0.
        """
        numbers = [d if isinstance(d, int) and not isinstance(d, bool) else None for d in details]
        if len(numbers) < 2 or numbers[0] is None or numbers[1] is None:
            return None
        return cls(*(n or 0 for n in numbers[: len(cls._fields)]))


class HeartbeatLease:
    """The lease of one shard attempt, held while Temporal confirms its heartbeats.

    A :class:`~canvas_async.provision.lease.Lease`: :meth:`acquire` starts
    heartbeating and returns once the server holds a heartbeat; :meth:`check`
    reads the fence; :meth:`release` stops both loops.

    Args:
        info: The attempt (``activity.info()``).
        client: Where to read it back (default: the worker's, ``activity.client()``).
        progress: Accounts finished and changes made by this attempt so far,
            for each heartbeat (:class:`Beat`).
        fenced: False only for tests that show what the fence prevents: the
            attempt then heartbeats, reads nothing back and stops only once
            told it is cancelled (what the SDK alone offers).
    """

    def __init__(
        self,
        info: activity.Info,
        client: Client | None = None,
        *,
        progress: Callable[[], tuple[int, int]] = lambda: (0, 0),
        fenced: bool = True,
    ) -> None:
        timeout = info.heartbeat_timeout
        seconds = check_heartbeat_timeout(timeout.total_seconds()) if timeout else None
        if fenced and (seconds is None or not info.workflow_run_id):
            raise ValidationError(
                "a shard's lease needs a heartbeat timeout and a workflow run to read back"
            )
        self._client = activity.client() if fenced and client is None else client
        self._info = info
        self._progress = progress
        earlier = Beat.read(info.heartbeat_details)
        #: Changes the attempts before this one made, as their last recorded heartbeat says.
        self.earlier_changes = 0 if earlier is None else earlier.changes
        #: None when not fenced (tests only).
        self.fence: Fence | None = None
        self.interval = BEAT_SECONDS
        self.read_timeout = 0.0
        if fenced and seconds is not None:
            margin = heartbeat_margin(seconds)
            self.fence = Fence(self.name, seconds, margin)
            #: Between heartbeats, and between reads: a few of each fit in what the fence allows.
            self.interval = min(BEAT_SECONDS, (seconds - margin) / 4)
            #: How long one read of the pending activity may take.
            self.read_timeout = min(5.0, (seconds - margin) / 2)
        self._sent: dict[int, float] = {}
        self._sequence = 0
        self._gone: str | None = None
        #: Why this attempt stopped sending, once it has.
        self.lost: str | None = None
        self._heard = asyncio.Event()  # a first confirmation, or the lease lost
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def name(self) -> str:
        """The lease, as messages name it."""
        info = self._info
        return f"{info.activity_id} attempt {info.attempt} of {info.workflow_id}"

    @property
    def request_timeout(self) -> float | None:
        """The margin: a request sent in time ends before Temporal may retry the shard."""
        return None if self.fence is None else self.fence.margin

    def changes(self, made: int) -> int:
        """Return the shard's changes: ``made`` by this attempt, plus the earlier attempts'.

        Exact unless an earlier attempt made changes after its last heartbeat
        Temporal recorded (it died, or lost its lease, just after): those are
        missing, so after a retry the count is a lower bound.
        """
        return self.earlier_changes + made

    def beat(self) -> None:
        """Heartbeat a :class:`Beat`, remembering when it was sent."""
        self._sequence += 1
        self._sent[self._sequence] = time.monotonic()
        finished, made = self._progress()
        activity.heartbeat(*Beat(self._info.attempt, self._sequence, finished, self.changes(made)))

    async def acquire(self, *, wait: float | None = None) -> None:
        """Start heartbeating; return once Temporal holds a heartbeat of this attempt.

        Args:
            wait: Seconds to wait for that (default: what the fence allows).

        Raises:
            LeaseLostError: Temporal holds none in time, or runs another attempt.
        """
        self.beat()
        self._tasks.append(asyncio.create_task(self._beating(), name=f"{self.name}: heartbeats"))
        if self.fence is None:
            return
        self._tasks.append(asyncio.create_task(self._reading(), name=f"{self.name}: reads"))
        limit = self.fence.duration - self.fence.margin if wait is None else wait
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._heard.wait(), limit)
        await self.check()

    async def check(self) -> float | None:
        """Raise :class:`LeaseLostError` unless this attempt may still send (no network).

        Returns the last moment to send by, or None when not fenced.
        """
        try:
            if activity.is_cancelled():
                raise LeaseLostError(f"{self.name} was cancelled")
            if self.fence is None:
                return None
            if self._gone is not None:
                raise LeaseLostError(f"{self.name}: {self._gone}")
            return self.fence.check()
        except LeaseLostError as exc:
            if self.lost is None:  # once: the moment this attempt stopped sending
                self.lost = str(exc)
                log.warning("stopped sending: %s", exc)
            raise

    async def release(self) -> None:
        """Stop heartbeating and reading; heartbeat the final count once more.

        That last heartbeat is for the next attempt, should this one fail:
        Temporal keeps it if it still runs this attempt (and refuses it if not).
        """
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if tasks:
            self.beat()

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.beat()

    async def _reading(self) -> None:
        while self._gone is None:
            started = time.monotonic()
            try:
                pending = await asyncio.wait_for(self._read(), self.read_timeout + 1.0)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    self._lose("its workflow run is gone")
                elif exc.status in _REFUSED:
                    self._lose(f"Temporal refuses to show it its own activity: {exc}")
                # Otherwise out of reach for now: nothing confirmed, the fence runs down.
            except TimeoutError:
                pass  # no answer in time: as above
            else:
                try:
                    await self._learn(pending)
                except Exception as exc:  # details it cannot decode (a codec?): say so, stop
                    self._lose(f"cannot read its heartbeats back: {exc!r}")
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def _read(self) -> PendingActivityInfo | None:
        """Return this shard's pending activity as Temporal holds it, or None if it has none."""
        assert self._client is not None
        info = self._info
        request = DescribeWorkflowExecutionRequest(
            namespace=info.workflow_namespace or info.namespace,
            execution=WorkflowExecution(
                workflow_id=info.workflow_id or "", run_id=info.workflow_run_id or ""
            ),
        )
        # No retries: a read that fails is simply no confirmation; the next comes soon.
        described = await self._client.workflow_service.describe_workflow_execution(
            request, retry=False, timeout=timedelta(seconds=self.read_timeout)
        )
        for pending in described.pending_activities:
            if pending.activity_id == info.activity_id:
                return pending
        return None

    async def _learn(self, pending: PendingActivityInfo | None) -> None:
        """Confirm or lose the lease by what Temporal holds."""
        mine = self._info.attempt
        if pending is None:
            self._lose("Temporal no longer runs it (it ended, or ran out of time)")
        elif pending.attempt != mine:
            self._lose(f"Temporal runs attempt {pending.attempt} of the shard now")
        elif pending.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            state = PendingActivityState.Name(pending.state).removeprefix("PENDING_ACTIVITY_STATE_")
            self._lose(f"Temporal holds it as {state.lower().replace('_', ' ')}")
        elif pending.HasField("heartbeat_details"):
            assert self._client is not None
            details = await self._client.data_converter.decode(pending.heartbeat_details.payloads)
            beat = Beat.read(details)
            # Details outlive an attempt: only this attempt's own count.
            if beat is not None and beat.attempt == mine:
                sent = self._sent.get(beat.sequence)
                if sent is not None and self.fence is not None:
                    self.fence.confirm(sent)
                    self._heard.set()
                    for old in [n for n in self._sent if n < beat.sequence]:
                        del self._sent[old]

    def _lose(self, why: str) -> None:
        """Lose the lease for good: no later answer can confirm it again."""
        self._gone = why
        if self.fence is not None:
            self.fence.lose()
        self._heard.set()
