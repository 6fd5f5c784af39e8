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

from canvas_async.cli import _exit
from canvas_async.cli._output import Out
from canvas_async.cli._run import UsageError
from canvas_async.provision.shard import Shard, assign, load_file
from canvas_async.provision.spec import DesiredState

if TYPE_CHECKING:
    import aiohttp

__all__ = ["leased", "load", "shard", "shards"]

LEASE_DIR_VAR: Final = "CANVAS_LEASE_DIR"


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


@contextlib.asynccontextmanager
async def leased(
    args: argparse.Namespace, picked: Shard | None, state: DesiredState, out: Out
) -> AsyncIterator[aiohttp.ClientSession | None]:
    """Hold the shard's lease for the block; yield a session that checks it before each request.

    Yields None (no lease, the client's own session) for a run of the whole file
    or with ``--no-lease``.
    """
    if picked is None or args.no_lease:
        yield None
        return
    # Here, not at the top: the lease's session is aiohttp's, which ``shards`` does not need.
    import aiohttp  # noqa: PLC0415

    from canvas_async.cli._connect import pool_size  # noqa: PLC0415
    from canvas_async.provision.lease import (  # noqa: PLC0415
        FileLease,
        LeaseHeldError,
        guarded_session,
    )

    if args.lease_wait is not None and args.lease_wait < 0:
        raise UsageError(f"--lease-wait must not be negative, not {args.lease_wait}")
    directory = (
        args.lease_dir
        or os.environ.get(LEASE_DIR_VAR)
        or (Path(tempfile.gettempdir()) / "canvas-async-leases")
    )
    lease = FileLease(directory, picked.lease_name, file_hash=state.digest)
    try:
        await lease.acquire(wait=0)
    except LeaseHeldError as held:
        if args.lease_wait == 0:
            raise
        out.info(f"waiting: {held}")
        await lease.acquire(wait=args.lease_wait)
    try:
        # A pool as large as the client's (pool_size): aiohttp's default holds 100.
        connector = aiohttp.TCPConnector(limit=pool_size(args))
        async with guarded_session(lease, connector=connector) as session:
            yield session
    finally:
        await lease.release()


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
