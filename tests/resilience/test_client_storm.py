"""A 429 storm: a server limit of R requests a second, 200 account-scoped calls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import attrs
import pytest

from canvas_async import Canvas, Retries
from canvas_async.testing import CanvasEmulator, ErrorStatus, RateLimit
from tests.support import client_of, started

CALLS = 200
ACCOUNTS = 50
SERVER_RATE = 20  # requests a second: far below what a loaded machine still sends (100 was not)
MAX_CONCURRENCY = 32


@attrs.define
class ClientLog:
    """What the client did, seen through aiohttp's tracing: when each request
    started, and when each 429 arrived with which Retry-After."""

    loop: asyncio.AbstractEventLoop
    starts: list[float] = attrs.Factory(list)
    limited: list[tuple[float, float]] = attrs.Factory(list)

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_start(
            session: aiohttp.ClientSession, ctx: object, params: aiohttp.TraceRequestStartParams
        ) -> None:
            self.starts.append(self.loop.time())

        async def on_end(
            session: aiohttp.ClientSession, ctx: object, params: aiohttp.TraceRequestEndParams
        ) -> None:
            if params.response.status == 429:
                seconds = float(params.response.headers["Retry-After"])
                self.limited.append((self.loop.time(), seconds))

        config.on_request_start.append(on_start)
        config.on_request_end.append(on_end)
        return config


@pytest.fixture
async def storm() -> AsyncIterator[CanvasEmulator]:
    async with started(CanvasEmulator(seed="empty", synthetic_accounts=ACCOUNTS)) as emulator:
        emulator.faults.add(RateLimit(per_second=SERVER_RATE))
        yield emulator


async def test_two_hundred_calls_under_a_429_storm(storm: CanvasEmulator) -> None:
    """Every call succeeds; nothing is sent while a Retry-After runs; the
    server sees at most the requests already in flight during a pause."""
    loop = asyncio.get_running_loop()
    log = ClientLog(loop)
    accounts = storm.state.managed_ids[:ACCOUNTS]
    async with (
        aiohttp.ClientSession(
            trace_configs=[log.trace()],
            connector=aiohttp.TCPConnector(limit=MAX_CONCURRENCY),
        ) as session,
        Canvas(
            consumer=storm.consumer,
            secret_key=storm.secret_key,
            env=storm.url,
            timeout=10,
            max_concurrency=MAX_CONCURRENCY,
            retries=Retries(backoff_initial=0.05, backoff_max=0.2),
            session=session,
        ) as canvas,
    ):
        results = await asyncio.gather(
            *(canvas.for_account(accounts[i % ACCOUNTS]).workflows.list() for i in range(CALLS))
        )

    assert len(results) == CALLS
    assert all(r == [] for r in results)
    served = [r for r in storm.log if r.status == 200]
    refused = [r for r in storm.log if r.status == 429]
    assert len(served) == CALLS
    assert refused, "the storm never happened: raise CALLS or lower SERVER_RATE"

    # The client sent nothing between learning of a 429 and its Retry-After.
    for received, seconds in log.limited:
        inside = [t for t in log.starts if received < t < received + seconds]
        assert inside == [], f"{len(inside)} requests sent during a Retry-After window"

    # The server, in turn, saw during each pause little more than what was in
    # flight when the client heard of the 429 (without the pause: hundreds).
    for record in refused:
        window = [r for r in storm.log if record.time < r.time < record.time + 1]
        assert len(window) <= 2 * MAX_CONCURRENCY

    # Accounts are spread as asked.
    assert {r.account_header for r in served} == {str(a) for a in accounts}


async def test_retries_are_spread_not_in_lockstep(canvas_emulator: CanvasEmulator) -> None:
    """50 reads failing together with 503 come back at 50 different moments
    spread over the backoff window, not in one burst."""
    canvas_emulator.faults.add(ErrorStatus(503, retry_after=None), times=50)
    async with client_of(canvas_emulator, retries=Retries(backoff_initial=1.0)) as canvas:
        await asyncio.gather(*(canvas.workflows.list() for _ in range(50)))

    refused = [r.time for r in canvas_emulator.log if r.status == 503]
    retried = sorted(r.time for r in canvas_emulator.log if r.status == 200)
    assert len(refused) == len(retried) == 50
    start = max(refused)
    # 50 ms buckets over a 1 s window: 50 uniform waits fill ~18 of the 20,
    # in lockstep they would fill one or two. The buckets are wide and the
    # bar low because arrivals are timed on the server, whose event loop a
    # loaded machine stalls for tens of milliseconds at a time, bunching them.
    buckets = {int((t - start) / 0.05) for t in retried}
    assert len(buckets) >= 8, sorted(buckets)


async def test_one_429_pauses_every_account_view(canvas_emulator: CanvasEmulator) -> None:
    """A 429 answered to one account's call holds back the calls of all
    accounts of the client until Retry-After has passed."""
    canvas_emulator.faults.add(ErrorStatus(429, retry_after=1), times=1)
    accounts = [uuid.UUID(int=i) for i in range(5)]
    async with Canvas(
        consumer=canvas_emulator.consumer,
        secret_key=canvas_emulator.secret_key,
        env=canvas_emulator.url,
        max_concurrency=1,
    ) as canvas:
        first = asyncio.create_task(canvas.workflows.list())
        await asyncio.sleep(0)
        others = [asyncio.create_task(canvas.for_account(a).meta.endpoints()) for a in accounts]
        await asyncio.gather(first, *others)

    log = canvas_emulator.log
    limited = next(r for r in log if r.status == 429)
    after = [r for r in log if r.time > limited.time]
    assert after
    assert min(r.time for r in after) >= limited.time + 1


async def test_client_rate_at_the_server_limit_meets_no_429() -> None:
    """rate_limit is shared by every account view: at the server's own limit,
    the requests arrive evenly spaced and none is refused."""
    async with started(CanvasEmulator(seed="empty", synthetic_accounts=5)) as emu:
        emu.faults.add(RateLimit(per_second=40))
        accounts = emu.state.managed_ids[:5]
        async with client_of(emu, rate_limit=40) as canvas:
            await asyncio.gather(
                *(canvas.for_account(accounts[i % 5]).workflows.list() for i in range(60))
            )

    # None refused, and no faster than the limit on average. (Single gaps are not
    # judged: a loaded machine stalls either loop and delivers two at once.)
    times = [r.time for r in emu.log]
    assert [r.status for r in emu.log] == [200] * 60
    assert (times[-1] - times[0]) / (len(times) - 1) >= 0.95 / 40
