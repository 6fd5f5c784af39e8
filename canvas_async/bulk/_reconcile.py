"""The one write primitive of reconciling: send; on doubt read back; send again if not done.

A create that is not idempotent (an account, a registration, a workflow) can
fail in a way that leaves open whether it took effect: the connection was lost
after sending, no answer came in time, or the server answered 500, 502 or 504
(design: "Retries"). Sending it again blindly may duplicate it; giving up
fails a write that may well have worked. :func:`reconcile_write` settles it
by reading the state back: if the write took effect it returns what the read
found, if it provably did not it sends again, and if the read itself fails it
reads again, all within a small budget. One level up, :mod:`._requeue`
tries a whole item (an account) again.

A write that got no answer in time is different: the server may still be
serving it (a server finishes a request whose client gave up), so a read
that does not find it yet proves nothing, and sending it again would make it
twice once the first lands. Such a write is never sent again in the run: it
stays an :class:`OutcomeUnknownError` (:func:`in_flight`), for the next run
to read back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from canvas_async._errors import (
    CanvasError,
    CanvasTimeoutError,
    OutcomeUnknownError,
    ServerError,
    TransportError,
    ValidationError,
)
from canvas_async._retry import Failure, may_have_taken_effect, not_sent

from ._engine import operation_of, step

T = TypeVar("T")

#: Failures of a write after which it may have taken effect: read back first.
DOUBTFUL: Final = (OutcomeUnknownError, TransportError, ServerError)
#: Default for :func:`reconcile_write`'s ``attempts``.
DEFAULT_WRITE_ATTEMPTS: Final = 3


class WriteNotDoneError(CanvasError):
    """A write whose outcome was in doubt did not take effect: reading back showed so.

    Attributes:
        operation: The operation of the write that failed.
    """

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{cause} (read back: it did not take effect)")
        self.operation = operation_of(cause)


def in_flight(exc: BaseException) -> bool:
    """Whether ``exc`` leaves a write perhaps still in the server's hands: its outcome
    is unknown (:class:`OutcomeUnknownError`: it may have reached the server) because
    no answer came in time (a :class:`CanvasTimeoutError` among its causes)."""
    if not isinstance(exc, OutcomeUnknownError):
        return False
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CanvasTimeoutError):
            return True
        seen = seen.__cause__
    return False


async def read_back(exc: Exception, read: Callable[[], Awaitable[T]]) -> T:
    """Read once to settle a write that failed with ``exc`` (one of :data:`DOUBTFUL`).

    A server error that leaves no doubt (a 501, say) is raised again at once.
    When the read fails too, the outcome stays unknown, and that is raised
    as an :class:`OutcomeUnknownError`.
    """
    if isinstance(exc, ServerError) and not may_have_taken_effect(Failure.answer(exc.status)):
        raise exc
    try:
        with step("read back after an unknown outcome"):
            return await read()
    except CanvasError as read_error:
        if isinstance(exc, OutcomeUnknownError):
            raise exc from read_error
        raise _unknown(
            exc, "reading back failed too, so it may or may not have taken effect"
        ) from exc


async def reconcile_write(
    send: Callable[[], Awaitable[T]],
    find: Callable[[], Awaitable[T | None]],
    *,
    attempts: int = DEFAULT_WRITE_ATTEMPTS,
) -> T:
    """Make one write take effect exactly once, and return its result.

    Send it; if the outcome is in doubt (:data:`DOUBTFUL`), call ``find``
    to read the state back: a result means the write took effect, and it is
    returned; None means it provably did not, and it is sent again, unless
    no answer came in time (:func:`in_flight`): the server may still apply
    it, so it is not sent again. A ``find`` that fails is called again. A
    503 proves nothing was done, so the write is sent again without reading.

    Args:
        send: Makes the write once; returns its result (e.g. the new id).
        find: Reads the state; returns the write's result when it took effect,
            else None.
        attempts: Most sends, and most reads after each doubtful send.

    Raises:
        WriteNotDoneError: Every send failed, and reading back showed that
            none took effect: safe to try again later.
        OutcomeUnknownError: Reading back failed ``attempts`` times in a row,
            or the write got no answer in time and was not found yet.
        CanvasError: A failure that leaves no doubt (a 400, a 501, ...), as raised.
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValidationError(f"attempts must be a positive integer, not {attempts!r}")
    for sent in range(1, attempts + 1):
        try:
            return await send()
        except DOUBTFUL as exc:
            if isinstance(exc, ServerError) and not_sent(Failure.answer(exc.status)):
                if sent == attempts:
                    raise
                continue
            found = await _settle(exc, find, attempts)
            if found is not None:
                return found
            if in_flight(exc):
                raise _unknown(
                    exc,
                    "not found when read back, but the server may still apply it, so it is "
                    "not sent again: read the state back later (apply again)",
                ) from exc
            if sent == attempts:
                raise WriteNotDoneError(exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _unknown(exc: Exception, why: str) -> OutcomeUnknownError:
    """Return the unknown outcome of the write that failed with ``exc``."""
    return OutcomeUnknownError(
        f"{exc}; {why}",
        operation=operation_of(exc) or "write",
        account_id=getattr(exc, "account_id", None),
    )


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
