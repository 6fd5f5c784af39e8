"""The retry rules: which failure of which operation is repeated, and when."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_async import Retries, ValidationError, _routes
from canvas_async._retry import (
    DEFAULT_RETRIES,
    Failure,
    FailureKind,
    Verdict,
    decide,
    may_have_taken_effect,
    not_sent,
    transient,
)
from canvas_async._retry_loop import failure_of

NOT_SENT = Failure(FailureKind.NOT_SENT)
LOST = Failure(FailureKind.LOST)
TIMEOUT = Failure(FailureKind.TIMEOUT)


class TestRouteTable:
    def test_creating_and_running_is_not_idempotent(self) -> None:
        """The POSTs whose repeat would duplicate something are marked so."""
        not_idempotent = {r.key for r in _routes.ROUTES.values() if not r.idempotent}

        assert {
            "create_account",
            "create_reg_application",
            "create_workflow",
            "run_workflow",
            "refresh_access_token",
        } == not_idempotent

    @pytest.mark.parametrize("key", ["workflow_scheduler", "delete_workflow"])
    def test_setting_state_and_deleting_may_be_repeated(self, key: str) -> None:
        """WorkflowScheduler sets a state, DeleteWorkflow removes: both repeatable."""
        assert _routes.ROUTES[key].idempotent


class TestVocabulary:
    """The three predicates every retry rule (loop, write, requeue) is written with."""

    @pytest.mark.parametrize(
        ("failure", "sent", "effect", "passing"),
        [
            (NOT_SENT, False, False, True),
            (LOST, True, True, True),
            (TIMEOUT, True, True, True),
            (Failure.answer(429), False, False, True),
            (Failure.answer(503), False, False, True),
            (Failure.answer(500), True, True, True),
            (Failure.answer(502), True, True, True),
            (Failure.answer(504), True, True, True),
            (Failure.answer(408), True, False, True),
            (Failure.answer(400), True, False, False),
            (Failure.answer(404), True, False, False),
            (Failure.answer(501), True, False, False),
        ],
    )
    def test_each_failure(self, failure: Failure, sent: bool, effect: bool, passing: bool) -> None:
        assert not_sent(failure) is not sent
        assert may_have_taken_effect(failure) is effect
        assert transient(failure) is passing


def classify(idempotent: bool, failure: Failure) -> Verdict:
    """What a failure of a read (idempotent) or a create calls for, budgets unused."""
    route = _routes.ROUTES["list_workflows" if idempotent else "create_workflow"]
    return decide(route, failure)


class TestClassifyIdempotent:
    @pytest.mark.parametrize("failure", [NOT_SENT, LOST, TIMEOUT])
    def test_connection_failures_and_timeouts_are_retried(self, failure: Failure) -> None:
        """A read may be repeated after any transport failure."""
        assert Verdict.RETRY is classify(True, failure)

    @pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
    def test_retryable_statuses(self, status: int) -> None:
        """408, 500, 502, 503 and 504 are repeated."""
        assert Verdict.RETRY is classify(True, Failure.answer(status))

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
    def test_other_statuses_raise(self, status: int) -> None:
        """Client errors and a 501 are not repeated."""
        assert Verdict.RAISE is classify(True, Failure.answer(status))

    def test_429_waits(self) -> None:
        """A 429 is waited out, on its own budget."""
        assert Verdict.WAIT is classify(True, Failure.answer(429, 1.0))


class TestClassifyNotIdempotent:
    def test_not_sent_is_retried(self) -> None:
        """A connection that never opened proves nothing was sent."""
        assert Verdict.RETRY is classify(False, NOT_SENT)

    @pytest.mark.parametrize("failure", [LOST, TIMEOUT])
    def test_ambiguous_transport_failures_are_outcome_unknown(self, failure: Failure) -> None:
        """Lost after sending, or no answer in time: the effect may have happened."""
        assert Verdict.OUTCOME_UNKNOWN is classify(False, failure)

    @pytest.mark.parametrize("status", [500, 502, 504])
    def test_ambiguous_statuses_are_outcome_unknown(self, status: int) -> None:
        """A 500, or a gateway's 502/504, may come after the effect."""
        assert Verdict.OUTCOME_UNKNOWN is classify(False, Failure.answer(status))

    def test_503_is_retried(self) -> None:
        """503 is answered before processing."""
        assert Verdict.RETRY is classify(False, Failure.answer(503))

    def test_429_waits(self) -> None:
        """429 is answered before processing."""
        assert Verdict.WAIT is classify(False, Failure.answer(429))

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 409])
    def test_definite_refusals_raise(self, status: int) -> None:
        """A refusal is a known outcome: raise it as it is."""
        assert Verdict.RAISE is classify(False, Failure.answer(status))


class TestDecide:
    READ = _routes.ROUTES["list_workflows"]
    CREATE = _routes.ROUTES["create_workflow"]

    def test_retries_until_the_budget_is_used(self) -> None:
        """max_retries retries, then the failure is raised."""
        policy = Retries(max_retries=2)

        verdicts = [
            decide(self.READ, TIMEOUT, retries_used=n, rate_limited_used=0, policy=policy)
            for n in range(4)
        ]

        assert verdicts == [Verdict.RETRY, Verdict.RETRY, Verdict.RAISE, Verdict.RAISE]

    def test_default_is_two_retries(self) -> None:
        """The default budget is 2."""
        assert DEFAULT_RETRIES.max_retries == 2
        assert Verdict.RAISE is decide(self.READ, LOST, retries_used=2, rate_limited_used=0)

    def test_zero_retries(self) -> None:
        """max_retries=0 raises the first failure."""
        policy = Retries.of(0)

        assert Verdict.RAISE is decide(
            self.READ, NOT_SENT, retries_used=0, rate_limited_used=0, policy=policy
        )

    def test_outcome_unknown_does_not_depend_on_the_budget(self) -> None:
        """An ambiguous failure of a POST is never retried, budget or not."""
        for used in (0, 5):
            assert Verdict.OUTCOME_UNKNOWN is decide(
                self.CREATE, Failure.answer(500), retries_used=used, rate_limited_used=0
            )

    def test_429_has_its_own_budget(self) -> None:
        """429s do not use up max_retries; max_rate_limited bounds them."""
        policy = Retries(max_retries=0, max_rate_limited=3)
        limited = Failure.answer(429, 0.1)

        assert Verdict.WAIT is decide(
            self.CREATE, limited, retries_used=0, rate_limited_used=2, policy=policy
        )
        assert Verdict.RAISE is decide(
            self.CREATE, limited, retries_used=0, rate_limited_used=3, policy=policy
        )

    def test_retry_after_beyond_the_cap_raises(self) -> None:
        """A Retry-After longer than max_retry_after is not waited out."""
        policy = Retries(max_retry_after=5)

        assert Verdict.WAIT is decide(
            self.READ, Failure.answer(429, 5), retries_used=0, rate_limited_used=0, policy=policy
        )
        assert Verdict.RAISE is decide(
            self.READ, Failure.answer(429, 5.1), retries_used=0, rate_limited_used=0, policy=policy
        )


class TestBackoff:
    def test_full_jitter_bounds(self) -> None:
        """The wait is drawn from [0, min(cap, initial * 2**(n-1))]."""
        policy = Retries(backoff_initial=0.5, backoff_max=3.0)

        assert policy.backoff(1, lambda: 0.0) == 0.0
        assert policy.backoff(1, lambda: 0.5) == 0.25
        assert policy.backoff(2, lambda: 0.5) == 0.5
        assert policy.backoff(3, lambda: 0.5) == 1.0
        assert policy.backoff(10, lambda: 0.5) == 1.5  # capped at 3.0

    def test_huge_retry_numbers_are_capped(self) -> None:
        """No overflow, however many retries."""
        assert Retries(backoff_max=7.0).backoff(100_000, lambda: 1.0) == 7.0

    @given(
        retry=st.integers(min_value=1, max_value=5000),
        initial=st.floats(min_value=0, max_value=100),
        cap=st.floats(min_value=0, max_value=100),
        draw=st.floats(min_value=0, max_value=1, exclude_max=True),
    )
    def test_never_beyond_the_cap(
        self, retry: int, initial: float, cap: float, draw: float
    ) -> None:
        """Whatever the settings, 0 <= wait <= backoff_max."""
        policy = Retries(backoff_initial=initial, backoff_max=cap)

        assert 0 <= policy.backoff(retry, lambda: draw) <= cap

    def test_spread_not_lockstep(self) -> None:
        """A thousand tasks failing together come back at a thousand moments,
        spread over the whole window, not bunched at its end."""
        policy = Retries(backoff_initial=1.0)
        rng = random.Random(7)

        waits = [policy.backoff(1, rng.random) for _ in range(1000)]

        assert len(set(waits)) == 1000
        assert min(waits) < 0.1
        assert max(waits) > 0.9
        assert 0.4 < sorted(waits)[500] < 0.6


class TestRetriesSettings:
    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"max_retries": -1}, "max_retries"),
            ({"max_retries": 1.5}, "max_retries"),
            ({"max_retries": True}, "max_retries"),
            ({"max_rate_limited": -1}, "max_rate_limited"),
            ({"backoff_initial": -0.1}, "backoff_initial"),
            ({"backoff_max": float("inf")}, "backoff_max"),
            ({"max_retry_after": "5"}, "max_retry_after"),
        ],
    )
    def test_bad_values_are_refused(self, kwargs: dict[str, object], name: str) -> None:
        """A clear error names the setting."""
        with pytest.raises(ValidationError, match=name):
            Retries(**kwargs)  # type: ignore[arg-type]

    def test_of(self) -> None:
        """An int sets max_retries; Retries passes through."""
        policy = Retries(max_retries=5)

        assert policy is Retries.of(policy)
        assert Retries.of(3).max_retries == 3


# -- failure_of, over real sockets ---------------------------------------------


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start TCP servers on 127.0.0.1:0 with a given connection handler."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/GetMetaData"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _exception_of(url: str, limits: aiohttp.ClientTimeout) -> BaseException:
    async with aiohttp.ClientSession(timeout=limits) as session:
        try:
            async with session.post(url, data=b"{}") as answer:
                await answer.read()
        except Exception as exc:
            return exc
    raise AssertionError("the request succeeded")


class TestFailureOf:
    async def test_refused_connection_is_not_sent(self) -> None:
        """Nothing listens: the request never left."""
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()

        exc = await _exception_of(f"http://127.0.0.1:{port}/", aiohttp.ClientTimeout(total=5))

        assert Failure(FailureKind.NOT_SENT) == failure_of(exc)

    async def test_connection_closed_after_sending_is_lost(
        self, raw_server: Callable[[Handler], Awaitable[str]]
    ) -> None:
        """The server read the request, then hung up without answering."""

        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        url = await raw_server(hang_up)

        exc = await _exception_of(url, aiohttp.ClientTimeout(total=5))

        assert Failure(FailureKind.LOST) == failure_of(exc)

    async def test_no_answer_is_a_timeout(
        self, raw_server: Callable[[Handler], Awaitable[str]]
    ) -> None:
        """The server read the request and never answered."""

        async def ignore(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reader.read()  # until the client gives up and closes
            writer.close()

        url = await raw_server(ignore)

        exc = await _exception_of(url, aiohttp.ClientTimeout(total=5, sock_read=0.05))

        assert Failure(FailureKind.TIMEOUT) == failure_of(exc)

    async def test_total_timeout_is_a_timeout(
        self, raw_server: Callable[[Handler], Awaitable[str]]
    ) -> None:
        """The total timeout fires while waiting for the answer."""

        async def ignore(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reader.read()  # until the client gives up and closes
            writer.close()

        url = await raw_server(ignore)

        exc = await _exception_of(url, aiohttp.ClientTimeout(total=0.05))

        assert Failure(FailureKind.TIMEOUT) == failure_of(exc)

    @pytest.mark.parametrize("exc", [ValueError("bug"), asyncio.CancelledError()])
    def test_other_exceptions_are_not_failures(self, exc: BaseException) -> None:
        """Bugs and cancellations propagate as they are."""
        assert failure_of(exc) is None
