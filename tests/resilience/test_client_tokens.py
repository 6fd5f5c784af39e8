"""Token mode through the client, against the emulator's real HS256 tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from canvas_async import AuthenticationError, Canvas
from canvas_async._tokens import TokenAuth
from canvas_async.testing import CanvasEmulator, ManualClock


def client(emu: CanvasEmulator, **options: object) -> Canvas:
    return Canvas(
        consumer=emu.consumer,
        secret_key=emu.secret_key,
        env=emu.url,
        timeout=5,
        **options,  # type: ignore[arg-type]
    )


def operations(emu: CanvasEmulator, key: str) -> int:
    return [r.operation for r in emu.log].count(key)


@pytest.fixture
async def token_emu() -> AsyncIterator[CanvasEmulator]:
    async with CanvasEmulator(auth="token") as emulator:
        yield emulator


async def test_keys_are_exchanged_once(token_emu: CanvasEmulator) -> None:
    """One /Authenticate, then bearer tokens on every call."""
    async with client(token_emu, auth="token") as canvas:
        await asyncio.gather(*(canvas.workflows.list() for _ in range(20)))

    assert token_emu.state.tokens.issued == 1
    assert operations(token_emu, "list_workflows") == 20
    assert all(r.status == 200 for r in token_emu.log if r.operation == "list_workflows")


async def test_500_calls_with_an_expired_token_refresh_once(token_emu: CanvasEmulator) -> None:
    """The server expires the token: 500 calls get 401, one refresh, all succeed."""
    async with client(token_emu, auth="token", max_concurrency=100) as canvas:
        await canvas.workflows.list()
        token_emu.expire_access_tokens()

        results = await asyncio.gather(*(canvas.workflows.list() for _ in range(500)))

    assert len(results) == 500
    assert token_emu.state.tokens.refreshes == 1
    assert operations(token_emu, "refresh_access_token") == 1


async def test_renewed_before_expiry_without_a_401() -> None:
    """A token near its expiry is refreshed first: 500 calls, one refresh, no 401."""
    async with (
        CanvasEmulator(auth="token", access_token_lifetime=timedelta(seconds=3)) as emu,
        client(emu, auth="token", max_concurrency=100) as canvas,
    ):
        await canvas.workflows.list()
        # A 3 s token is renewed at half its life; the server's whole-second
        # exp keeps it valid for at least 2 s.
        await asyncio.sleep(1.6)

        await asyncio.gather(*(canvas.workflows.list() for _ in range(500)))

    assert emu.state.tokens.refreshes == 1
    assert [r.status for r in emu.log if r.status == 401] == []


async def test_close_sends_one_delete_token(token_emu: CanvasEmulator) -> None:
    """aclose() revokes the pair once, even when called twice."""
    canvas = client(token_emu, auth="token")
    await canvas.workflows.list()

    await asyncio.gather(canvas.aclose(), canvas.aclose())
    await canvas.aclose()

    assert token_emu.state.tokens.deletes == 1
    assert operations(token_emu, "delete_token") == 1


async def test_rejected_refresh_token_exchanges_the_keys_again() -> None:
    """The refresh token expired on the server: one new key exchange."""
    clock = ManualClock()
    async with (
        CanvasEmulator(auth="token", clock=clock) as emu,
        client(emu, auth="token") as canvas,
    ):
        await canvas.workflows.list()
        clock.advance(timedelta(days=2))  # both tokens are dead on the server

        await canvas.workflows.list()

    assert emu.state.tokens.issued == 2
    assert operations(emu, "refresh_access_token") == 1


async def test_wrong_keys_raise_authentication_error(token_emu: CanvasEmulator) -> None:
    """Refused keys: AuthenticationError, after one exchange."""
    async with Canvas(
        consumer=token_emu.consumer, secret_key="wrong", env=token_emu.url, auth="token"
    ) as canvas:
        with pytest.raises(AuthenticationError):
            await canvas.workflows.list()

    assert operations(token_emu, "authenticate") == 1
    assert operations(token_emu, "list_workflows") == 0


@pytest.mark.parametrize(("mode", "issued"), [("token", 1), ("keys", 0)])
async def test_auto_follows_the_server(mode: str, issued: int) -> None:
    """auto: /Authenticate once; its answer picks the mode."""
    async with CanvasEmulator(auth=mode) as emu, client(emu, auth="auto") as canvas:  # type: ignore[arg-type]
        await asyncio.gather(*(canvas.workflows.list() for _ in range(10)))

    assert operations(emu, "authenticate") == 1
    assert emu.state.tokens.issued == issued
    assert all(r.status == 200 for r in emu.log)


async def test_auth_object(token_emu: CanvasEmulator) -> None:
    """A TokenAuth instance tunes the mode; it belongs to one client."""
    auth = TokenAuth(refresh_margin=timedelta(minutes=2))
    async with client(token_emu, auth=auth) as canvas:
        await canvas.workflows.list()

    assert token_emu.state.tokens.issued == 1
