"""The retry loop, driven by scripted attempts: no network, no waiting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aiohttp
import attrs
import pytest

from canvas_async import (
    CanvasConnectionError,
    CanvasTimeoutError,
    OutcomeUnknownError,
    RateLimitError,
    Retries,
    ServerError,
    TransportError,
    _routes,
)
from canvas_async._deadline import DeadlineExceededError, passed
from canvas_async._hooks import CallInfo
from canvas_async._limits import ClientPausedError, PauseGate
from canvas_async._retry_loop import Answer, run_attempts

READ = _routes.ROUTES["list_workflows"]
CREATE = _routes.ROUTES["create_workflow"]
RUN = _routes.ROUTES["run_workflow"]

OK = Answer(200, {}, [])


def status(code: int, retry_after: str | None = None) -> Answer:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return Answer(code, headers, "error text", {"Authorization": "Bearer t"})


def lost() -> TransportError:
    error = CanvasConnectionError("lost", operation="x")
    error.__cause__ = aiohttp.ServerDisconnectedError()
    return error


def read_timeout() -> TransportError:
    error = CanvasTimeoutError("slow", operation="x")
    error.__cause__ = aiohttp.SocketTimeoutError()
    return error


def not_sent() -> TransportError:
    error = CanvasTimeoutError("no connection", operation="x")
    error.__cause__ = aiohttp.ConnectionTimeoutError()
    return error


@attrs.define
class Script:
    """Attempts that play back answers and errors; sleeps that only record."""

    outcomes: Sequence[Answer | BaseException]
    attempts: int = 0
    sleeps: list[float] = attrs.Factory(list)
    gate: PauseGate = attrs.Factory(PauseGate)

    async def attempt(self) -> Answer:
        outcome = self.outcomes[self.attempts]
        self.attempts += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def run(
        self,
        route: _routes.Route = READ,
        policy: Retries | None = None,
        random: float = 0.5,
        reauthorize: bool | None = None,
    ) -> Answer:
        async def on_unauthorized(answer: Answer) -> bool:
            assert reauthorize is not None
            self.unauthorized.append(answer.sent)
            return reauthorize

        return await run_attempts(
            route,
            self.attempt,
            policy=policy or Retries(),
            gate=self.gate,
            call=CallInfo(route.operation, route.method, route.path, None, None, 0.0),
            on_unauthorized=None if reauthorize is None else on_unauthorized,
            sleep=self.sleep,
            random=lambda: random,
        )

    unauthorized: list[Mapping[str, str]] = attrs.Factory(list)


class TestEveryAttempt:
    """The loop sends every attempt, the first included."""

    async def test_error_answer_is_retried(self) -> None:
        script = Script([status(502), OK])

        assert await script.run() is OK
        assert script.attempts == 2
        assert script.sleeps == [0.25]

    async def test_transport_error_of_a_write_is_outcome_unknown(self) -> None:
        script = Script([lost(), OK])

        with pytest.raises(OutcomeUnknownError):
            await script.run(CREATE)
        assert script.attempts == 1

    async def test_pause_too_long_raises_rate_limit_error(self) -> None:
        script = Script([ClientPausedError(30.0, 10.0), OK])

        with pytest.raises(RateLimitError) as info:
            await script.run()
        assert info.value.retry_after == 30.0
        assert script.attempts == 1
        assert script.sleeps == []


class TestDeadlineDuringAWait:
    """A wait that overruns the deadline (a loaded or paused process) ends
    the call with what the last attempt got, not with "not sent"."""

    async def test_the_last_transport_error_is_raised(self) -> None:
        refused = not_sent()
        script = Script([refused, passed("ListWorkflows")])

        with pytest.raises(CanvasTimeoutError) as info:
            await script.run()
        assert info.value is refused
        assert not isinstance(info.value, DeadlineExceededError)
        assert script.attempts == 2

    async def test_the_last_answer_is_returned(self) -> None:
        busy = status(503)
        script = Script([busy, passed("ListWorkflows")])

        assert await script.run() is busy

    async def test_before_any_attempt_it_is_not_sent(self) -> None:
        script = Script([passed("ListWorkflows")])

        with pytest.raises(DeadlineExceededError, match="not sent"):
            await script.run()


class TestIdempotent:
    async def test_success_at_once(self) -> None:
        """No failure, no wait."""
        script = Script([OK])

        assert await script.run() is OK
        assert script.sleeps == []

    @pytest.mark.parametrize("failure", [lost, read_timeout, not_sent])
    async def test_transport_failures_are_retried(self, failure: type[Exception]) -> None:
        """A read is repeated after any transport failure."""
        script = Script([failure(), OK])

        assert await script.run() is OK
        assert script.attempts == 2

    async def test_gives_up_after_two_retries(self) -> None:
        """The default budget: three attempts, then the answer is returned to
        be raised."""
        script = Script([status(502), status(502), status(502), OK])

        answer = await script.run()

        assert answer.status == 502
        assert script.attempts == 3

    async def test_last_transport_error_is_raised(self) -> None:
        """Out of retries after transport failures: the last error propagates."""
        script = Script([lost(), lost(), read_timeout()])

        with pytest.raises(CanvasTimeoutError):
            await script.run()

    async def test_exponential_full_jitter(self) -> None:
        """Waits grow: [0, 0.5], [0, 1.0], ... drawn at the given point."""
        script = Script([status(504)] * 4 + [OK])

        await script.run(policy=Retries(max_retries=4), random=1.0)

        assert script.sleeps == [0.5, 1.0, 2.0, 4.0]

    async def test_retry_after_on_503_is_honoured(self) -> None:
        """A 503's Retry-After comes first, then the jitter."""
        script = Script([status(503, "2"), OK])

        await script.run(random=0.0)

        assert script.sleeps == [2.0]

    async def test_500_is_retried(self) -> None:
        """A 500 on a read is repeated: a read can do no harm."""
        script = Script([status(500), OK])

        assert await script.run() is OK
        assert script.attempts == 2

    async def test_501_is_not_retried(self) -> None:
        """A 501 on a read is raised at once: it will not change."""
        script = Script([status(501), OK])

        assert (await script.run()).status == 501
        assert script.attempts == 1

    async def test_envelope_is_not_retried(self) -> None:
        """The error envelope is the server's verdict, even with HTTP 503."""
        envelope = Answer(503, {}, {"State": 500, "Msg": "Unknown workflow template"})
        script = Script([envelope, OK])

        assert await script.run() is envelope

    async def test_other_exceptions_propagate(self) -> None:
        """A transport error without an aiohttp cause is not a failure to retry."""
        script = Script([CanvasConnectionError("odd", operation="x"), OK])

        with pytest.raises(CanvasConnectionError):
            await script.run()
        assert script.attempts == 1


class TestNotIdempotent:
    @pytest.mark.parametrize("failure", [lost, read_timeout])
    async def test_ambiguous_failure_is_outcome_unknown(self, failure: type[Exception]) -> None:
        """Lost or timed out after sending: never repeated."""
        script = Script([failure(), OK])

        with pytest.raises(OutcomeUnknownError, match="may or may not") as info:
            await script.run(CREATE)

        assert script.attempts == 1
        assert isinstance(info.value.__cause__, TransportError)
        assert info.value.operation == "Workflow"

    @pytest.mark.parametrize("code", [500, 502, 504])
    async def test_ambiguous_status_is_outcome_unknown(self, code: int) -> None:
        """A 500 (or a gateway's 502/504) after sending a run: never repeated."""
        script = Script([status(code), OK])

        with pytest.raises(OutcomeUnknownError, match=f"answered {code}") as info:
            await script.run(RUN)

        assert isinstance(info.value.__cause__, ServerError)
        assert script.attempts == 1

    async def test_not_sent_is_retried(self) -> None:
        """A connection that never opened: the request may be sent again."""
        script = Script([not_sent(), OK])

        assert await script.run(CREATE) is OK

    async def test_503_is_retried(self) -> None:
        """503 comes before processing: repeated."""
        script = Script([status(503), OK])

        assert await script.run(CREATE) is OK

    async def test_definite_refusal_is_returned(self) -> None:
        """A 400 is a known outcome: returned to be raised."""
        script = Script([status(400), OK])

        assert (await script.run(CREATE)).status == 400


class TestRateLimited:
    async def test_429_pauses_the_whole_client(self) -> None:
        """Retry-After closes the shared gate for everyone."""
        script = Script([status(429, "30"), OK])

        await script.run()

        assert 29 < script.gate.remaining() <= 30

    async def test_429_does_not_use_up_retries(self) -> None:
        """With max_retries=0, 429s are still waited out."""
        script = Script([status(429, "0"), status(429, "0"), OK])

        assert await script.run(CREATE, policy=Retries(max_retries=0)) is OK

    async def test_429_budget(self) -> None:
        """After max_rate_limited waits the 429 is returned to be raised."""
        script = Script([status(429, "0")] * 3 + [OK])

        answer = await script.run(policy=Retries(max_rate_limited=2))

        assert answer.status == 429
        assert script.attempts == 3

    async def test_too_long_retry_after_is_not_waited(self) -> None:
        """Retry-After beyond the cap: returned at once, the gate still closed
        so other calls fail fast too."""
        script = Script([status(429, "3600"), OK])

        answer = await script.run(policy=Retries(max_retry_after=60))

        assert answer.status == 429
        assert script.sleeps == []
        assert script.gate.remaining() > 3000

    async def test_http_date_retry_after(self) -> None:
        """Retry-After as an HTTP-date in the past reads as 0 s."""
        script = Script([status(429, "Wed, 21 Oct 2015 07:28:00 GMT"), OK])

        assert await script.run() is OK

    async def test_paused_too_long_raises_rate_limit_error(self) -> None:
        """The client is paused longer than this call may wait."""
        script = Script([ClientPausedError(120.0, 60.0)])

        with pytest.raises(RateLimitError, match="paused") as info:
            await script.run()

        assert info.value.retry_after == 120.0


class TestUnauthorized:
    async def test_one_retry_after_a_401(self) -> None:
        """The hook drops the token; the request is sent once more."""
        script = Script([status(401), OK])

        assert await script.run(CREATE, reauthorize=True) is OK
        assert script.unauthorized == [{"Authorization": "Bearer t"}]
        assert script.sleeps == []

    async def test_only_once(self) -> None:
        """A second 401 is returned to be raised."""
        script = Script([status(401), status(401), OK])

        assert (await script.run(reauthorize=True)).status == 401
        assert len(script.unauthorized) == 1

    async def test_key_mode_401_is_final(self) -> None:
        """The hook says no: the 401 is returned at once."""
        script = Script([status(401), OK])

        assert (await script.run(reauthorize=False)).status == 401
        assert script.attempts == 1
