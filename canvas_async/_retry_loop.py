"""The retry loop: attempts, backoff, the shared pause, one retry after a 401.

The transport hands :func:`run_attempts` one attempt as a callable (send the
request once, return the answer or raise); the loop decides, with the rules
of :mod:`._retry`, whether and when to try again. The sleeping, the random
numbers and the attempt are all injected, so the loop is tested without a
network and without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, NamedTuple

import aiohttp
import attrs

from . import _deadline, _routes
from ._errors import (
    OutcomeUnknownError,
    RateLimitError,
    TransportError,
    _header,
    envelope,
    error_for_answer,
    parse_retry_after,
    status_text,
)
from ._limits import ClientPausedError, PauseGate
from ._retry import Failure, FailureKind, Retries, Verdict, decide

logger: Final = logging.getLogger("canvas_async")


class Answer(NamedTuple):
    """What one attempt got back.

    Attributes:
        status: The HTTP status.
        headers: The answer's headers.
        payload: The decoded body.
        sent: The authentication headers the request carried (for the 401 hook).
    """

    status: int
    headers: Mapping[str, str]
    payload: object
    sent: Mapping[str, str] = {}

    def __repr__(self) -> str:
        # The headers sent carry the keys or the token: never shown.
        return f"Answer(status={self.status})"


def _why(failure: Failure) -> str:
    if failure.kind is FailureKind.ANSWER:
        assert failure.status is not None
        return f"the server answered {status_text(failure.status)}"
    if failure.kind is FailureKind.TIMEOUT:
        return "no answer arrived in time after the request was sent"
    return "the connection was lost after the request was sent"


@attrs.define
class _Budget:
    """One call's retry budgets and messages, over the policy's rules."""

    policy: Retries
    operation: str
    account_id: uuid.UUID | None
    request_id: str | None = None
    retried: int = 0
    rate_limited: int = 0

    def delay(self, verdict: Verdict, failure: Failure, random: Callable[[], float]) -> float:
        """Use up one retry (or one 429 wait) and return how long to wait first."""
        if verdict is Verdict.WAIT:
            self.rate_limited += 1
            return self.policy.backoff(self.rate_limited, random)
        self.retried += 1
        # Retry-After on a 503 says when to come back: honour it, capped.
        waited = min(failure.retry_after or 0.0, self.policy.max_retry_after)
        return waited + self.policy.backoff(self.retried, random)

    def paused(self, paused: ClientPausedError) -> RateLimitError:
        error = RateLimitError(
            f"the client is paused for another {paused.remaining:.3g} s after a 429, "
            f"longer than this call waits ({paused.max_wait:.3g} s"
            f"{'' if paused.max_wait >= self.policy.max_retry_after else ', to its deadline'})",
            status=429,
            operation=self.operation,
            account_id=self.account_id,
        )
        error.retry_after = paused.remaining
        return error

    def outcome_unknown(self, failure: Failure) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"{self.operation} may or may not have taken effect: {_why(failure)}. "
            "It is not repeated, to avoid doing it twice; read the state back "
            "before trying again",
            operation=self.operation,
            account_id=self.account_id,
        )

    def log(
        self, verdict: Verdict, failure: Failure, delay: float, attempt: int, error: str
    ) -> None:
        # INFO: a retry is worth seeing in production; one line per retry, not per request.
        if logger.isEnabledFor(logging.INFO):
            waiting = verdict is Verdict.WAIT
            logger.info(
                "%s: %s (account=%s); %s %d in %.3f s",
                self.operation,
                _why(failure) if failure.kind is FailureKind.ANSWER else failure.kind.value,
                self.account_id,
                "rate limited, try" if waiting else "retry",
                self.rate_limited if waiting else self.retried,
                delay,
                extra={
                    "operation": self.operation,
                    "account": None if self.account_id is None else str(self.account_id),
                    "attempt": attempt,
                    "status": failure.status,
                    "error": error,
                    "wait": delay,
                    "request_id": self.request_id,
                },
            )


def failure_of(exc: BaseException) -> Failure | None:
    """Return the failure an exception from sending a request stands for.

    Returns ``None`` for an exception that is not a transport failure (a bug,
    a cancellation), which must propagate as it is.
    """
    # Order matters: the connect errors are subclasses of the broader ones.
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        # No connection was established, so nothing was sent.
        return Failure(FailureKind.NOT_SENT)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return Failure(FailureKind.TIMEOUT)
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return Failure(FailureKind.LOST)
    return None


def _answer_failure(answer: Answer, gate: PauseGate) -> Failure:
    """The failure an error answer (without the envelope) stands for."""
    retry_after = parse_retry_after(_header(answer.headers, "Retry-After"))
    if answer.status == 429 and retry_after is not None:
        # Every task of the client waits this out, not only this one.
        gate.pause(retry_after)
    return Failure.answer(answer.status, retry_after)


async def run_attempts(
    route: _routes.Route,
    attempt: Callable[[], Awaitable[Answer]],
    *,
    policy: Retries,
    gate: PauseGate,
    operation: str,
    account_id: uuid.UUID | None = None,
    on_unauthorized: Callable[[Answer], Awaitable[bool]] | None = None,
    on_retry: Callable[[Failure, float, str, int], Awaitable[None]] | None = None,
    request_id: str | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random: Callable[[], float] = _random.random,
) -> Answer:
    """Run ``attempt`` until it gets an answer to return, or give up.

    Returns the first answer that is a success, the error envelope (the
    server's verdict on a processed request), or an error the policy does not
    retry (the caller raises it with :func:`~._errors.error_for_answer`).

    Args:
        route: The operation, for its ``idempotent`` flag.
        attempt: Sends the request once; raises :class:`TransportError` (with
            the aiohttp error as ``__cause__``) when no answer came, or
            :class:`ClientPausedError` when the client is paused too long.
        policy: The call's retry settings.
        gate: The client's pause; a 429 with ``Retry-After`` closes it.
        operation: The operation's name, for messages.
        account_id: The request's ``ManagedAccountId``, for messages.
        on_unauthorized: Called on the first 401; True sends once more (a
            token mode that dropped a refused token). Not a retry: it uses
            up no budget and waits for nothing.
        on_retry: Told each failure that will be retried, the wait chosen,
            the failure's name (the transport error's type, or the status)
            and the number of the attempt that failed, before the wait.
        request_id: The call's request id, for the log.
        sleep: Waits a number of seconds.
        random: Uniform numbers in ``[0, 1)``, for the jitter.

    Raises:
        OutcomeUnknownError: A non-idempotent request failed in a way that
            leaves open whether it took effect.
        TransportError: No answer, and no retry left.
        RateLimitError: The client is paused for longer than
            ``policy.max_retry_after``.
    """
    budget: _Budget | None = None  # made by the first failure
    reauthorize = on_unauthorized
    attempts = 0
    last: Answer | TransportError | None = None  # what the previous attempt got
    while True:
        attempts += 1
        try:
            outcome: Answer | TransportError = await attempt()
        except ClientPausedError as paused:
            raise _Budget(policy, operation, account_id).paused(paused) from None
        except _deadline.DeadlineExceededError:
            # The wait overran the deadline (a loaded or paused process): give
            # up with what the previous attempt got, which says why.
            if last is None:
                raise
            return _given_up(last)
        except TransportError as error:
            outcome = error
        if isinstance(outcome, Answer):
            # A success, or the envelope: the server's verdict on a processed request.
            if outcome.status < 400 or envelope(outcome.payload) is not None:
                return outcome
            if outcome.status == 401 and reauthorize is not None:
                again, reauthorize = await reauthorize(outcome), None
                if again:
                    continue
            failure = _answer_failure(outcome, gate)
            failed = str(outcome.status)
        else:
            found = failure_of(outcome.__cause__) if outcome.__cause__ is not None else None
            if found is None:
                raise outcome  # not a transport failure: a bug or a cancellation
            failure, failed = found, type(outcome).__name__
        if budget is None:
            budget = _Budget(policy, operation, account_id, request_id)
        verdict = decide(
            route,
            failure,
            retries_used=budget.retried,
            rate_limited_used=budget.rate_limited,
            policy=policy,
        )
        if verdict is Verdict.OUTCOME_UNKNOWN:
            raise budget.outcome_unknown(failure) from _cause(outcome, operation, account_id)
        delay = 0.0 if verdict is Verdict.RAISE else budget.delay(verdict, failure, random)
        left = _deadline.remaining()
        # No wait goes past the deadline: give up with what this attempt got.
        if verdict is Verdict.RAISE or (left is not None and delay >= left):
            return _given_up(outcome)
        budget.log(verdict, failure, delay, attempts, failed)
        if on_retry is not None:
            await on_retry(failure, delay, failed, attempts)
        last = outcome
        await sleep(delay)


def _given_up(outcome: Answer | TransportError) -> Answer:
    """End the call with what an attempt got: its answer, or its transport error raised
    (its own cause kept, not what was being handled)."""
    if isinstance(outcome, TransportError):
        raise outcome from outcome.__cause__
    return outcome


def _cause(
    outcome: Answer | TransportError, operation: str, account_id: uuid.UUID | None
) -> BaseException | None:
    if isinstance(outcome, TransportError):
        return outcome
    return error_for_answer(
        outcome.status,
        outcome.headers,
        outcome.payload,
        operation=operation,
        account_id=account_id,
    )
