"""The token manager against the emulator's token mode, over real sockets.

The three token requests are sent with a bare aiohttp session here, so these
tests pin TokenAuth's rules to the emulator's real HS256 tokens, rotation
and revocation, independently of the client that wires it in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import attrs
import pytest

from canvas_async import AuthenticationError, _routes
from canvas_async._auth import TokenRequest
from canvas_async._errors import decode_body, error_for_answer
from canvas_async.testing import CanvasEmulator
from tests.resilience.test_token_manager import Driven, bound

pytestmark = pytest.mark.canvas_emulator(auth="token")


@attrs.define
class Wire:
    """The three token requests, and one session call, over one session."""

    emulator: CanvasEmulator
    session: aiohttp.ClientSession
    shift: timedelta = timedelta(0)

    async def _send(
        self, key: str, headers: dict[str, str], params: dict[str, str] | None = None
    ) -> object:
        route = _routes.ROUTES[key]
        async with self.session.request(
            route.method, self.emulator.url + route.path, headers=headers, params=params
        ) as answer:
            payload = decode_body(answer.content_type, await answer.read())
            error = error_for_answer(
                answer.status, answer.headers, payload, operation=route.operation
            )
            if error is not None:
                raise error
            return payload

    async def send(self, request: TokenRequest) -> object:
        keys = {
            _routes.CONSUMER_HEADER: self.emulator.consumer,
            _routes.SECRET_KEY_HEADER: self.emulator.secret_key,
        }
        headers = keys if request.key == "authenticate" else {}
        return await self._send(request.key, headers, dict(request.params or {}))

    async def revoke(self, token: str) -> object:
        return await self._send("delete_token", {}, {"refreshToken": token})

    async def list_workflows(self, authorization: str) -> object:
        return await self._send("list_workflows", {_routes.AUTHORIZATION_HEADER: authorization})

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def manager(self) -> Driven:
        return Driven(bound(self.now), self.send)


@pytest.fixture
async def wire(canvas_emulator: CanvasEmulator) -> AsyncIterator[Wire]:
    async with aiohttp.ClientSession() as session:
        yield Wire(canvas_emulator, session)


async def test_the_issued_token_authenticates(wire: Wire) -> None:
    """The value handed out is accepted as ``Authorization`` as it is."""
    manager = wire.manager()

    workflows = await wire.list_workflows(await manager.authorization())

    assert isinstance(workflows, list)
    assert wire.emulator.state.tokens.issued == 1


async def test_500_tasks_near_expiry_refresh_once(wire: Wire) -> None:
    """500 tasks finding the token about to expire send one RefreshAccessToken."""
    manager = wire.manager()
    first = await manager.authorization()
    wire.shift = timedelta(minutes=10)  # the emulator's tokens live 10 minutes

    values = await asyncio.gather(*(manager.authorization() for _ in range(500)))

    assert {values[0]} == set(values)
    assert values[0] != first
    assert wire.emulator.state.tokens.refreshes == 1
    assert len([r for r in wire.emulator.log if r.operation == "refresh_access_token"]) == 1


async def test_401_then_one_refresh(wire: Wire) -> None:
    """Tokens the server expired: 401, invalidate, one refresh, accepted again."""
    manager = wire.manager()
    used = await manager.authorization()
    wire.emulator.expire_access_tokens()

    with pytest.raises(AuthenticationError):
        await wire.list_workflows(used)
    await manager.invalidate(used)
    fresh = await manager.authorization()

    assert isinstance(await wire.list_workflows(fresh), list)
    assert wire.emulator.state.tokens.refreshes == 1


async def test_revoked_refresh_token_leads_to_one_key_exchange(wire: Wire) -> None:
    """The server forgot the refresh token: the keys are exchanged again, once."""
    manager = wire.manager()
    await manager.authorization()
    assert manager.tokens is not None
    await wire.revoke(manager.tokens.refresh_token)
    wire.shift = timedelta(minutes=10)

    await asyncio.gather(*(manager.authorization() for _ in range(50)))

    assert wire.emulator.state.tokens.issued == 2
    assert wire.emulator.state.tokens.refreshes == 0


async def test_close_sends_one_delete_token(wire: Wire) -> None:
    """aclose() revokes the current pair with one DeleteToken."""
    manager = wire.manager()
    await manager.authorization()
    wire.shift = timedelta(minutes=10)
    await manager.authorization()  # rotated once

    await asyncio.gather(manager.aclose(), manager.aclose())

    assert wire.emulator.state.tokens.deletes == 1
    assert [r.status for r in wire.emulator.log if r.operation == "delete_token"] == [200]
