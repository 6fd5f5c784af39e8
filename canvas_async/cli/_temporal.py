"""``canvas-async temporal worker`` and ``temporal apply``: the Temporal extra on the command line.

The commands' options are in :mod:`canvas_async.cli._parser`, built without
importing ``temporalio``; the commands import
:mod:`canvas_async.contrib.temporal` when run, and say how to install the
extra when it is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from canvas_async._errors import CanvasError
from canvas_async.cli import _exit
from canvas_async.cli._output import Out
from canvas_async.cli._run import UsageError
from canvas_async.schedule import Cron

if TYPE_CHECKING:
    from types import ModuleType

_Handler = Callable[[argparse.Namespace, Out], Awaitable[int]]


def _extra() -> ModuleType:
    try:
        from canvas_async.contrib import temporal  # noqa: PLC0415 - only when asked
    except ImportError as exc:
        raise UsageError(
            f"the Temporal commands need the temporal extra ({exc.name} is missing): "
            "pip install 'canvas-async[temporal]'"
        ) from None
    return temporal


def _collected(handler: _Handler) -> _Handler:
    """Collect garbage once ``handler`` has returned, whatever happened: its frame (and
    Temporal's runtime its client holds) is gone then, and dropped while Python is whole."""

    @functools.wraps(handler)
    async def run(args: argparse.Namespace, out: Out) -> int:
        try:
            return await handler(args, out)
        finally:
            gc.collect()

    return run


@_collected
async def worker(args: argparse.Namespace, out: Out) -> int:
    """Run a worker until SIGINT or SIGTERM, then stop it gracefully."""
    temporal = _extra()
    client = await _connect(temporal, args)
    running = temporal.worker(
        client, args.task_queue, max_concurrent_activities=args.max_concurrent_activities
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # One line per shard attempt's end, and when one stops sending (its lease lost).
    log = logging.getLogger("canvas_async.contrib.temporal")
    handler = logging.StreamHandler(out.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    from canvas_async.provision.lease import watchdog  # noqa: PLC0415 - aiohttp, for a worker only

    try:
        # The process is the command's: a shard's lease may end it (see watchdog).
        with watchdog():
            async with running:
                where = f"{client.service_client.config.target_host} (namespace {client.namespace})"
                out.info(f"worker ready on task queue {args.task_queue!r} of {where}")
                out.stderr.flush()
                await stop.wait()
                out.info("stopping: letting running shards finish or be retried elsewhere")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.removeHandler(handler)
        log.propagate = True
    return _exit.OK


async def _connect(temporal: ModuleType, args: argparse.Namespace) -> Any:
    """Connect to Temporal; a bad TLS file or an unreachable server is one clear line."""
    from temporalio.runtime import Runtime, TelemetryConfig  # noqa: PLC0415

    # A runtime of the command's own (the process-wide default one can crash Python's
    # shutdown), held by no local: a failure is raised after the handler, so it holds
    # no traceback of the connecting frames, and the runtime is dropped before exit.
    try:
        return await temporal.connect(
            args.address, args.namespace, runtime=Runtime(telemetry=TelemetryConfig())
        )
    except OSError as exc:  # a certificate or key file named by TEMPORAL_TLS_* / a profile
        failure: CanvasError = UsageError(f"cannot read Temporal's TLS files: {exc}")
    except RuntimeError as exc:
        failure = CanvasError(f"cannot connect to Temporal: {exc}")  # exit status 1
    raise failure


@_collected
async def apply(args: argparse.Namespace, out: Out) -> int:
    """Start (or schedule) the convergence of a file; wait for it unless told not to."""
    temporal = _extra()
    if args.schedule:
        Cron.from_unix(args.schedule)  # a clear error before anything is sent
    try:
        job = await temporal.pinned_input(
            args.file,
            shards=args.shards,
            replace=args.replace,
            prune=args.prune,
            heartbeat_timeout=args.heartbeat_timeout,
            shard_deadline=args.shard_deadline,
        )
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from None
    client = await _connect(temporal, args)
    if args.schedule:
        handle = await temporal.schedule_converge(
            client, job, task_queue=args.task_queue, cron=args.schedule
        )
        out.say(
            {"schedule_id": handle.id, "cron": args.schedule, "file_hash": job.file_hash},
            f"scheduled {handle.id} on {args.schedule!r}: converges {job.file} "
            f"({job.file_hash}) in {args.shards} shards",
        )
        return _exit.OK
    from temporalio.client import WorkflowFailureError  # noqa: PLC0415

    # A worker names the organization from its keys and starts (or joins) its
    # one convergence; OrganizationBusyError says what runs instead.
    try:
        convergence = await temporal.start_converge(client, job, task_queue=args.task_queue)
    except WorkflowFailureError as exc:
        out.error(f"the convergence could not be started: {exc.cause}")
        return _exit.FAILED
    ids = {
        "workflow_id": convergence.id,
        "run_id": convergence.run_id,
        "organization": convergence.organization,
        "joined": convergence.joined,
        "file_hash": job.file_hash,
    }
    verb = "joined the running" if convergence.joined else "started"
    what = f"{verb} {convergence.id}"
    if args.no_wait:
        out.say(ids, f"{what} (run {convergence.run_id})")
        return _exit.OK
    out.info(f"{what}: converging {job.file} in {args.shards} shards")
    try:
        result = await convergence.result()
    except WorkflowFailureError as exc:
        out.error(f"workflow {convergence.id} failed: {exc.cause}")
        return _exit.FAILED
    out.say(
        {
            **ids,
            "accounts": result.accounts,
            "changes": result.changes,
            "changes_exact": result.changes_exact,
            "shards": [vars(s) for s in result.shards],
        },
        f"converged {result.accounts} accounts in {len(result.shards)} shards: "
        f"{'' if result.changes_exact else 'at least '}{result.changes} changes made "
        f"({convergence.id})",
    )
    return _exit.OK
