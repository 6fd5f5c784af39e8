"""When a failed request is repeated, and after how long.

Everything here is a pure function of the route, the failure and the attempt
(plus a random number for the jitter), so every rule is tested without a
network; the transport runs the loop.

The rules (design: "Retries"):

- An idempotent operation (``Route.idempotent``) is repeated after a
  connection failure, a timeout, or an answer of 408, 429, 500, 502, 503 or
  504. A 500 is usually transient (a worker restarted, a lock timed out), and
  repeating a read or an idempotent write can do no harm.
- A non-idempotent one (create an account, register an application, create or
  run a workflow) is repeated only when the failure proves that the request
  never reached the server: the connection could not be opened, or the server
  answered 429 or 503 without processing it. After an ambiguous failure (the
  connection was lost after sending, no answer in time, a 500, 502 or 504) it
  raises :class:`~canvas_async.OutcomeUnknownError` instead: a duplicate
  account or a second run is worse than an error.
- Backoff is exponential with *full* jitter: the wait before retry ``n`` is
  drawn uniformly from ``[0, min(backoff_max, backoff_initial * 2 ** (n - 1))]``,
  so a thousand tasks that failed together do not come back together.
- A 429 is flow control, not a failure: the server says it did not process the
  request and when to come back (``Retry-After``). Waiting it out does not use
  up ``max_retries``; it has its own budget, ``max_rate_limited``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final

import attrs

from ._checks import count, number
from ._routes import Route

#: Answers that prove the server did not process the request.
_UNPROCESSED: Final = frozenset({429, 503})
#: Answers after which the request may have taken effect: the server (or a
#: gateway in front of it) failed mid-way.
_FAILED_MIDWAY: Final = frozenset({500, 502, 504})
#: The server gave up waiting for the request: nothing was done, but unlike a
#: 429 or a 503 it is no promise the server looked at nothing.
_REQUEST_TIMEOUT: Final = 408


class FailureKind(enum.Enum):
    """How an attempt failed."""

    NOT_SENT = "not sent"
    """The connection could not be opened: the request never left."""
    LOST = "connection lost"
    """The connection broke after the request may have been sent."""
    TIMEOUT = "timeout"
    """No answer in time after the request may have been sent."""
    ANSWER = "answer"
    """The server answered with an error status (and no error envelope)."""


@attrs.frozen
class Failure:
    """One failed attempt, as far as retrying cares.

    Attributes:
        kind: How the attempt failed.
        status: The HTTP status of an :attr:`FailureKind.ANSWER`.
        retry_after: Seconds the server asked to wait (``Retry-After``), if it
            said.
    """

    kind: FailureKind
    status: int | None = None
    retry_after: float | None = None

    @classmethod
    def answer(cls, status: int, retry_after: float | None = None) -> Failure:
        """Return the failure of an error answer.

        Only for answers without the ``{"State", "Msg"}`` envelope: an envelope
        is the application's own verdict on a processed request, never retried.
        """
        return cls(FailureKind.ANSWER, status, retry_after)


class Verdict(enum.Enum):
    """What to do about a failed attempt."""

    RETRY = "retry"
    """Back off, then repeat the request (uses up one of ``max_retries``)."""
    WAIT = "wait"
    """Rate limited: wait out ``Retry-After``, then repeat (uses up one of
    ``max_rate_limited``)."""
    RAISE = "raise"
    """Give up and raise the failure's own error."""
    OUTCOME_UNKNOWN = "outcome unknown"
    """Give up and raise :class:`~canvas_async.OutcomeUnknownError`."""


_whole: Final = count(minimum=0)
_seconds: Final = number(positive=False)


@attrs.frozen
class Retries:
    """How a call is retried; pass one as ``retries=`` to the client or a call.

    Attributes:
        max_retries: Repeats after the first attempt for connection failures,
            timeouts and retryable answers (see the module docstring).
        max_rate_limited: How many 429 answers one call waits out before it
            raises :class:`~canvas_async.RateLimitError`. They do not count
            against ``max_retries``.
        backoff_initial: Upper bound of the first retry's random wait, seconds.
        backoff_max: Cap on any retry's random wait, seconds.
        max_retry_after: The longest ``Retry-After`` the client waits out, in
            seconds. A longer one is not waited out: the call raises
            :class:`~canvas_async.RateLimitError` at once, carrying
            ``retry_after``, and so does every call of the client until then.
    """

    max_retries: int = attrs.field(default=2, validator=_whole)
    max_rate_limited: int = attrs.field(default=10, validator=_whole)
    backoff_initial: float = attrs.field(default=0.5, validator=_seconds)
    backoff_max: float = attrs.field(default=30.0, validator=_seconds)
    max_retry_after: float = attrs.field(default=60.0, validator=_seconds)

    @classmethod
    def of(cls, value: Retries | int) -> Retries:
        """Return ``value`` as :class:`Retries`; an int sets ``max_retries``."""
        if isinstance(value, Retries):
            return value
        return cls(max_retries=value)

    def backoff(self, retry: int, random: Callable[[], float]) -> float:
        """Return the wait before retry number ``retry`` (1-based): full jitter.

        Args:
            retry: Which retry this is: 1 for the first.
            random: A source of uniform numbers in ``[0, 1)``, e.g.
                ``random.random``.
        """
        exponent = max(retry - 1, 0)
        try:
            bound = min(self.backoff_max, self.backoff_initial * 2.0**exponent)
        except OverflowError:
            bound = self.backoff_max
        return random() * bound


DEFAULT_RETRIES: Final = Retries()


def not_sent(failure: Failure) -> bool:
    """Whether the request never reached the server, or the server did not process it.

    The connection could not be opened, or the server answered 429 or 503.
    """
    return failure.kind is FailureKind.NOT_SENT or failure.status in _UNPROCESSED


def may_have_taken_effect(failure: Failure) -> bool:
    """Whether the request may have taken effect although it failed.

    The connection was lost after sending, no answer came in time, or the
    server answered 500, 502 or 504.
    """
    return failure.kind in (FailureKind.LOST, FailureKind.TIMEOUT) or (
        failure.status in _FAILED_MIDWAY
    )


def transient(failure: Failure) -> bool:
    """Whether the same request may succeed later: :func:`not_sent`,
    :func:`may_have_taken_effect`, or a 408."""
    return not_sent(failure) or may_have_taken_effect(failure) or failure.status == _REQUEST_TIMEOUT


def decide(
    route: Route,
    failure: Failure,
    *,
    retries_used: int = 0,
    rate_limited_used: int = 0,
    policy: Retries = DEFAULT_RETRIES,
) -> Verdict:
    """Return what to do after a failed attempt of ``route``.

    Args:
        route: The operation; ``route.idempotent`` says whether it may be
            repeated after an ambiguous failure.
        failure: How the attempt failed.
        retries_used: Retries already made for this call (429 waits aside).
        rate_limited_used: 429 answers this call already waited out.
        policy: The call's retry settings.
    """
    if failure.status == 429:
        too_long = failure.retry_after is not None and failure.retry_after > policy.max_retry_after
        if too_long or rate_limited_used >= policy.max_rate_limited:
            return Verdict.RAISE
        return Verdict.WAIT
    if not_sent(failure) or (route.idempotent and transient(failure)):
        return Verdict.RETRY if retries_used < policy.max_retries else Verdict.RAISE
    if may_have_taken_effect(failure):
        return Verdict.OUTCOME_UNKNOWN
    return Verdict.RAISE
