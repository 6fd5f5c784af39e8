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
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, NamedTuple

import aiohttp

from . import _deadline, _routes
from ._errors import (
    OutcomeUnknownError,
    RateLimitError,
    TransportError,
    envelope,
    error_for_answer,
    parse_retry_after,
    status_text,
)
from ._hooks import CallEvent, CallInfo, Hooks, log_fields
from ._limits import ClientPausedError, PauseGate
from ._retry import Failure, FailureKind, Retries, Verdict, decide

logger: Final = logging.getLogger("canvas_async")


class Answer(NamedTuple):
    """What one attempt got back; ``sent``: the authentication headers it carried."""

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


def _paused(paused: ClientPausedError, policy: Retries, call: CallInfo) -> RateLimitError:
    error = RateLimitError(
        f"the client is paused for another {paused.remaining:.3g} s after a 429, "
        f"longer than this call waits ({paused.max_wait:.3g} s"
        f"{'' if paused.max_wait >= policy.max_retry_after else ', to its deadline'})",
        status=429,
        operation=call.operation,
        account_id=call.account_id,
    )
    error.retry_after = paused.remaining
    return error


def failure_of(exc: BaseException | None) -> Failure | None:
    """Return the failure an exception from sending a request stands for.

    Returns ``None`` for no exception, or one that is not a transport failure
    (a bug, a cancellation), which must propagate as it is.
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
    retry_after = parse_retry_after(answer.headers.get("Retry-After"))
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
    call: CallInfo,
    hooks: Hooks | None = None,
    on_unauthorized: Callable[[Answer], Awaitable[bool]] | None = None,
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
        call: The call, for messages, the log and the hooks' events.
        hooks: Told each failure that will be retried (a ``retry`` event),
            before the wait.
        on_unauthorized: Called on the first 401; True sends once more (a
            token mode that dropped a refused token). Not a retry: it uses
            up no budget and waits for nothing.
        sleep: Waits a number of seconds.
        random: Uniform numbers in ``[0, 1)``, for the jitter.

    Raises:
        OutcomeUnknownError: A non-idempotent request failed in a way that
            leaves open whether it took effect.
        TransportError: No answer, and no retry left.
        RateLimitError: The client is paused for longer than
            ``policy.max_retry_after``.
    """
    reauthorize = on_unauthorized
    attempts = retried = rate_limited = 0
    last: Answer | TransportError | None = None  # what the previous attempt got
    while True:
        attempts += 1
        try:
            outcome: Answer | TransportError = await attempt()
        except ClientPausedError as paused:
            raise _paused(paused, policy, call) from None
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
            found = failure_of(outcome.__cause__)
            if found is None:
                raise outcome  # not a transport failure: a bug or a cancellation
            failure, failed = found, type(outcome).__name__
        verdict = decide(
            route, failure, retries_used=retried, rate_limited_used=rate_limited, policy=policy
        )
        if verdict is Verdict.OUTCOME_UNKNOWN:
            raise OutcomeUnknownError(
                f"{call.operation} may or may not have taken effect: {_why(failure)}. "
                "It is not repeated, to avoid doing it twice; read the state back "
                "before trying again",
                operation=call.operation,
                account_id=call.account_id,
            ) from _cause(outcome, call)
        if verdict is Verdict.RAISE:
            return _given_up(outcome)
        if verdict is Verdict.WAIT:
            rate_limited += 1
            delay = policy.backoff(rate_limited, random)
        else:
            retried += 1
            # Retry-After on a 503 says when to come back: honour it, capped.
            waited = min(failure.retry_after or 0.0, policy.max_retry_after)
            delay = waited + policy.backoff(retried, random)
        left = _deadline.remaining()
        # No wait goes past the deadline: give up with what this attempt got.
        if left is not None and delay >= left:
            return _given_up(outcome)
        # INFO: a retry is worth seeing in production; one line per retry, not per request.
        if logger.isEnabledFor(logging.INFO):
            waiting = verdict is Verdict.WAIT
            logger.info(
                "%s: %s (account=%s); %s %d in %.3f s",
                call.operation,
                _why(failure) if failure.kind is FailureKind.ANSWER else failure.kind.value,
                call.account_id,
                "rate limited, try" if waiting else "retry",
                rate_limited if waiting else retried,
                delay,
                extra={**log_fields(call, attempts, failure.status, failed), "wait": delay},
            )
        if hooks is not None:
            await hooks(CallEvent("retry", call, attempts, failure.status, None, delay, failed))
        last = outcome
        await sleep(delay)


def _given_up(outcome: Answer | TransportError) -> Answer:
    """End the call with what an attempt got: its answer, or its transport error raised
    (its own cause kept, not what was being handled)."""
    if isinstance(outcome, TransportError):
        raise outcome from outcome.__cause__
    return outcome


def _cause(outcome: Answer | TransportError, call: CallInfo) -> BaseException | None:
    if isinstance(outcome, TransportError):
        return outcome
    return error_for_answer(
        outcome.status,
        outcome.headers,
        outcome.payload,
        operation=call.operation,
        account_id=call.account_id,
    )
