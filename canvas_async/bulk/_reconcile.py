"""The one write primitive of reconciling: send; on doubt read back; send again if not done.

A create that is not idempotent (an account, a registration, a workflow) can
fail in a way that leaves open whether it took effect: the connection was lost
after sending, no answer came in time, or the server answered 500, 502 or 504
(design: "Retries"). Sending it again blindly may duplicate it; giving up
fails a write that may well have worked. :func:`reconcile_write` settles it
by reading the state back: if the write took effect it returns what the read
found, if it provably did not it sends again, and if the read itself fails it
reads again, all within a small budget.

One level up, :func:`requeue` tries a whole item (an account) again after a
transient failure, from the state as it then is, with backoff and full
jitter, within a :class:`Requeue` budget of attempts and time, until a
:class:`Stop` (deadline, signal) says nothing new may start.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random as _random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import attrs

from canvas_async._errors import (
    CanvasError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)

from ._engine import step

__all__ = [
    "DEFAULT_REQUEUE",
    "DEFAULT_WRITE_ATTEMPTS",
    "DOUBTFUL",
    "Requeue",
    "Stop",
    "StoppedError",
    "WriteNotDoneError",
    "read_back",
    "reconcile_write",
    "requeue",
    "transient",
]

T = TypeVar("T")

#: Failures of a write after which it may have taken effect: read back first.
DOUBTFUL: Final = (OutcomeUnknownError, TransportError, ServerError)
#: Server answers that may come after the effect (spec: "Errors"; design: "Retries").
_AMBIGUOUS_STATUSES: Final = frozenset({500, 502, 504})
#: A 503 is answered before the request is processed: nothing took effect.
_UNPROCESSED_STATUS: Final = 503
#: Default for :func:`reconcile_write`'s ``attempts``.
DEFAULT_WRITE_ATTEMPTS: Final = 3


class WriteNotDoneError(CanvasError):
    """A write whose outcome was in doubt did not take effect: reading back showed so.

    Attributes:
        operation: The operation of the write that failed.
    """

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{cause} (read back: it did not take effect)")
        operation = getattr(cause, "operation", None)
        self.operation = operation if isinstance(operation, str) else None


async def read_back(exc: Exception, read: Callable[[], Awaitable[T]]) -> T:
    """Read once to settle a write that failed with ``exc`` (one of :data:`DOUBTFUL`).

    A server error that leaves no doubt (a 501, say) is raised again at once.
    When the read fails too, the outcome stays unknown, and that is raised
    as an :class:`OutcomeUnknownError`.
    """
    if isinstance(exc, ServerError) and exc.status not in _AMBIGUOUS_STATUSES:
        raise exc
    try:
        with step("read back after an unknown outcome"):
            return await read()
    except CanvasError as read_error:
        if isinstance(exc, OutcomeUnknownError):
            raise exc from read_error
        unknown = OutcomeUnknownError(
            f"{exc}; reading back failed too, so it may or may not have taken effect",
            operation=str(getattr(exc, "operation", "write")),
            account_id=getattr(exc, "account_id", None),
        )
        raise unknown from exc


async def reconcile_write(
    send: Callable[[], Awaitable[T]],
    find: Callable[[], Awaitable[T | None]],
    *,
    attempts: int = DEFAULT_WRITE_ATTEMPTS,
) -> T:
    """Make one write take effect exactly once, and return its result.

    Send it; if the outcome is in doubt (:data:`DOUBTFUL`), call ``find``
    to read the state back: a result means the write took effect, and it is
    returned; None means it provably did not, and it is sent again. A
    ``find`` that fails is called again. A 503 proves nothing was done, so
    the write is sent again without reading.

    Args:
        send: Makes the write once; returns its result (e.g. the new id).
        find: Reads the state; returns the write's result when it took effect,
            else None.
        attempts: Most sends, and most reads after each doubtful send.

    Raises:
        WriteNotDoneError: Every send failed, and reading back showed that
            none took effect: safe to try again later.
        OutcomeUnknownError: Reading back failed ``attempts`` times in a row.
        CanvasError: A failure that leaves no doubt (a 400, a 501, ...), as raised.
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValidationError(f"attempts must be a positive integer, not {attempts!r}")
    for sent in range(1, attempts + 1):
        try:
            return await send()
        except DOUBTFUL as exc:
            if isinstance(exc, ServerError) and exc.status == _UNPROCESSED_STATUS:
                if sent == attempts:
                    raise
                continue
            found = await _settle(exc, find, attempts)
            if found is not None:
                return found
            if sent == attempts:
                raise WriteNotDoneError(exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def _settle(
    exc: Exception, find: Callable[[], Awaitable[T | None]], attempts: int
) -> T | None:
    """Read back after ``exc`` until a read succeeds; at most ``attempts`` reads."""
    for read in range(1, attempts + 1):
        try:
            return await read_back(exc, find)
        except OutcomeUnknownError:
            if read == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


# -- requeueing a whole item (an account) after a transient failure ----------------


def _check_positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{attribute.name} must be a positive number, not {value!r}")
    if not math.isfinite(value):
        raise ValidationError(f"{attribute.name} must be finite, not {value!r}")


def _check_wait(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{attribute.name} must be a number of seconds, not {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValidationError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


@attrs.frozen
class Requeue:
    """How an item (an account) is tried again after a transient failure.

    Each new attempt starts from the state as it is (the item reads it
    again), after a wait drawn uniformly from ``[0, min(backoff_max,
    backoff_initial * 2 ** (n - 1))]`` (full jitter). Permanent failures
    (400, 403, 404, a refused value) end the item at once.

    Attributes:
        max_attempts: Most attempts per item, the first included.
        timeout: Seconds an item may take over all its attempts; no attempt
            starts after it.
        backoff_initial: Upper bound of the first wait, seconds.
        backoff_max: Cap on any wait, seconds.
    """

    max_attempts: int = attrs.field(default=5)
    timeout: float = attrs.field(default=300.0, validator=_check_positive)
    backoff_initial: float = attrs.field(default=0.5, validator=_check_wait)
    backoff_max: float = attrs.field(default=15.0, validator=_check_wait)

    @max_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"max_attempts must be a positive integer, not {value!r}")

    def backoff(self, attempt: int, random: Callable[[], float]) -> float:
        """Return the wait after attempt number ``attempt`` (1-based) failed."""
        bound = min(self.backoff_max, self.backoff_initial * 2.0 ** min(attempt - 1, 64))
        return random() * bound


DEFAULT_REQUEUE: Final = Requeue()


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` may not happen again if the work is tried again later.

    Lost connections, timeouts, unknown outcomes, 429 and 500/502/503/504 are;
    the server's refusals (400, 401, 403, 404, 409) and bad input are not.
    """
    if isinstance(exc, TransportError | WriteNotDoneError | RateLimitError):
        return True
    return isinstance(exc, ServerError) and exc.status in _TRANSIENT_STATUSES


_TRANSIENT_STATUSES: Final = frozenset({500, 502, 503, 504})


class StoppedError(CanvasError):
    """The run stopped (deadline passed, or asked to stop) before this item finished."""

    def __init__(self, reason: str, *, started: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.started = started


@attrs.define
class Stop:
    """When a run stops starting new work: at a deadline, or when asked to (a signal).

    Work already sent is let finish; nothing new starts after :meth:`reason`
    says so.

    Attributes:
        deadline: ``time.monotonic()`` after which nothing new starts; None
            for none.
    """

    deadline: float | None = None
    _asked: str | None = None
    _event: asyncio.Event = attrs.Factory(asyncio.Event)

    @classmethod
    def after(cls, seconds: float | None) -> Stop:
        """Return a stop with a deadline ``seconds`` from now (None: no deadline)."""
        if seconds is None:
            return cls()
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValidationError(f"deadline must be a number of seconds, not {seconds!r}")
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValidationError(f"deadline must be a finite number >= 0, not {seconds!r}")
        return cls(time.monotonic() + seconds)

    def ask(self, reason: str) -> None:
        """Stop starting new work, saying why (e.g. ``"interrupted (SIGINT)"``)."""
        if self._asked is None:
            self._asked = reason
        self._event.set()

    def reason(self) -> str | None:
        """Return why nothing new may start, or None while work may go on."""
        if self._asked is not None:
            return self._asked
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "deadline passed"
        return None

    def check(self, *, started: bool) -> None:
        """Raise :class:`StoppedError` when nothing new may start."""
        reason = self.reason()
        if reason is not None:
            raise StoppedError(reason, started=started)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when asked to stop or the deadline comes first."""
        if self.deadline is not None:
            seconds = min(seconds, max(0.0, self.deadline - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


async def requeue(
    work: Callable[[int], Awaitable[T]],
    policy: Requeue = DEFAULT_REQUEUE,
    *,
    stop: Stop | None = None,
    random: Callable[[], float] = _random.random,
) -> T:
    """Run ``work(attempt)`` until it returns, trying again after transient failures.

    Args:
        work: One attempt; called with its number (1 for the first). It must
            start from the state as it is, not as the last attempt left it.
        policy: Attempts, time and backoff.
        stop: Nothing new starts once it says so; the last failure is raised.
        random: Source of the jitter, uniform in ``[0, 1)``.

    Raises:
        Exception: The last failure, when it is permanent or the budget or
            the run is over.
    """
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return await work(attempt)
        except Exception as exc:
            if not transient(exc) or attempt >= policy.max_attempts:
                raise
            wait = policy.backoff(attempt, random)
            if time.monotonic() - started + wait >= policy.timeout:
                raise
            if stop is not None:
                if stop.reason() is not None:
                    raise
                await stop.sleep(wait)
                if stop.reason() is not None:
                    raise
            else:
                await asyncio.sleep(wait)
        attempt += 1
