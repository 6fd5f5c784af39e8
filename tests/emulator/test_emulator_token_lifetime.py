"""Token lifetimes in seconds: in the constructor, on the command line, by the real clock."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from canvas_async._routes import (
    AUTHORIZATION_HEADER,
    CONSUMER_HEADER,
    REFRESH_TOKEN_NOT_FOUND_TEXT,
    SECRET_KEY_HEADER,
)
from canvas_async.testing import CanvasEmulator, ManualClock
from tests.emulator.emulator_support import Api
from tests.emulator.test_emulator_auth import claims_of, login
from tests.emulator.test_emulator_cli import started as started_command
from tests.support import started

COMMAND = str(Path(sys.executable).with_name("canvas-async-emulator"))


def bearer(token: dict[str, str]) -> dict[str, str]:
    return {AUTHORIZATION_HEADER: token["access_token"]}


async def test_lifetimes_in_seconds_expire_by_the_clock(
    session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    # On a whole second: the JWT's exp is in whole seconds, so a token issued
    # at x.5 s dies at the earlier of its exp and its named expiry.
    clock.set(clock.now().replace(microsecond=0))
    async with started(
        CanvasEmulator(
            auth="token", clock=clock, access_token_lifetime=4, refresh_token_lifetime=9.5
        )
    ) as emu:
        api = Api(session, emu)
        token = await login(api)
        claims = claims_of(token["access_token"])
        assert claims["exp"] - claims["iat"] == 4
        clock.advance(3.9)
        assert (await api.call("list_workflows", headers=bearer(token))).status == 200
        clock.advance(0.1)
        assert (await api.call("list_workflows", headers=bearer(token))).status == 401

        fresh = await api.ok("refresh_access_token", query={"token": token["refresh_token"]})
        assert (await api.call("list_workflows", headers=bearer(fresh))).status == 200
        clock.advance(9.5)
        late = await api.call("refresh_access_token", query={"token": fresh["refresh_token"]})
        assert (late.status, late.text) == (401, REFRESH_TOKEN_NOT_FOUND_TEXT)
        assert emu.state.tokens.refreshes == 1


async def test_an_expired_token_is_refused_by_the_real_clock(
    session: aiohttp.ClientSession,
) -> None:
    async with started(CanvasEmulator(auth="token", access_token_lifetime=1)) as emu:
        api = Api(session, emu)
        token = await login(api)
        # Wait until the token's own expiry has passed, however slowly we got here.
        expires = claims_of(token["access_token"])["exp"]
        await asyncio.sleep(max(expires - time.time(), 0) + 0.05)
        answer = await api.call("list_workflows", headers=bearer(token))
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_command_takes_token_lifetimes(session: aiohttp.ClientSession) -> None:
    process, printed = await started_command(
        "--port", "0", "--auth", "token", "--token-lifetime", "7", "--refresh-token-lifetime", "60"
    )
    try:
        keys = {name: printed[name] for name in (CONSUMER_HEADER, SECRET_KEY_HEADER)}
        async with session.get(printed["url"] + "/Authenticate", headers=keys) as response:
            token = await response.json()
        claims = claims_of(token["access_token"])
        assert claims["exp"] - claims["iat"] == 7
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf"])
async def test_the_command_refuses_a_bad_lifetime(value: str) -> None:
    process = await asyncio.create_subprocess_exec(
        COMMAND, "--token-lifetime", value, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"--token-lifetime: " in stderr
