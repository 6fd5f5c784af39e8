"""Token mode through the client, against the emulator's real HS256 tokens."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from canvas_async import AuthenticationError, CallEvent, Canvas, Hooks, TokenAuth, _routes
from canvas_async.testing import AuthMode, CanvasEmulator, ManualClock
from tests.support import client_of, started


def operations(emu: CanvasEmulator, key: str) -> int:
    return [r.operation for r in emu.log].count(key)


pytestmark = pytest.mark.canvas_emulator(auth="token")


async def test_keys_are_exchanged_once(emu: CanvasEmulator) -> None:
    """One /Authenticate, then bearer tokens on every call."""
    async with client_of(emu, auth="token") as canvas:
        await asyncio.gather(*(canvas.workflows.list() for _ in range(20)))

    assert emu.state.tokens.issued == 1
    assert operations(emu, "list_workflows") == 20
    assert all(r.status == 200 for r in emu.log if r.operation == "list_workflows")


async def test_500_calls_with_an_expired_token_refresh_once(emu: CanvasEmulator) -> None:
    """The server expires the token: 500 calls get 401, one refresh, all succeed."""
    async with client_of(emu, auth="token", max_concurrency=100) as canvas:
        await canvas.workflows.list()
        emu.expire_access_tokens()

        results = await asyncio.gather(*(canvas.workflows.list() for _ in range(500)))

    assert len(results) == 500
    assert emu.state.tokens.refreshes == 1
    assert operations(emu, "refresh_access_token") == 1


async def test_token_requests_take_the_clients_own_path(emu: CanvasEmulator) -> None:
    """The transport sends what the auth flow yields as any request: hooks see
    the exchange, the one refresh and the revocation; one slot serves them
    all, since a request's headers come before it takes its slot."""
    done: list[str] = []

    async def succeeded(event: CallEvent) -> None:
        done.append(event.operation)

    hooks = Hooks(on_success=succeeded)
    async with client_of(emu, auth="token", max_concurrency=1, hooks=hooks) as canvas:
        await canvas.workflows.list()
        emu.expire_access_tokens()
        await asyncio.gather(*(canvas.workflows.list() for _ in range(20)))

    token_requests = [name for name in done if name != _routes.ROUTES["list_workflows"].label]
    assert token_requests == [
        _routes.ROUTES["authenticate"].label,
        _routes.ROUTES["refresh_access_token"].label,
        _routes.ROUTES["delete_token"].label,
    ]
    assert done.count(_routes.ROUTES["list_workflows"].label) == 21


async def test_renewed_before_expiry_without_a_401() -> None:
    """A token near its expiry is refreshed first: 500 calls, one refresh, no 401."""
    async with (
        started(CanvasEmulator(auth="token", access_token_lifetime=timedelta(seconds=3))) as emu,
        client_of(emu, auth="token", max_concurrency=100) as canvas,
    ):
        await canvas.workflows.list()
        # A 3 s token is renewed at half its life, before it expires. The
        # renewed token lives an hour, so however long the 500 calls take on
        # a loaded machine, it neither falls due nor expires among them (with
        # a 3 s one, calls queued for a slot past its expiry got a 401 and a
        # second refresh: the client's right answer to a too-slow test).
        emu.state.tokens.access_lifetime = timedelta(hours=1)
        await asyncio.sleep(1.6)

        await asyncio.gather(*(canvas.workflows.list() for _ in range(500)))

    assert emu.state.tokens.refreshes == 1
    assert [r.status for r in emu.log if r.status == 401] == []


async def test_close_sends_one_delete_token(emu: CanvasEmulator) -> None:
    """aclose() revokes the pair once, even when called twice."""
    canvas = client_of(emu, auth="token")
    await canvas.workflows.list()

    await asyncio.gather(canvas.aclose(), canvas.aclose())
    await canvas.aclose()

    assert emu.state.tokens.deletes == 1
    assert operations(emu, "delete_token") == 1


async def test_rejected_refresh_token_exchanges_the_keys_again() -> None:
    """The refresh token expired on the server: one new key exchange."""
    clock = ManualClock()
    async with (
        started(CanvasEmulator(auth="token", clock=clock)) as emu,
        client_of(emu, auth="token") as canvas,
    ):
        await canvas.workflows.list()
        clock.advance(timedelta(days=2))  # both tokens are dead on the server

        await canvas.workflows.list()

    assert emu.state.tokens.issued == 2
    assert operations(emu, "refresh_access_token") == 1


async def test_wrong_keys_raise_authentication_error(emu: CanvasEmulator) -> None:
    """Refused keys: AuthenticationError, after one exchange."""
    async with Canvas(
        consumer=emu.consumer, secret_key="wrong", env=emu.url, auth="token"
    ) as canvas:
        with pytest.raises(AuthenticationError):
            await canvas.workflows.list()

    assert operations(emu, "authenticate") == 1
    assert operations(emu, "list_workflows") == 0


@pytest.mark.parametrize(("mode", "issued"), [("token", 1), ("keys", 0)])
async def test_auto_follows_the_server(mode: AuthMode, issued: int) -> None:
    """auto: /Authenticate once; its answer picks the mode."""
    async with started(CanvasEmulator(auth=mode)) as emu, client_of(emu, auth="auto") as canvas:
        await asyncio.gather(*(canvas.workflows.list() for _ in range(10)))

    assert operations(emu, "authenticate") == 1
    assert emu.state.tokens.issued == issued
    assert all(r.status == 200 for r in emu.log)


async def test_auth_object(emu: CanvasEmulator) -> None:
    """A TokenAuth instance tunes the mode; it belongs to one client."""
    auth = TokenAuth(refresh_margin=timedelta(minutes=2))
    async with client_of(emu, auth=auth) as canvas:
        await canvas.workflows.list()

    assert emu.state.tokens.issued == 1
