"""Renewal under faults: a refresh that fails in any way gives way to one key exchange.

RefreshAccessToken rotates the refresh token, so a refresh that got no answer,
a server error or an unreadable answer cannot simply be sent again; the keys
always work. However many tasks wait, one renewal runs.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from datetime import timedelta

import pytest

from canvas_async._errors import (
    AuthenticationError,
    CanvasConnectionError,
    CanvasError,
    CanvasTimeoutError,
    OutcomeUnknownError,
    ServerError,
)
from canvas_async.testing import CanvasEmulator, DropConnection, ErrorStatus, ManualClock
from tests.resilience.test_token_manager import FakeServer
from tests.support import client_of, started

FAILURES: dict[str, Callable[[], CanvasError]] = {
    "refused": lambda: AuthenticationError(
        "refresh token is not found", status=401, operation="RefreshAccessToken"
    ),
    "server error": lambda: ServerError(
        "Service Unavailable", status=503, operation="RefreshAccessToken"
    ),
    "no connection": lambda: CanvasConnectionError("reset", operation="RefreshAccessToken"),
    "no answer in time": lambda: CanvasTimeoutError("timeout", operation="RefreshAccessToken"),
    "outcome unknown": lambda: OutcomeUnknownError("lost", operation="RefreshAccessToken"),
}


@pytest.mark.parametrize("failure", list(FAILURES), ids=list(FAILURES))
async def test_a_failed_refresh_gives_way_to_one_key_exchange(failure: str) -> None:
    server = FakeServer(delay=0.01)
    manager = server.manager()
    await manager.authorization()
    server.now += timedelta(minutes=20)

    async def failing(token: str) -> object:
        server.refreshes += 1
        await asyncio.sleep(0.01)
        raise FAILURES[failure]()

    server.on_refresh = failing

    values = await asyncio.gather(*(manager.authorization() for _ in range(100)))

    assert set(values) == {"Bearer access-2"}
    assert (server.refreshes, server.exchanges) == (1, 2)


async def test_a_refresh_answer_that_is_no_token_gives_way_too() -> None:
    server = FakeServer()
    manager = server.manager()
    await manager.authorization()
    server.now += timedelta(minutes=20)

    async def odd(token: str) -> object:
        server.refreshes += 1
        return True

    server.on_refresh = odd

    assert await manager.authorization() == "Bearer access-2"
    assert (server.refreshes, server.exchanges) == (1, 2)


@pytest.mark.parametrize(
    ("fault", "times"),
    [
        (ErrorStatus(503, retry_after=None), 3),  # every try of the refresh
        (ErrorStatus(500, after_effect=True), 1),  # rotated, answer lost
        (DropConnection(after_effect=True), 1),  # rotated, connection lost
        (DropConnection(), 3),
    ],
    ids=["503", "500-after-effect", "drop-after-effect", "drop"],
)
async def test_a_client_renews_through_a_failing_refresh(
    fault: ErrorStatus | DropConnection, times: int
) -> None:
    async with started(CanvasEmulator(auth="token", seed="empty")) as emu:
        async with client_of(emu, auth="token", retries=2) as canvas:
            await canvas.accounts.list()
            emu.faults.add(fault, operations={"refresh_access_token"}, times=times)
            emu.expire_access_tokens()

            listed = await asyncio.gather(*(canvas.workflows.list() for _ in range(20)))

            assert listed == [[]] * 20
        sent = collections.Counter(record.operation for record in emu.log)
        # One refresh (aiohttp may send a GET again on a dropped reused
        # connection, to meet a rotated token), then one exchange of the keys.
        assert sent["refresh_access_token"] >= 1
        assert sent["authenticate"] == 2
        assert emu.state.tokens.deletes == 1


@pytest.mark.parametrize(
    "fault",
    [ErrorStatus(503, retry_after=None), ErrorStatus(502, after_effect=True)],
    ids=["503", "502-after-effect"],
)
async def test_closing_revokes_through_a_flaky_moment(
    fault: ErrorStatus, caplog: pytest.LogCaptureFixture
) -> None:
    async with started(CanvasEmulator(auth="token", seed="empty")) as emu:
        async with client_of(emu, auth="token") as canvas:
            await canvas.accounts.list()
            emu.faults.add(fault, operations={"delete_token"}, times=1)
        assert emu.state.tokens.deletes == 1
        assert [r.operation for r in emu.log].count("delete_token") == 2
    assert "could not revoke" not in caplog.text


async def test_a_client_that_outlives_its_refresh_token_exchanges_the_keys() -> None:
    clock = ManualClock()
    async with started(CanvasEmulator(auth="token", seed="empty", clock=clock)) as emu:
        async with client_of(emu, auth="token") as canvas:
            await canvas.accounts.list()
            # A day later by the server's clock: both tokens are dead there.
            clock.advance(timedelta(days=1, minutes=1))

            assert await canvas.workflows.list() == []
        sent = collections.Counter((record.operation, record.status) for record in emu.log)
        assert sent["list_workflows", 401] == 1
        assert sent["refresh_access_token", 401] == 1
        assert sent["authenticate", 200] == 2
        assert emu.state.tokens.deletes == 1
