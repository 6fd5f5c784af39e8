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
from http import HTTPStatus
from typing import Final

import aiohttp
import attrs

from . import _routes
from ._errors import (
    APIError,
    OutcomeUnknownError,
    RateLimitError,
    TransportError,
    _header,
    envelope,
    parse_retry_after,
    raise_for_answer,
)
from ._limits import ClientPausedError, PauseGate
from ._retry import Failure, FailureKind, Retries, Verdict, decide

__all__ = ["Answer", "failure_of", "run_attempts"]

logger: Final = logging.getLogger("canvas_async")


@attrs.frozen
class Answer:
    """What one attempt got back.

    Attributes:
        status: The HTTP status.
        headers: The answer's headers.
        payload: The decoded body.
        sent: The authentication headers the request carried (for the 401 hook).
    """

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    payload: object = attrs.field(repr=False)
    sent: Mapping[str, str] = attrs.field(repr=False, factory=dict)


def _phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _why(failure: Failure) -> str:
    if failure.kind is FailureKind.ANSWER:
        assert failure.status is not None
        return f"the server answered {_phrase(failure.status)}"
    if failure.kind is FailureKind.TIMEOUT:
        return "no answer arrived in time after the request was sent"
    return "the connection was lost after the request was sent"


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


async def run_attempts(
    route: _routes.Route,
    attempt: Callable[[], Awaitable[Answer]],
    *,
    policy: Retries,
    gate: PauseGate,
    operation: str,
    account_id: uuid.UUID | None = None,
    on_unauthorized: Callable[[Answer], Awaitable[bool]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random: Callable[[], float] = _random.random,
) -> Answer:
    """Run ``attempt`` until it gets an answer to return, or give up.

    Returns the first answer that is a success, an error the rules do not
    retry (the caller raises it with :func:`~._errors.raise_for_answer`), or
    the error envelope, which is the server's verdict on a processed request.

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
            token mode that dropped a refused token).
        sleep: Waits a number of seconds.
        random: Uniform numbers in ``[0, 1)``, for the jitter.

    Raises:
        OutcomeUnknownError: A non-idempotent request failed in a way that
            leaves open whether it took effect.
        TransportError: No answer, and no retry left.
        RateLimitError: The client is paused for longer than
            ``policy.max_retry_after``.
    """
    retried = rate_limited = 0
    reauthorized = False
    while True:
        error: TransportError | None = None
        answer: Answer | None = None
        try:
            answer = await attempt()
        except ClientPausedError as paused:
            limited = RateLimitError(
                f"the client is paused for another {paused.remaining:.3g} s after a 429, "
                f"longer than this call waits ({policy.max_retry_after:g} s)",
                status=429,
                operation=operation,
                account_id=account_id,
            )
            limited.retry_after = paused.remaining
            raise limited from None
        except TransportError as exc:
            found = failure_of(exc.__cause__) if exc.__cause__ is not None else None
            if found is None:
                raise
            error, failure = exc, found
        if answer is not None:
            if answer.status < 400 or envelope(answer.payload) is not None:
                return answer
            if (
                answer.status == 401
                and not reauthorized
                and on_unauthorized is not None
                and await on_unauthorized(answer)
            ):
                reauthorized = True
                continue
            retry_after = parse_retry_after(_header(answer.headers, "Retry-After"))
            failure = Failure.answer(answer.status, retry_after)
            if answer.status == 429 and retry_after is not None:
                # Every task of the client waits this out, not only this one.
                gate.pause(retry_after)

        verdict = decide(
            route, failure, retries_used=retried, rate_limited_used=rate_limited, policy=policy
        )
        if verdict is Verdict.RAISE:
            if error is not None:
                raise error
            assert answer is not None
            return answer
        if verdict is Verdict.OUTCOME_UNKNOWN:
            cause: BaseException | None = error
            if answer is not None:
                try:
                    raise_for_answer(
                        answer.status,
                        answer.headers,
                        answer.payload,
                        operation=operation,
                        account_id=account_id,
                    )
                except APIError as api_error:
                    cause = api_error
            raise OutcomeUnknownError(
                f"{operation} may or may not have taken effect: {_why(failure)}. "
                "It is not repeated, to avoid doing it twice; read the state back "
                "before trying again",
                operation=operation,
                account_id=account_id,
            ) from cause
        if verdict is Verdict.WAIT:
            rate_limited += 1
            delay = policy.backoff(rate_limited, random)
        else:
            retried += 1
            # Retry-After on a 503 says when to come back: honour it, capped.
            waited = min(failure.retry_after or 0.0, policy.max_retry_after)
            delay = waited + policy.backoff(retried, random)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: %s (account=%s); %s %d in %.3f s",
                operation,
                _why(failure) if failure.kind is FailureKind.ANSWER else failure.kind.value,
                account_id,
                "rate limited, try" if verdict is Verdict.WAIT else "retry",
                rate_limited if verdict is Verdict.WAIT else retried,
                delay,
            )
        await sleep(delay)
