"""Requeue an item (an account) after a transient failure, within a budget; stop cleanly.

Kubernetes controllers and Terraform treat transient failure as a reason to
requeue, not to stop (design: "Reconcile"). :func:`requeue` runs an item's
work again, from the state as it then is, after a lost connection, a
timeout, an unknown outcome, a 429 or a 5xx, with backoff and full jitter,
within a :class:`Requeue` budget of attempts and time. A permanent failure
(400, 403, 404, a refused value) is raised at once. A :class:`Stop` (a
deadline, a signal) says when no new work may start.
"""

from __future__ import annotations

import asyncio
import contextlib
import random as _random
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import attrs

from canvas_async._checks import check_number, count, number
from canvas_async._defaults import DEFAULT_ACCOUNT_TIMEOUT, DEFAULT_MAX_ATTEMPTS
from canvas_async._errors import APIError, OutcomeUnknownError, TransportError
from canvas_async._retry import Failure, Retries
from canvas_async._retry import transient as _transient

from ._engine import StoppedError
from ._reconcile import WriteNotDoneError, in_flight

T = TypeVar("T")


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

    max_attempts: int = attrs.field(default=DEFAULT_MAX_ATTEMPTS, validator=count(minimum=1))
    timeout: float = attrs.field(default=DEFAULT_ACCOUNT_TIMEOUT, validator=number(positive=True))
    backoff_initial: float = 0.5
    backoff_max: float = 15.0
    # The client's own backoff, which checks the two settings: one formula.
    _jitter: Retries = attrs.field(init=False, repr=False, eq=False)

    @_jitter.default
    def _make_jitter(self) -> Retries:
        return Retries(backoff_initial=self.backoff_initial, backoff_max=self.backoff_max)

    def backoff(self, attempt: int, random: Callable[[], float]) -> float:
        """Return the wait after attempt number ``attempt`` (1-based) failed."""
        return self._jitter.backoff(attempt, random)


DEFAULT_REQUEUE: Final = Requeue()


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` may not happen again if the work is tried again later.

    Lost connections, timeouts, unknown outcomes and the answers the client
    retries (408, 429, 500, 502, 503, 504) are; the server's refusals (400,
    401, 403, 404, 409) and bad input are not,
    nor a write that got no answer in time (:func:`in_flight`): the server
    may still apply it, and an attempt reading the state before it lands
    would make it twice.
    """
    if in_flight(exc):
        return False
    if isinstance(exc, TransportError | OutcomeUnknownError | WriteNotDoneError):
        return True
    return isinstance(exc, APIError) and _transient(Failure.answer(exc.status))


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
        check_number(seconds, "deadline", positive=False)
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
    stop = stop or Stop()
    attempt = 1
    while True:
        try:
            return await work(attempt)
        except Exception as exc:
            if not transient(exc) or attempt >= policy.max_attempts:
                raise
            wait = policy.backoff(attempt, random)
            if time.monotonic() - started + wait >= policy.timeout or stop.reason() is not None:
                raise
            await stop.sleep(wait)
            if stop.reason() is not None:
                raise
        attempt += 1
