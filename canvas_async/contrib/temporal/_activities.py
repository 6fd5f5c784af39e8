"""The activities: start an organization's convergence, and converge one shard of it.

Both run on workers, with the client's keys from the worker's own
environment (``CANVAS_ENV``, ``CANVAS_CONSUMER`` and ``CANVAS_SECRET_KEY`` or
their ``_FILE`` variants, as for ``Canvas()``, and ``CANVAS_AUTH``) and the
file's ``${NAME}`` credentials from the same place: nothing secret ever goes
through Temporal. The keys also name the organization
(:func:`~canvas_async._client.organization_key`), and so the convergence's
workflow id: whoever starts a convergence, wherever, it runs under the id of
the organization the workers write to.

A shard runs ordinary :func:`canvas_async.provision.apply` through a session
that checks the attempt's :class:`HeartbeatLease` before every request: an
attempt Temporal may have given up on sends nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any, Final

import aiohttp
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError

from canvas_async import provision
from canvas_async._client import Canvas, organization_key, resolve_base_url
from canvas_async._config import (
    CONSUMER_VAR,
    SECRET_KEY_VAR,
    auth_mode_from,
    env_from_environ,
    read_key_variable,
)
from canvas_async._errors import ValidationError
from canvas_async.bulk import Progress
from canvas_async.provision.lease import LeaseLostError, fenced_timeout, guarded_session
from canvas_async.provision.shard import Shard, load_bytes
from canvas_async.provision.spec import DesiredState

from ._lease import HeartbeatLease, check_heartbeat_timeout, log
from ._workflow import (
    ACTIVITY_NAME,
    BUSY_ERROR,
    START_ACTIVITY_NAME,
    WORKFLOW_NAME,
    ConvergeInput,
    ConvergeStarted,
    ShardInput,
    ShardResult,
    workflow_id,
)

__all__ = ["converge_shard", "read_file", "start_convergence"]

#: For tests only: ``1`` on a worker turns off what keeps two writers off one
#: organization (the heartbeat fence, and one workflow id per organization),
#: so that tests can show what each prevents. Never set it in production.
UNGUARDED_VAR: Final = "CANVAS_TEMPORAL_UNGUARDED"


def _unguarded() -> bool:
    return os.environ.get(UNGUARDED_VAR) == "1"


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


@contextlib.contextmanager
def _failure(kind: str | None = None, *, retryable: bool = False) -> Iterator[None]:
    """Raise a :class:`ValidationError` as a Temporal failure of type ``kind`` (default: its class).

    Args:
        kind: The failure's type, as retry policies name it.
        retryable: Whether another attempt (maybe on another worker) may succeed.
    """
    try:
        yield
    except ValidationError as exc:
        failure = kind or type(exc).__name__
        raise ApplicationError(str(exc), type=failure, non_retryable=not retryable) from None


def _keys() -> tuple[str, str]:
    """This worker's Canvas keys.

    Missing or unreadable keys are this worker's fault; another may be
    configured right, so Temporal retries.
    """
    with _failure("MissingKeys", retryable=True):
        consumer = read_key_variable(CONSUMER_VAR, "consumer key")
        secret_key = read_key_variable(SECRET_KEY_VAR, "secret key")
    if consumer is None or secret_key is None:
        raise ApplicationError(
            f"this worker has no Canvas keys: set {CONSUMER_VAR} and {SECRET_KEY_VAR} "
            "(or their _FILE variants)",
            type="MissingKeys",
        )
    return consumer, secret_key


@activity.defn(name=START_ACTIVITY_NAME)
async def start_convergence(job: ConvergeInput) -> ConvergeStarted:
    """Start the organization's convergence of ``job``, or join it if it runs already.

    The organization is the one this worker's keys act for; the convergence
    runs under its one workflow id. One that runs already is joined when it
    converges the same file (same hash, ``replace`` and ``prune``): two starts
    of one file, from a Schedule and by hand say, make one convergence.

    Raises:
        ApplicationError: ``OrganizationBusy`` (for good) when the
            organization converges another file now, naming that run.
    """
    with _failure("BadHeartbeatTimeout"):
        check_heartbeat_timeout(job.heartbeat_timeout)
    consumer, _ = _keys()
    # The organization this worker's keys act for (as ``Canvas.organization``);
    # a bad CANVAS_ENV is this worker's: another may be right.
    with _failure("BadEnvironment", retryable=True):
        organization = organization_key(resolve_base_url(env_from_environ()), consumer)
    info = activity.info()
    target = workflow_id(organization)
    if _unguarded():  # tests only: one convergence per start, as a Schedule alone would do
        target = f"{target}/{info.workflow_id}"
    client = activity.client()
    started = await client.start_workflow(
        WORKFLOW_NAME,
        dataclasses.replace(job, organization=organization),
        id=target,
        task_queue=info.task_queue,
        # One run per organization at a time: a start while one runs gets
        # that run (and is refused below if it converges something else);
        # once it has ended, a new one may start.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        memo={**_what(job), "started_by": info.workflow_id},
    )
    run_id = started.result_run_id
    assert run_id is not None  # a start always names its run
    described = await client.get_workflow_handle(target, run_id=run_id).describe()
    running: Mapping[str, Any] = await described.memo()
    if {key: running.get(key) for key in _what(job)} != _what(job):
        what = running.get("file_hash") or "another workflow"
        options = [f"--{key}" for key in ("replace", "prune") if running.get(key)]
        raise ApplicationError(
            f"organization {organization} is converging {running.get('file', '?')} ({what}"
            f"{''.join(', ' + o for o in options)}) as workflow {target} (run {run_id}, "
            f"started {described.start_time:%Y-%m-%d %H:%M:%S} UTC); {job.file} "
            f"({job.file_hash}) is not converged beside it: start it again once that run "
            "has ended, or cancel that run",
            type=BUSY_ERROR,
            non_retryable=True,
        )
    joined = running.get("started_by") != info.workflow_id
    return ConvergeStarted(target, run_id, organization, job.file_hash, joined)


def _what(job: ConvergeInput) -> dict[str, Any]:
    """What a convergence does: two starts that agree on this are one convergence."""
    return {
        "file": job.file,
        "file_hash": job.file_hash,
        "replace": job.replace,
        "prune": job.prune,
    }


async def _load(job: ShardInput) -> tuple[DesiredState, Shard]:
    """The shard of the file, or why it cannot be converged."""
    try:
        data = await read_file(job.file)
    except OSError as exc:  # unreadable here; maybe not on another worker
        raise ApplicationError(f"cannot read {job.file}: {exc}", type="FileUnreadable") from None
    with _failure():
        state = load_bytes(data, source=job.file, expect_hash=job.file_hash)
        return state, Shard(job.index, job.count)


@activity.defn(name=ACTIVITY_NAME)
async def converge_shard(job: ShardInput) -> ShardResult:
    """Converge shard ``job.index`` of ``job.count``, sending only while this attempt holds it.

    Raises:
        ApplicationError: Non-retryable (typed by the error's class) for an
            invalid or changed file, or accounts another attempt would not
            fix; retryable when some account did not converge, the lease was
            lost, or this worker cannot converge it (keys, organization), so
            that Temporal runs the shard again until its deadline.
    """
    state, shard = await _load(job)
    keys = _keys()
    with _failure("BadAuthMode"):  # as for the command line: auto unless pinned
        auth = auth_mode_from()[0]
    tally = _Tally()
    info = activity.info()
    with _failure("BadHeartbeatTimeout"):
        # Each heartbeat carries the changes made so far, counted on from the
        # earlier attempts' (see Beat): a retry's result includes theirs.
        lease = HeartbeatLease(
            info, progress=lambda: (tally.finished, tally.made), fenced=not _unguarded()
        )

    outcome = ""
    try:
        # Each attempt's client holds its own token pair (token mode) and
        # revokes it when the attempt ends, however it ends.
        async with (
            guarded_session(lease) as session,
            Canvas(
                consumer=keys[0],
                secret_key=keys[1],
                env=env_from_environ(),
                auth=auth,
                session=session,
                timeout=fenced_timeout(lease),
            ) as canvas,
        ):
            # Refuse to write to another organization than the convergence's id names.
            if lease.fence is not None and info.workflow_id != workflow_id(canvas.organization):
                raise ApplicationError(
                    f"this worker's keys act for organization {canvas.organization}, not the "
                    f"one of {info.workflow_id}: the workers of a task queue need one "
                    "organization's keys",
                    type="WrongOrganization",
                )
            try:
                await lease.acquire()
                report = await provision.apply(
                    canvas,
                    state,
                    shard=shard,
                    replace=job.replace,
                    prune=job.prune,
                    on_progress=tally.account_ended,
                    on_change=tally.change_made,
                )
            finally:
                await lease.release()
        outcome = report.summary_line()
    except ValidationError as exc:
        outcome = str(exc)
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
    except LeaseLostError as exc:
        outcome = str(exc)
        raise ApplicationError(str(exc), type="LeaseLost") from None
    except BaseException as exc:  # cancelled, or a failure of its own: said, then raised
        outcome = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, asyncio.CancelledError):
            outcome = f"cancelled ({_why_cancelled()})"
        raise
    finally:
        log.info("%s: ended: %s", lease.name, outcome)
    if activity.is_cancelled():  # the run stopped early because it was told to
        raise asyncio.CancelledError
    if not report.ok:
        text = f"shard {shard}: {report.summary_line()}"
        if lease.lost is not None:
            raise ApplicationError(f"{text}; {lease.lost}", type="LeaseLost")
        if report.stuck:  # what is left needs someone to act: retrying cannot help
            raise ApplicationError(text, type="ShardUnfixable", non_retryable=True)
        raise ApplicationError(text, type="ShardNotConverged")
    return ShardResult(
        str(shard),
        str(state.digest),
        len(report.accounts),
        lease.changes(report.summary()["changes"]),
        info.attempt,
    )


@dataclasses.dataclass
class _Tally:
    """What this attempt has done so far, for its heartbeats."""

    finished: int = 0
    made: int = 0

    def account_ended(self, done: Progress) -> None:
        self.finished = done.finished

    def change_made(self, _: provision.Change) -> None:
        self.made += 1


def _why_cancelled() -> str:
    """What the SDK says about why this attempt was cancelled."""
    details = activity.cancellation_details()
    if details is None:
        return "no reason given"
    said = [f.name for f in dataclasses.fields(details) if getattr(details, f.name)]
    return ", ".join(name.replace("_", " ") for name in said) or "no reason given"
