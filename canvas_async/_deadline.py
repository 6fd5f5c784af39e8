"""Deadlines: a moment after which no request starts and no wait goes on.

A deadline is a ``time.monotonic()`` value in a context variable, so every
call made inside :func:`deadline` (and every task started there) inherits it
without an argument threaded through each layer. The transport reads it
before each attempt: past it, nothing is sent; before it, the attempt's
timeout is capped to end within :data:`GRACE` of it, and the retry loop and
the client's pause give up rather than wait past it. So a run with a
deadline ends within the deadline plus the grace, whatever the server does
(answers slowly, never answers, or asks to be called back in an hour).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import uuid
from collections.abc import Iterator
from typing import Final

import aiohttp

from ._checks import check_number
from ._errors import CanvasTimeoutError

#: Seconds a request sent before the deadline may go on past it.
GRACE: Final = 2.0

_AT: Final = contextvars.ContextVar[float | None]("canvas_async_deadline", default=None)


class DeadlineExceededError(CanvasTimeoutError):
    """The deadline passed before the call could be sent, or before it could be retried.

    Nothing was sent by the attempt that raises it.
    """


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Give every call inside the block at most ``seconds`` (None: no limit of its own).

    Nested deadlines keep the earlier one. Requests sent before it may run
    :data:`GRACE` seconds past it; none starts after it.

    Raises:
        ValidationError: ``seconds`` is not a number of seconds.
    """
    if seconds is not None:
        check_number(seconds, "deadline", positive=False)
    with until(None if seconds is None else time.monotonic() + seconds):
        yield


@contextlib.contextmanager
def until(at: float | None) -> Iterator[None]:
    """Like :func:`deadline`, at the ``time.monotonic()`` value ``at`` (None: none of its own)."""
    if at is None:
        yield
        return
    outer = _AT.get()
    token = _AT.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _AT.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (negative once past), or None."""
    at = _AT.get()
    return None if at is None else at - time.monotonic()


def capped(timeout: aiohttp.ClientTimeout, left: float) -> aiohttp.ClientTimeout:
    """Return ``timeout`` with its total ending within :data:`GRACE` of the deadline."""
    cap = left + GRACE
    if timeout.total is not None and timeout.total <= cap:
        return timeout
    return aiohttp.ClientTimeout(
        total=cap,
        sock_connect=timeout.sock_connect,
        sock_read=timeout.sock_read,
    )


def passed(operation: str, account_id: uuid.UUID | None = None) -> DeadlineExceededError:
    """The error of a call that the deadline stopped before it was sent."""
    return DeadlineExceededError(
        f"{operation} was not sent: the deadline has passed",
        operation=operation,
        account_id=account_id,
    )
