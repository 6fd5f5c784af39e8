"""Leases: one convergence per organization at a time.

Two runs that write to one organization at once duplicate what they both
find missing, and the Canvas API has no fencing token or conditional write to
stop them (its one guard: an account e-mail is unique). So a run that writes
holds its organization's lease for the whole run and checks it before every
request it sends. What a run claims is a :class:`Claim`: the organization
(:func:`~canvas_async._client.organization_key`, derived from the connection,
so it cannot be forgotten), the file's content hash and its shard. Two claims
on one organization may be held at once only when they are different shards
of the same split of the same file (:meth:`Claim.shares_with`); a whole-file
run is shard ``0/1``. Different organizations never block each other.

A :class:`Lease` is three calls and one figure:

- :class:`FileLease`: one machine. ``fcntl.flock`` locks that the kernel
  holds for a process until it exits, however it exits, so a lease can never
  pass to another run while its holder lives (even paused by SIGSTOP): it
  needs no renewal and no request timeout cap.
- Leases renewed in a store that other machines see (a Kubernetes Lease, see
  :mod:`canvas_async.contrib.kubernetes`; a Temporal activity's heartbeats,
  see :mod:`canvas_async.contrib.temporal`) pass to another holder once they
  expire by the store's rules. They *fence themselves* with a :class:`Fence`:
  a holder counts only renewals the store confirmed, on the monotonic clock,
  and sends nothing once the newest is older than the lease's duration less a
  margin; every request it sends times out within that margin
  (:attr:`Lease.request_timeout`, applied by :func:`fenced_timeout`). A holder
  paused past its lease (SIGSTOP, a frozen container) wakes up, checks, and
  stops before its next request. One pause the check cannot see: between the
  check and the moment the request's bytes reach the socket. Under
  :func:`watchdog`, the kernel ends such a process as it resumes, before it
  writes them.

What no lease can fence without the server's help: a request already sent
that the server finishes after the lease passed on (the client's timeout ends
its wait, not the server's work). A run therefore ends with a read-only check
of what it touched, and the next run repairs what a stale writer slipped in.

:func:`guarded_session` gives a ``Canvas`` an ``aiohttp`` session that checks
the lease before every request, whichever code path sends it::

    claim = Claim(canvas_organization, state.digest, Shard(2, 8))
    lease = FileLease("/var/lock/canvas-async", claim)
    async with holding(lease), guarded_session(lease) as session:
        async with Canvas(..., session=session, timeout=fenced_timeout(lease)) as canvas:
            await provision.apply(canvas, state, shard=claim.shard)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import signal
import socket
import time
import types
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

import aiohttp
import attrs

from canvas_async import _routes
from canvas_async._errors import CanvasError, ValidationError
from canvas_async._timeouts import DEFAULT_TIMEOUT, Timeout
from canvas_async.provision.shard import Shard

__all__ = [
    "Claim",
    "Fence",
    "FileLease",
    "Lease",
    "LeaseError",
    "LeaseHeldError",
    "LeaseLostError",
    "fenced_timeout",
    "guarded_session",
    "holding",
    "read_record",
    "watchdog",
]

#: How often a held :class:`FileLease` writes its heartbeat into its record.
HEARTBEAT_SECONDS: Final = 5.0
#: How often a waiting lease tries again.
POLL_SECONDS: Final = 0.05
#: The whole file, as a shard.
WHOLE_FILE: Final = Shard(0, 1)


class LeaseError(CanvasError):
    """A lease could not be taken or was lost."""


class LeaseHeldError(LeaseError):
    """Another run holds the organization (and we were not to wait, or waited too long).

    Attributes:
        name: The lease.
        holder: What the holder wrote about itself (owner, pid, host, file
            hash, shard, heartbeat), when readable.
    """

    def __init__(self, name: str, holder: dict[str, Any] | None) -> None:
        who = _describe_holder(holder)
        super().__init__(f"{name} is held by another run{who}")
        self.name = name
        self.holder = holder


class LeaseLostError(LeaseError):
    """The lease is no longer ours: stop before writing anything more."""


@attrs.frozen
class Claim:
    """What a run converges: an organization, a file (by content hash), a shard of it.

    Attributes:
        organization: The organization's key (``Canvas.organization``).
        file_hash: The file's content hash (``DesiredState.digest``), or None
            for a run of no file.
        shard: Which part of the file; :data:`WHOLE_FILE` for all of it.
    """

    organization: str = attrs.field()
    file_hash: str | None = None
    shard: Shard = WHOLE_FILE

    @organization.validator
    def _named(self, _attribute: object, value: str) -> None:
        # The key names files and Kubernetes objects: keep it to what both take.
        if not value or not all(c.isalnum() or c in "-." for c in value) or len(value) > 63:
            raise ValidationError(
                f"an organization key is 1 to 63 letters, digits, '-' or '.', not {value!r}"
            )

    @property
    def split(self) -> str:
        """The runs this one may share the organization with: one key per (file, shard count)."""
        text = f"{self.file_hash}\n{self.shard.count}"
        return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()

    def shares_with(self, other: Claim) -> bool:
        """Whether both may write at once: other shards of the same split of the same file."""
        return self.organization != other.organization or (
            self.split == other.split and self.shard.index != other.shard.index
        )

    def __str__(self) -> str:
        what = "the whole file" if self.shard == WHOLE_FILE else f"shard {self.shard}"
        return f"organization {self.organization} ({what} of {self.file_hash or 'no file'})"

    def record(self) -> dict[str, Any]:
        """What a holder says about its claim in a lease record."""
        return {
            "organization": self.organization,
            "file_hash": self.file_hash,
            "shard": str(self.shard),
        }


@runtime_checkable
class Lease(Protocol):
    """What a run needs from a lease: take it, check it before each request, give it back."""

    @property
    def name(self) -> str:
        """The lease, as messages name it."""

    @property
    def request_timeout(self) -> float | None:
        """The longest a request sent under the lease may take, so that it ends before
        the lease can pass to another holder; None when it cannot pass while held."""

    async def acquire(self, *, wait: float | None = None) -> None:
        """Take the lease; wait up to ``wait`` seconds (forever when None, not at all at 0).

        Raises:
            LeaseHeldError: Another run holds it after ``wait``.
        """

    async def check(self) -> float | None:
        """Return quickly if the lease is still ours.

        Returns:
            The last moment (``time.monotonic()``) at which a request checked now
            may still be written (see :func:`watchdog`); None when the lease
            cannot pass to another holder while this one lives.

        Raises:
            LeaseLostError: It is not; nothing more may be sent.
        """

    async def release(self) -> None:
        """Give the lease back; harmless when not held."""


_HeldLease = TypeVar("_HeldLease", bound=Lease)


@contextlib.asynccontextmanager
async def holding(lease: _HeldLease, *, wait: float | None = None) -> AsyncIterator[_HeldLease]:
    """Hold ``lease`` for the ``async with`` block: take it, give it back however the block ends.

    Args:
        lease: The lease to hold.
        wait: Seconds to wait for it, as :meth:`Lease.acquire` takes them.
    """
    await lease.acquire(wait=wait)
    try:
        yield lease
    finally:
        await lease.release()


def _describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return ""
    parts = [f"{key} {holder[key]}" for key in ("owner", "host", "pid") if holder.get(key)]
    if holder.get("shard") and holder["shard"] != str(WHOLE_FILE):
        parts.append(f"shard {holder['shard']}")
    if holder.get("file_hash"):
        parts.append(f"converging {holder['file_hash']}")
    if holder.get("heartbeat"):
        parts.append(f"last heartbeat {holder['heartbeat']}")
    return f" ({', '.join(parts)})" if parts else ""


@attrs.define
class Fence:
    """Self-fencing for a lease renewed in a store: no request once renewals go unconfirmed.

    The store lets another holder in once the lease has gone ``duration``
    seconds without a renewal. This holder counts from the moment it *sent*
    the newest renewal the store confirmed (its own monotonic clock, which a
    pause or a clock step cannot move back), and refuses to send once that is
    ``duration - margin`` old; every request it sends times out within
    ``margin`` (see :func:`fenced_timeout`), so each ends, on the client's
    side, before the store's expiry.

    Args:
        name: The lease, for messages.
        duration: Seconds the store keeps the lease without a renewal.
        margin: Seconds before that at which sending stops; longer than any
            request (0 < margin < duration).
    """

    name: str
    duration: float
    margin: float
    _confirmed: float | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        if not 0 < self.margin < self.duration:
            raise ValidationError(
                f"a lease's margin must be above 0 and below its duration ({self.duration} s), "
                f"not {self.margin}"
            )

    def confirm(self, sent_at: float) -> None:
        """Count a renewal the store confirmed, sent at ``sent_at`` (``time.monotonic()``)."""
        if self._confirmed is None or sent_at > self._confirmed:
            self._confirmed = sent_at

    def lose(self) -> None:
        """Forget every renewal: the store said the lease is someone else's."""
        self._confirmed = None

    @property
    def remaining(self) -> float:
        """Seconds left to send in (0 when none)."""
        if self._confirmed is None:
            return 0.0
        return max(0.0, self._confirmed + self.duration - self.margin - time.monotonic())

    def check(self) -> float:
        """Raise :class:`LeaseLostError` unless a confirmed renewal is fresh enough to send on.

        Returns:
            The last moment at which a request checked now may still be written:
            halfway through the margin (the store's expiry is a whole margin away).
        """
        if self._confirmed is None:
            raise LeaseLostError(f"{self.name} is not held")
        if self.remaining <= 0:
            age = time.monotonic() - self._confirmed
            raise LeaseLostError(
                f"{self.name}: no renewal confirmed for {age:.1f} s (the lease lasts "
                f"{self.duration:g} s); another run may hold it now"
            )
        return self._confirmed + self.duration - self.margin / 2


def fenced_timeout(lease: Lease, timeout: Timeout = DEFAULT_TIMEOUT) -> Timeout:
    """Return ``timeout`` with its total capped at the lease's request timeout."""
    cap = lease.request_timeout
    if cap is None or (timeout.total is not None and timeout.total <= cap):
        return timeout
    return attrs.evolve(
        timeout,
        total=cap,
        connect=None if timeout.connect is None else min(timeout.connect, cap),
        read=None if timeout.read is None else min(timeout.read, cap),
    )


@attrs.define
class FileLease:
    """One machine: ``fcntl.flock`` locks in ``directory``, named by the organization.

    A run of claim ``C`` holds, for the whole run, a shared lock on the file
    of its split (``<organization>.<split>.split``) and an exclusive one on
    the file of its shard (``<organization>.<split>.<index>.shard``), and
    takes them only while it holds the organization's own lock
    (``<organization>.lock``, held for a moment): there it first makes sure
    that no other split's file is locked. So runs of one split share the
    organization, each on its own shard, and every other run waits.

    The shard file holds a record of its holder (owner, pid, host, claim,
    heartbeat) for people and for :class:`LeaseHeldError`'s message; the locks
    are the kernel's, so a holder that dies (even by SIGKILL) frees them at
    once, and one that is paused keeps them.

    Args:
        directory: Where lock files live (created if missing); must be local:
            ``flock`` over NFS is not to be trusted. Organizations share it.
        claim: What the run converges.
        owner: Who holds it, recorded (default ``<host>:<pid>``).
    """

    directory: Path = attrs.field(converter=Path)
    claim: Claim
    owner: str = attrs.field(factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _held: tuple[int, int] | None = attrs.field(default=None, init=False, repr=False)
    _token: str = attrs.field(factory=lambda: uuid.uuid4().hex, init=False, repr=False)
    _beat: asyncio.Task[None] | None = attrs.field(default=None, init=False, repr=False)

    #: A kernel lock cannot pass to another holder while this process lives.
    request_timeout: None = attrs.field(default=None, init=False)

    @property
    def name(self) -> str:
        """The lease, as messages name it."""
        return f"the lease of {self.claim}"

    @property
    def path(self) -> Path:
        """The file of this run's shard (it holds the holder's record)."""
        return self._file(f"{self.claim.split}.{self.claim.shard.index}.shard")

    @property
    def held(self) -> bool:
        """Whether this object holds the lease now."""
        return self._held is not None

    def _file(self, suffix: str) -> Path:
        return self.directory / f"{self.claim.organization}.{suffix}"

    async def acquire(self, *, wait: float | None = None) -> None:
        """Take the lease, trying again every :data:`POLL_SECONDS` while another run holds it."""
        if self._held is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        deadline = None if wait is None else time.monotonic() + wait
        while (held := self._try()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise LeaseHeldError(self.name, self._holder())
            await asyncio.sleep(POLL_SECONDS)
        self._held = held
        self._write_record("held", held[1])
        self._beat = asyncio.create_task(self._heartbeat(), name=self.name)

    def _try(self) -> tuple[int, int] | None:
        """Take both locks if no other run holds the organization in a way ours cannot share."""
        organization = _lock(self._file("lock"), fcntl.LOCK_EX)
        if organization is None:
            return None  # another run is taking or leaving its lease this moment
        try:
            mine = self._file(f"{self.claim.split}.split")
            others = self.directory.glob(f"{self.claim.organization}.*.split")
            if not all(_clear_stale(split) for split in others if split != mine):
                return None
            shared = _lock(mine, fcntl.LOCK_SH)
            if shared is None:  # pragma: no cover - only locked exclusively under our lock
                return None
            exclusive = _lock(self.path, fcntl.LOCK_EX)
            if exclusive is None:
                os.close(shared)
                return None
            return shared, exclusive
        finally:
            os.close(organization)

    def _holder(self) -> dict[str, Any] | None:
        """The record of a run that holds the organization now, when one says so."""
        for path in sorted(self.directory.glob(f"{self.claim.organization}.*.shard")):
            probe = _lock(path, fcntl.LOCK_SH)
            if probe is None:  # locked: a live holder
                return read_record(path)
            os.close(probe)
        return None

    async def check(self) -> None:
        """Raise :class:`LeaseLostError` unless both locks are on the files their paths name."""
        if self._held is None:
            raise LeaseLostError(f"{self.name} is not held")
        shared, exclusive = self._held
        split = self._file(f"{self.claim.split}.split")
        if not (_is(shared, split) and _is(exclusive, self.path)):
            raise LeaseLostError(f"{self.name} was lost: its lock file was removed")

    async def release(self) -> None:
        """Write a released record and unlock (closing the files releases the locks)."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if self._held is None:
            return
        (shared, exclusive), self._held = self._held, None
        try:
            self._write_record("released", exclusive)
        finally:
            os.close(exclusive)
            os.close(shared)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self._held is not None:
                self._write_record("held", self._held[1])

    def _write_record(self, state: str, fd: int) -> None:
        record = {
            "state": state,
            "owner": self.owner,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "token": self._token,
            **self.claim.record(),
            "heartbeat": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data = (json.dumps(record) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def _lock(path: Path, kind: int) -> int | None:
    """Open ``path`` (made if missing) and lock it without waiting; None when another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    # The file may have been removed (and another made) between our open and
    # our flock: the lock only counts on the file that the path names now.
    if not _is(fd, path):
        os.close(fd)
        return None
    return fd


def _is(fd: int, path: Path) -> bool:
    """Whether ``fd`` is the file ``path`` names now."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _clear_stale(split: Path) -> bool:
    """Remove another split's file if no run holds it; False when one does.

    Called under the organization's lock, which every run takes to lock a
    split file, so no run can be between opening and locking this one.
    """
    fd = _lock(split, fcntl.LOCK_EX)
    if fd is None:
        return not split.exists()
    try:
        split.unlink()
    finally:
        os.close(fd)
    return True


def read_record(path: str | Path) -> dict[str, Any] | None:
    """Return the holder's record in a lock file, or None when unreadable."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


#: The one request a lost lease lets through (spec: "Authentication").
_REVOKE_PATH: Final = _routes.ROUTES["delete_token"].path


@contextlib.asynccontextmanager
async def guarded_session(
    lease: Lease, **session_options: Any
) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield an ``aiohttp`` session that checks ``lease`` before every request it sends.

    Every request, not only ``POST``: ``DeleteWorkflow`` is a ``GET`` (spec:
    "Route table"), and a check is a ``stat`` or a clock reading. It checks
    when the request starts and again right before its bytes are written
    (once it has its connection; before each chunk of its body).

    A lost lease raises :class:`LeaseLostError` from the request, before it is
    sent; the run's accounts then fail with that reason and nothing more is
    written. Revoking the client's tokens (``DeleteToken``) is let through:
    it writes nothing, and a lost lease must not leave a token pair alive.
    Pass the session to ``Canvas(session=..., timeout=fenced_timeout(lease))``;
    it is closed on exit.
    """

    async def before_request(
        _session: aiohttp.ClientSession,
        context: types.SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        context.guarded = not params.url.path.endswith(_REVOKE_PATH)
        if context.guarded:
            await lease.check()

    async def before_sending(
        _session: aiohttp.ClientSession, context: types.SimpleNamespace, _params: object
    ) -> None:
        # Again at the last moments before bytes go out: once the request has its
        # connection (opening one takes event loop turns), before aiohttp writes
        # the headers (a request without a body goes out in that step) and before
        # each chunk of a body (the buffered headers go with the first). A holder
        # paused in such a turn (frozen, or waiting for a connection) is stopped
        # here. What is left is the synchronous step from here to the socket,
        # which the watchdog's alarm covers.
        if getattr(context, "guarded", True):
            deadline = await lease.check()
            if deadline is not None and _ALARM.users:
                _ALARM.arm(deadline, lease.name)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(before_request)
    for hook in (
        trace.on_connection_create_end,
        trace.on_connection_reuseconn,
        trace.on_request_headers_sent,
        trace.on_request_chunk_sent,
    ):
        hook.append(before_sending)
    async with aiohttp.ClientSession(trace_configs=[trace], **session_options) as session:
        yield session


#: How late the alarm may go off, at most, after the moment it was set for.
_ALARM_SLACK: Final = 0.01


@attrs.define
class _Alarm:
    """The process's ``SIGALRM``, set around each send under :func:`watchdog`."""

    users: int = 0
    #: The moment the alarm is set for, until the event loop turns.
    until: float | None = None

    def arm(self, deadline: float, name: str) -> None:
        """Have the kernel end this process at ``deadline`` (monotonic) unless disarmed first.

        Disarmed once the event loop turns: the check, the write and this are
        one step of the loop, which no other task can enter. An alarm already
        set for this moment or an earlier one is left as it is.

        Raises:
            LeaseLostError: ``deadline`` has passed.
        """
        if self.until is not None and self.until <= deadline:
            return
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LeaseLostError(f"{name}: the moment to send by has passed")
            signal.setitimer(signal.ITIMER_REAL, left)
            # The alarm counts from when it was set: a pause since the clock was
            # read would make it go off that much late. Then set it again.
            if deadline - time.monotonic() >= left - _ALARM_SLACK:
                break
        if self.until is None:
            asyncio.get_running_loop().call_soon(self.disarm)
        self.until = deadline

    def disarm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.until = None


_ALARM: Final = _Alarm()


@contextlib.contextmanager
def watchdog() -> Iterator[None]:
    """Let a lease end this process should it resume past the lease in the middle of a send.

    A holder checks its lease before each request, but a pause (SIGSTOP, a
    frozen container) that begins after the check and before the request's
    bytes reach the socket goes unseen: on resuming, the request goes out,
    however long ago the lease passed to another run. Inside this block,
    :func:`guarded_session` sets the process's alarm (``SIGALRM``, whose
    default action ends the process) for the lease's last moment to send
    (halfway through its margin) before each write, and unsets it right
    after. A process paused in between and resumed later than that is ended
    by the kernel before it runs another instruction: it exits with status
    142 (a shell's ``128 + SIGALRM``), having written nothing more. A process
    that runs on is never ended: it unsets the alarm long before it goes off.

    Only leases with an expiry use the alarm (Kubernetes, Temporal
    heartbeats); a :class:`FileLease` cannot pass while its holder lives.
    The alarm is the process's own: use this where the process is yours (the
    command line does, for ``apply`` and ``temporal worker``), not in a
    library, and run the leases' sessions on one event loop.

    Raises:
        ValidationError: ``SIGALRM`` has a handler, or an alarm is set:
            something else in this process uses the alarm.
    """
    if not _ALARM.users:
        if signal.getsignal(signal.SIGALRM) != signal.SIG_DFL:
            raise ValidationError(
                "the lease watchdog needs SIGALRM's default action, but the signal has a handler"
            )
        if signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
            raise ValidationError("the lease watchdog needs the process's alarm, but one is set")
    _ALARM.users += 1
    try:
        yield
    finally:
        _ALARM.users -= 1
        if not _ALARM.users:
            _ALARM.disarm()
