"""The shard activity: converge one shard of a file, heartbeating per account.

It runs ordinary :func:`canvas_async.provision.apply` on the shard, with the
client's keys from the worker's own environment (``CANVAS_ENV``,
``CANVAS_CONSUMER`` and ``CANVAS_SECRET_KEY`` or their ``_FILE`` variants, as
for ``Canvas()``, and ``CANVAS_AUTH``) and the file's ``${NAME}`` credentials
from the same place: nothing secret ever goes through Temporal.

No two attempts of a shard write at once: every request is sent through a
session that first checks that this attempt is still the live one
(:class:`ActivityLease`); once Temporal has given up on it (its heartbeats
stopped arriving, or the workflow was cancelled) the next heartbeat cancels
the attempt and it stops before its next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Final

import aiohttp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from canvas_async import provision
from canvas_async._client import Canvas
from canvas_async._config import (
    AUTH_MODES,
    AUTH_VAR,
    CONSUMER_VAR,
    SECRET_KEY_VAR,
    env_from_environ,
    read_key_variable,
)
from canvas_async._errors import ValidationError
from canvas_async.bulk import Progress
from canvas_async.provision.lease import LeaseLostError, guarded_session
from canvas_async.provision.shard import Shard, load_bytes

from ._workflow import ACTIVITY_NAME, ShardInput, ShardResult

__all__ = ["ActivityLease", "converge_shard", "read_file"]

#: Seconds between heartbeats while no account finishes.
BEAT_SECONDS: Final = 1.0


class ActivityLease:
    """The lease of a shard on Temporal: this attempt is live until Temporal gives up on it.

    Temporal runs one attempt of an activity at a time, as far as it knows; an
    attempt it has given up on (cancelled, or silent past the heartbeat
    timeout) may still be running, so :meth:`check` refuses once either is
    true here: cancelled, or no heartbeat for ``heartbeat_timeout`` seconds
    (by then Temporal may have started the next attempt).
    """

    name = "temporal-activity"
    request_timeout = None

    def __init__(self, heartbeat_timeout: float | None) -> None:
        self.heartbeat_timeout = heartbeat_timeout
        self._last = time.monotonic()

    def beat(self, *details: object) -> None:
        """Heartbeat to Temporal, and remember when."""
        self._last = time.monotonic()
        activity.heartbeat(*details)

    async def acquire(self, *, wait: float | None = None) -> None:
        """Held from the attempt's start."""
        self.beat()

    async def check(self) -> None:
        """Raise :class:`LeaseLostError` once the attempt is cancelled or has gone silent."""
        if activity.is_cancelled() or activity.is_worker_shutdown():
            raise LeaseLostError(f"{activity.info().activity_id}: this attempt was cancelled")
        silent = time.monotonic() - self._last
        if self.heartbeat_timeout is not None and silent > self.heartbeat_timeout:
            raise LeaseLostError(
                f"{activity.info().activity_id}: no heartbeat for {silent:.0f} s; "
                "another attempt may have started"
            )

    async def release(self) -> None:
        """Nothing to give back."""


async def read_file(reference: str) -> bytes:
    """Read the desired-state file by reference: a local path or an ``http(s)://`` URL.

    Raises:
        OSError: It cannot be read or fetched.
    """
    if reference.startswith(("http://", "https://")):
        try:
            async with (
                aiohttp.ClientSession(raise_for_status=True) as session,
                session.get(reference) as answer,
            ):
                return await answer.read()
        except aiohttp.ClientError as exc:
            raise OSError(f"cannot fetch {reference}: {exc}") from None
    with open(reference, "rb") as file:  # noqa: ASYNC230 - a small local file, read once
        return file.read()


@contextlib.asynccontextmanager
async def _canvas(session: aiohttp.ClientSession) -> AsyncIterator[Canvas]:
    # Missing or unreadable keys are this worker's fault; another may be
    # configured right, so Temporal retries (a ValidationError would reach
    # converge_shard's handler and stop the shard for good).
    try:
        consumer = read_key_variable(CONSUMER_VAR, "consumer key")
        secret_key = read_key_variable(SECRET_KEY_VAR, "secret key")
    except ValidationError as exc:
        raise ApplicationError(str(exc), type="MissingKeys") from None
    if consumer is None or secret_key is None:
        raise ApplicationError(
            f"this worker has no Canvas keys: set {CONSUMER_VAR} and {SECRET_KEY_VAR} "
            "(or their _FILE variants)",
            type="MissingKeys",
        )
    # As for the command line: auto unless pinned. Each attempt's client holds
    # its own token pair and revokes it when the attempt ends, however it ends.
    auth = os.environ.get(AUTH_VAR, "").strip().casefold() or "auto"
    if auth not in AUTH_MODES:
        raise ApplicationError(
            f"{AUTH_VAR} must be keys, token or auto", type="BadAuthMode", non_retryable=True
        )
    async with Canvas(
        consumer=consumer,
        secret_key=secret_key,
        env=env_from_environ(),
        auth=auth,
        session=session,
    ) as c:
        yield c


@activity.defn(name=ACTIVITY_NAME)
async def converge_shard(job: ShardInput) -> ShardResult:
    """Converge shard ``job.index`` of ``job.count``; heartbeat after every account.

    Raises:
        ApplicationError: Non-retryable (typed by the error's class) for an
            invalid or changed file; retryable when some account did not
            converge, so that Temporal runs the shard again.
    """
    timeout = activity.info().heartbeat_timeout
    lease = ActivityLease(timeout.total_seconds() if timeout else None)
    await lease.acquire()
    try:
        state = load_bytes(await read_file(job.file), source=job.file, expect_hash=job.file_hash)
        shard = Shard(job.index, job.count)
    except ValidationError as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
    except OSError as exc:  # unreadable here; maybe not on another worker
        raise ApplicationError(f"cannot read {job.file}: {exc}", type="FileUnreadable") from None

    finished = 0

    def heartbeat(progress: Progress) -> None:
        nonlocal finished
        finished = progress.finished
        lease.beat(finished)

    async def keep_beating() -> None:
        # Between accounts too: Temporal answers a heartbeat with the news
        # that the attempt is cancelled, and only then can it stop.
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            lease.beat(finished)

    ticker = asyncio.create_task(keep_beating())
    try:
        async with guarded_session(lease) as session, _canvas(session) as canvas:
            report = await provision.apply(
                canvas,
                state,
                shard=shard,
                replace=job.replace,
                prune=job.prune,
                on_progress=heartbeat,
            )
    except ValidationError as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
    finally:
        ticker.cancel()
    if activity.is_cancelled():  # the run stopped early because it was told to
        raise asyncio.CancelledError
    if not report.ok:
        raise ApplicationError(f"shard {shard}: {report.summary_line()}", type="ShardNotConverged")
    return ShardResult(
        str(shard), str(state.digest), len(report.accounts), report.summary()["changes"]
    )
