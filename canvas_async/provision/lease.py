"""Leases: at most one attempt of a shard writes at a time.

Retrying a shard is safe (a run reads the live state first); two attempts of
one shard *running at once* are not: both read "missing", both create, and
every write they overlap on is made twice. So an attempt holds its shard's
lease for the whole run and re-checks it before every write; an attempt that
cannot get the lease waits (or stops), and one that has lost it stops before
its next write.

A :class:`Lease` is three calls. :class:`FileLease` is the implementation for
one machine: ``fcntl.flock`` on a lock file, which the kernel releases when
the holder dies, so a killed attempt never leaves a stale lease behind. Across
machines, implement the same protocol on what the fleet already runs:

- **Kubernetes**: a ``coordination.k8s.io/v1`` Lease object named after the
  shard. ``acquire`` creates it, or takes it over when ``renewTime`` +
  ``leaseDurationSeconds`` has passed, with the ``resourceVersion`` as an
  optimistic lock; a renewal loop updates ``renewTime`` every third of the
  duration; ``check`` raises :class:`LeaseLostError` once the last successful
  renewal is older than the duration (no request per write); ``release``
  deletes the object (with a precondition on its ``uid``).
- **Redis**: ``SET lease:<name> <token> NX PX <ms>`` to acquire, a Lua
  compare-and-``PEXPIRE`` to renew, the same local expiry rule in ``check``,
  and a compare-and-``DEL`` to release.

On Temporal the activity heartbeat plus cancellation play this part (see
:mod:`canvas_async.contrib.temporal`).

:func:`guarded_session` gives a ``Canvas`` an ``aiohttp`` session that checks
the lease before every request, so every write of a run is covered, whichever
code path makes it::

    lease = FileLease("/var/lock/canvas-async", shard.lease_name, file_hash=state.digest)
    async with lease.hold(), guarded_session(lease) as session:
        async with Canvas(..., session=session) as canvas:
            await provision.apply(canvas, state, shard=shard)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import socket
import time
import types
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import aiohttp
import attrs

from canvas_async import _routes
from canvas_async._errors import CanvasError

__all__ = [
    "FileLease",
    "Lease",
    "LeaseError",
    "LeaseHeldError",
    "LeaseLostError",
    "guarded_session",
    "read_record",
]

#: How often a held :class:`FileLease` writes its heartbeat into the lock file.
HEARTBEAT_SECONDS: Final = 5.0
#: How often a waiting :class:`FileLease` tries the lock again.
POLL_SECONDS: Final = 0.05


class LeaseError(CanvasError):
    """A lease could not be taken or was lost."""


class LeaseHeldError(LeaseError):
    """Another attempt holds the lease (and we were not to wait, or waited too long).

    Attributes:
        name: The lease.
        holder: What the holder wrote about itself (owner, pid, host, file hash,
            heartbeat), when readable.
    """

    def __init__(self, name: str, holder: dict[str, Any] | None) -> None:
        who = _describe_holder(holder)
        super().__init__(f"lease {name!r} is held by another attempt{who}")
        self.name = name
        self.holder = holder


class LeaseLostError(LeaseError):
    """The lease is no longer ours: stop before writing anything more."""


@runtime_checkable
class Lease(Protocol):
    """What a run needs from a lease: take it, check it before each write, give it back."""

    name: str

    async def acquire(self, *, wait: float | None = None) -> None:
        """Take the lease; wait up to ``wait`` seconds (forever when None, not at all at 0).

        Raises:
            LeaseHeldError: Another attempt holds it after ``wait``.
        """

    async def check(self) -> None:
        """Return quickly if the lease is still ours.

        Raises:
            LeaseLostError: It is not; nothing more may be written.
        """

    async def release(self) -> None:
        """Give the lease back; harmless when not held."""


def _describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return ""
    parts = [f"{key} {holder[key]}" for key in ("owner", "host", "pid") if holder.get(key)]
    if holder.get("file_hash"):
        parts.append(f"converging {holder['file_hash']}")
    if holder.get("heartbeat"):
        parts.append(f"last heartbeat {holder['heartbeat']}")
    return f" ({', '.join(parts)})" if parts else ""


@attrs.define
class FileLease:
    """A lease on one machine: ``fcntl.flock`` on ``<directory>/<name>.lock``.

    The lock file also holds a record of the holder (owner, pid, host, the
    file hash it converges, a heartbeat), for people and for
    :class:`LeaseHeldError`'s message; the lock itself is the kernel's, so a
    holder that dies (even by SIGKILL) frees it at once.

    Args:
        directory: Where lock files live (created if missing); must be local:
            ``flock`` over NFS is not to be trusted.
        name: The lease, e.g. :attr:`Shard.lease_name`.
        file_hash: The content hash of the file being converged, recorded.
        owner: Who holds it, recorded (default ``<host>:<pid>``).
    """

    directory: Path = attrs.field(converter=Path)
    name: str
    file_hash: str | None = None
    owner: str = attrs.field(factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _fd: int | None = attrs.field(default=None, init=False, repr=False)
    _token: str = attrs.field(factory=lambda: uuid.uuid4().hex, init=False, repr=False)
    _beat: asyncio.Task[None] | None = attrs.field(default=None, init=False, repr=False)

    @property
    def path(self) -> Path:
        """The lock file."""
        return self.directory / f"{self.name}.lock"

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    async def acquire(self, *, wait: float | None = None) -> None:
        """Take the lock, polling every :data:`POLL_SECONDS` while another holds it."""
        if self._fd is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        deadline = None if wait is None else time.monotonic() + wait
        while not self._try_lock():
            if deadline is not None and time.monotonic() >= deadline:
                raise LeaseHeldError(self.name, read_record(self.path))
            await asyncio.sleep(POLL_SECONDS)
        self._write_record("held")
        self._beat = asyncio.create_task(self._heartbeat(), name=f"lease {self.name}")

    def _try_lock(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        # The file may have been removed (and another lock file made) between
        # our open and our flock: the lock is only ours if it is on the file
        # that the path names now.
        if not self._same_file(fd):
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    async def check(self) -> None:
        """Raise :class:`LeaseLostError` unless the lock is held on the file its path names."""
        if self._fd is None:
            raise LeaseLostError(f"lease {self.name!r} is not held")
        if not self._same_file(self._fd):
            raise LeaseLostError(f"lease {self.name!r} was lost: its lock file was removed")

    async def release(self) -> None:
        """Write a released record and unlock (closing the file releases the lock)."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            self._write_record("released", fd)
        finally:
            os.close(fd)

    @contextlib.asynccontextmanager
    async def hold(self, *, wait: float | None = None) -> AsyncIterator[FileLease]:
        """Hold the lease for the ``async with`` block."""
        await self.acquire(wait=wait)
        try:
            yield self
        finally:
            await self.release()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self._fd is not None:
                self._write_record("held")

    def _write_record(self, state: str, fd: int | None = None) -> None:
        fd = self._fd if fd is None else fd
        assert fd is not None
        record = {
            "state": state,
            "owner": self.owner,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "token": self._token,
            "file_hash": self.file_hash,
            "heartbeat": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data = (json.dumps(record) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def read_record(path: str | Path) -> dict[str, Any] | None:
    """Return the holder's record in a lock file, or None when unreadable."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


#: The one request a lost lease lets through (spec: "Authentication").
_REVOKE_PATH: Final = _routes.route("delete_token").path


@contextlib.asynccontextmanager
async def guarded_session(
    lease: Lease, **session_options: Any
) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an ``aiohttp`` session that checks ``lease`` before every request it sends.

    Every request, not only ``POST``: ``DeleteWorkflow`` is a ``GET`` (spec:
    "Route table"), and a check is a ``stat`` here, a clock reading for leases
    renewed in the background.

    A lost lease raises :class:`LeaseLostError` from the request, before it is
    sent; the run's accounts then fail with that reason and nothing more is
    written. Revoking the client's tokens (``DeleteToken``) is let through:
    it writes nothing, and a lost lease must not leave a token pair alive.
    Pass the session to ``Canvas(session=...)``; it is closed on exit.
    """

    async def before_request(
        _session: aiohttp.ClientSession,
        _context: types.SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if not params.url.path.endswith(_REVOKE_PATH):
            await lease.check()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(before_request)
    async with aiohttp.ClientSession(trace_configs=[trace], **session_options) as session:
        yield session
