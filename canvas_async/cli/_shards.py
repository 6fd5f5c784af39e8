"""Shards on the command line: ``--shard I/N``, ``--shard-from-env VAR``, the lease, ``shards``.

The options are defined with the others in :mod:`canvas_async.cli._parser`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs

from canvas_async.cli import _exit
from canvas_async.cli._output import Out
from canvas_async.cli._parser import LEASE_STORES
from canvas_async.cli._run import UsageError
from canvas_async.provision.shard import Shard, assign, load_file
from canvas_async.provision.spec import DesiredState

if TYPE_CHECKING:
    import aiohttp

    from canvas_async._timeouts import Timeout
    from canvas_async.provision.lease import Claim, Lease

LEASE_DIR_VAR: Final = "CANVAS_LEASE_DIR"
LEASE_STORE_VAR: Final = "CANVAS_LEASE_STORE"
LEASE_NAMESPACE_VAR: Final = "CANVAS_LEASE_NAMESPACE"


def shard(args: argparse.Namespace) -> Shard | None:
    """Return the shard the options name, or None for the whole file."""
    if args.shard and args.shard_from_env:
        raise UsageError("give either --shard I/N or --shard-from-env VAR --shards N, not both")
    if args.shard:
        if args.shards is not None:
            raise UsageError("--shards goes with --shard-from-env; --shard I/N names N itself")
        return Shard.parse(args.shard)
    if args.shard_from_env:
        if args.shards is None:
            raise UsageError("--shard-from-env needs --shards N, the number of shards")
        return Shard.from_env(args.shard_from_env, args.shards)
    if args.shards is not None:
        raise UsageError("--shards N goes with --shard-from-env VAR")
    return None


def load(args: argparse.Namespace) -> DesiredState:
    """Read the file once, with its content hash pinned (and checked with --expect-hash)."""
    return load_file(args.file, expect_hash=getattr(args, "expect_hash", None))


@attrs.frozen
class Writes:
    """What a writing command converges: the file's state and its shard (None: all of it)."""

    state: DesiredState
    shard: Shard | None


@contextlib.asynccontextmanager
async def leased(
    args: argparse.Namespace, organization: str, writes: Writes, out: Out, *, pool: int
) -> AsyncIterator[tuple[aiohttp.ClientSession, Timeout]]:
    """Hold the organization's lease for the block (waiting as ``--lease-wait`` says).

    Yields a session that checks the lease before each request, its
    connection pool ``pool`` (the client's), and the client's timeout, capped
    to what the lease allows.
    """
    # Here, not at the top: the lease's session is aiohttp's, which ``shards`` does not need.
    import aiohttp  # noqa: PLC0415

    from canvas_async._deadline import remaining  # noqa: PLC0415
    from canvas_async.provision.lease import (  # noqa: PLC0415
        WHOLE_FILE,
        Claim,
        LeaseHeldError,
        fenced_timeout,
        guarded_session,
        watchdog,
    )

    if args.lease_wait is not None and args.lease_wait < 0:
        raise UsageError(f"--lease-wait must not be negative, not {args.lease_wait}")
    lease = make_lease(args, Claim(organization, writes.state.digest, writes.shard or WHOLE_FILE))
    wait = args.lease_wait
    left = remaining()
    if left is not None:  # --deadline bounds the wait too
        wait = max(0.0, left if wait is None else min(wait, left))
    try:
        await lease.acquire(wait=0)
    except LeaseHeldError as held:
        if wait == 0:
            raise
        out.info(f"waiting: {held}")
        await lease.acquire(wait=wait)
    try:
        # A pool as large as the client's: aiohttp's default holds 100.
        connector = aiohttp.TCPConnector(limit=pool)
        # The process is the command's: a lease that expires may end it (see watchdog).
        with watchdog() if lease.request_timeout is not None else contextlib.nullcontext():
            async with guarded_session(lease, connector=connector) as session:
                yield session, fenced_timeout(lease)
    finally:
        await lease.release()


def make_lease(args: argparse.Namespace, claim: Claim) -> Lease:
    """Make the lease of ``claim`` in the store ``--lease-store`` or ``$CANVAS_LEASE_STORE`` names.

    Raises:
        UsageError: An unknown store, an option of the other store, or the
            kubernetes store without its extra.
    """
    from canvas_async.provision.lease import FileLease  # noqa: PLC0415 - as in leased()

    store = args.lease_store or os.environ.get(LEASE_STORE_VAR, "").strip() or "file"
    if store not in LEASE_STORES:
        raise UsageError(
            f"{LEASE_STORE_VAR} must be one of {', '.join(LEASE_STORES)}, not {store!r}"
        )
    if store == "file":
        for flag, value in (("namespace", args.lease_namespace), ("duration", args.lease_duration)):
            if value is not None:
                raise UsageError(f"--lease-{flag} goes with --lease-store kubernetes")
        directory = (
            args.lease_dir
            or os.environ.get(LEASE_DIR_VAR)
            or (Path(tempfile.gettempdir()) / "canvas-async-leases")
        )
        return FileLease(directory, claim)
    if args.lease_dir:
        raise UsageError("--lease-dir goes with --lease-store file")
    try:
        from canvas_async.contrib.kubernetes import (  # noqa: PLC0415 - only when asked
            DEFAULT_DURATION,
            KubernetesLease,
        )
    except ImportError as exc:
        raise UsageError(
            f"--lease-store kubernetes needs the kubernetes extra ({exc.name} is missing): "
            "pip install 'canvas-async[kubernetes]'"
        ) from None
    namespace = args.lease_namespace or os.environ.get(LEASE_NAMESPACE_VAR, "").strip() or None
    duration = DEFAULT_DURATION if args.lease_duration is None else args.lease_duration
    return KubernetesLease(claim, namespace=namespace, duration=duration)


async def shards(args: argparse.Namespace, out: Out) -> int:
    """Print which shard every account of the file belongs to; no connection is made."""
    state = load(args)
    groups = assign(state.accounts, args.shards)
    where = {a.index: i for i, group in groups.items() for a in group}
    if out.json:
        out.data(
            {
                "file": state.source,
                "file_hash": state.digest,
                "shards": args.shards,
                "accounts": [{"account": a.label, "shard": where[a.index]} for a in state.accounts],
                "sizes": [len(groups[i]) for i in range(args.shards)],
            }
        )
        return _exit.OK
    out.table(["account", "shard"], [[a.label, str(where[a.index])] for a in state.accounts])
    out.line()
    sizes = ", ".join(f"{i}: {len(groups[i])}" for i in range(args.shards))
    out.line(f"{len(state.accounts)} accounts in {args.shards} shards ({sizes})")
    out.line(f"file hash {state.digest} (pass it as --expect-hash to every shard)")
    return _exit.OK
