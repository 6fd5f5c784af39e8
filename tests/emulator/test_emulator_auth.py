"""Key mode and token mode: who gets in, and how tokens live and die."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from canvas_async._routes import (
    AUTHORIZATION_HEADER,
    CONSUMER_HEADER,
    REFRESH_TOKEN_NOT_FOUND_TEXT,
    ROUTES,
    SECRET_KEY_HEADER,
    UNAUTHORIZED_TEXT,
    Auth,
)
from canvas_async.testing import ManualClock
from canvas_async.testing._jwt import decode, encode
from tests.emulator.emulator_support import CALLER, Api
from tests.support import started

SESSION_KEYS = [route.key for route in ROUTES.values() if route.auth is Auth.SESSION]
TOKEN_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00")


def claims_of(access_token: str) -> dict[str, Any]:
    payload = access_token.removeprefix("Bearer ").split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "==="))
    return claims


async def login(api: Api) -> dict[str, Any]:
    token: dict[str, Any] = await api.ok("authenticate")
    return token


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {AUTHORIZATION_HEADER: token["access_token"]}


# -- key mode -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({CONSUMER_HEADER: "nope", SECRET_KEY_HEADER: "nope"}, id="both-wrong"),
        pytest.param({SECRET_KEY_HEADER: "<secret>"}, id="consumer-missing"),
        pytest.param({CONSUMER_HEADER: "<consumer>"}, id="secret-missing"),
        pytest.param({CONSUMER_HEADER: "<consumer>", SECRET_KEY_HEADER: "x"}, id="secret-wrong"),
        pytest.param({CONSUMER_HEADER: "<secret>", SECRET_KEY_HEADER: "<consumer>"}, id="swapped"),
    ],
)
@pytest.mark.parametrize("key", ["authenticate", *SESSION_KEYS])
async def test_key_mode_refuses_wrong_keys(api: Api, key: str, headers: dict[str, str]) -> None:
    real = {"<consumer>": api.emu.consumer, "<secret>": api.emu.secret_key}
    sent = {name: real.get(value, value) for name, value in headers.items()}
    before = len(api.emu.state.workflows)
    answer = await api.call(key, headers=sent, query={"id": str(uuid.uuid4())}, body={})
    assert (answer.status, answer.text) == (401, UNAUTHORIZED_TEXT)
    assert len(api.emu.state.workflows) == before


async def test_key_mode_needs_no_keys_for_help(api: Api) -> None:
    assert await api.ok("get_metadata", headers={})
    assert await api.ok("describe", headers={}, query={"name": "Workflow"})


async def test_key_mode_does_not_serve_token_routes(api: Api) -> None:
    answer = await api.call("refresh_access_token", query={"token": "x"})
    assert answer.status == 404


async def test_keys_are_random_and_not_in_repr(api: Api) -> None:
    from canvas_async.testing import CanvasEmulator

    other = CanvasEmulator()
    assert {other.consumer, other.secret_key}.isdisjoint({api.emu.consumer, api.emu.secret_key})
    assert re.fullmatch(r"[0-9A-F]{64}", api.emu.consumer)
    uuid.UUID(api.emu.secret_key)
    shown = repr(api.emu) + repr(other)
    assert api.emu.url in shown
    for secret in (api.emu.consumer, api.emu.secret_key, other.consumer, other.secret_key):
        assert secret not in shown


# -- token mode: the exchange ------------------------------------------------------


async def test_authenticate_answers_the_documented_token_object(
    token_api: Api, clock: ManualClock
) -> None:
    token = await login(token_api)
    assert set(token) == {
        "access_token",
        "accessTokenExpiresDateTime",
        "refresh_token",
        "refreshTokenExpiresDateTime",
    }
    assert token["access_token"].startswith("Bearer ey")
    assert re.fullmatch(r"[0-9a-f]{32}", token["refresh_token"])
    assert TOKEN_TIME.fullmatch(token["accessTokenExpiresDateTime"])
    assert token["accessTokenExpiresDateTime"] == "2022-04-27T10:28:55.1774280+00:00"
    assert token["refreshTokenExpiresDateTime"] == "2022-04-28T10:18:55.1774280+00:00"
    assert token_api.emu.state.tokens.issued == 1


async def test_access_token_is_a_signed_jwt_with_the_documented_claims(
    token_api: Api, clock: ManualClock
) -> None:
    claims = claims_of((await login(token_api))["access_token"])
    assert claims == {
        "jti": claims["jti"],
        "iss": token_api.emu.url.removesuffix("/api"),
        "iat": int(clock.now().timestamp()),
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": (
            "natalia.yudnikova@outlook.com"
        ),
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/userdata": CALLER,
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/role": "Admin",
        "LoggedSupportedByCma": "True",
        "ManagedSupportedByCma": "True",
        "exp": int(clock.now().timestamp()) + 600,
        "aud": "cma-users",
    }
    uuid.UUID(claims["jti"])


async def test_token_mode_needs_the_bearer_token(token_api: Api) -> None:
    token = await login(token_api)
    for key in SESSION_KEYS:
        keys_only = await token_api.call(key, query={"id": str(uuid.uuid4())}, body={})
        assert (keys_only.status, keys_only.text) == (401, UNAUTHORIZED_TEXT), key
    assert await token_api.ok("list_workflows", headers=bearer(token))


async def test_token_mode_authenticate_needs_the_keys(token_api: Api) -> None:
    answer = await token_api.call("authenticate", headers={CONSUMER_HEADER: "x"})
    assert (answer.status, answer.text) == (401, UNAUTHORIZED_TEXT)
    assert token_api.emu.state.tokens.issued == 0


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t.removeprefix("Bearer "), id="no-scheme"),
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="bad-sig"),
        pytest.param(lambda t: "Bearer " + encode(claims_of(t), b"another key"), id="other-key"),
        pytest.param(lambda t: "Basic " + t.removeprefix("Bearer "), id="basic"),
        pytest.param(lambda t: "Bearer", id="empty"),
        pytest.param(lambda t: "Bearer a.b.c", id="garbage"),
    ],
)
async def test_a_mangled_token_is_refused(token_api: Api, mangle: Any) -> None:
    token = await login(token_api)
    answer = await token_api.call(
        "list_workflows", headers={AUTHORIZATION_HEADER: mangle(token["access_token"])}
    )
    assert (answer.status, answer.text) == (401, UNAUTHORIZED_TEXT)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_access_token_expires_with_the_clock(token_api: Api, clock: ManualClock) -> None:
    token = await login(token_api)
    clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert await token_api.ok("list_workflows", headers=bearer(token))
    clock.advance(1)
    answer = await token_api.call("list_workflows", headers=bearer(token))
    assert (answer.status, answer.text) == (401, UNAUTHORIZED_TEXT)


async def test_expire_access_tokens_expires_them_now(token_api: Api) -> None:
    token = await login(token_api)
    token_api.emu.expire_access_tokens()
    assert (await token_api.call("list_workflows", headers=bearer(token))).status == 401
    fresh = await token_api.ok("refresh_access_token", query={"token": token["refresh_token"]})
    assert await token_api.ok("list_workflows", headers=bearer(fresh))


async def test_access_token_lifetime_is_configurable(session: Any, clock: ManualClock) -> None:
    from canvas_async.testing import CanvasEmulator

    async with started(
        CanvasEmulator(auth="token", clock=clock, access_token_lifetime=timedelta(seconds=30))
    ) as emu:
        token = await login(Api(session, emu))
        assert (
            claims_of(token["access_token"])["exp"] - claims_of(token["access_token"])["iat"] == 30
        )


# -- token mode: refresh and delete ------------------------------------------------


@pytest.mark.parametrize("name", ["token", "refreshToken"])
async def test_refresh_rotates_the_refresh_token(token_api: Api, name: str) -> None:
    token = await login(token_api)
    fresh = await token_api.ok("refresh_access_token", query={name: token["refresh_token"]})
    assert fresh["refresh_token"] != token["refresh_token"]
    assert fresh["access_token"] != token["access_token"]
    assert await token_api.ok("list_workflows", headers=bearer(fresh))
    assert token_api.emu.state.tokens.refreshes == 1

    reused = await token_api.call("refresh_access_token", query={name: token["refresh_token"]})
    assert (reused.status, reused.text) == (401, REFRESH_TOKEN_NOT_FOUND_TEXT)
    assert token_api.emu.state.tokens.refreshes == 1


async def test_refresh_needs_no_other_credentials(token_api: Api) -> None:
    token = await login(token_api)
    fresh = await token_api.call(
        "refresh_access_token", headers={}, query={"refreshToken": token["refresh_token"]}
    )
    assert fresh.status == 200


async def test_refresh_token_expires_after_a_day(token_api: Api, clock: ManualClock) -> None:
    token = await login(token_api)
    clock.advance(timedelta(days=1))
    answer = await token_api.call("refresh_access_token", query={"token": token["refresh_token"]})
    assert (answer.status, answer.text) == (401, REFRESH_TOKEN_NOT_FOUND_TEXT)


@pytest.mark.parametrize("key", ["refresh_access_token", "delete_token"])
async def test_unknown_refresh_token(token_api: Api, key: str) -> None:
    answer = await token_api.call(key, query={"refreshToken": "0" * 32})
    assert (answer.status, answer.text) == (401, REFRESH_TOKEN_NOT_FOUND_TEXT)


@pytest.mark.parametrize("key", ["refresh_access_token", "delete_token"])
async def test_refresh_token_query_must_be_given_once(token_api: Api, key: str) -> None:
    token = await login(token_api)
    assert (await token_api.call(key)).status == 400
    both = {"token": token["refresh_token"], "refreshToken": "something else"}
    assert (await token_api.call(key, query=both)).status == 400
    assert token_api.emu.state.tokens.refreshes == token_api.emu.state.tokens.deletes == 0


async def test_delete_token_revokes_the_pair(token_api: Api) -> None:
    token = await login(token_api)
    other = await login(token_api)
    assert (
        await token_api.ok("delete_token", query={"refreshToken": token["refresh_token"]}) is True
    )
    assert token_api.emu.state.tokens.deletes == 1

    assert (await token_api.call("list_workflows", headers=bearer(token))).status == 401
    again = await token_api.call("refresh_access_token", query={"token": token["refresh_token"]})
    assert (again.status, again.text) == (401, REFRESH_TOKEN_NOT_FOUND_TEXT)
    # Another pair is not touched.
    assert await token_api.ok("list_workflows", headers=bearer(other))


def test_jwt_round_trip_and_tampering() -> None:
    token = encode({"sub": "x", "n": 1}, b"key")
    assert decode(token, b"key") == {"sub": "x", "n": 1}
    header, claims, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"y","n":1}').rstrip(b"=").decode()
    from canvas_async.testing._jwt import InvalidTokenError

    for bad in (f"{header}.{forged}.{signature}", "a.b", "é.b.c", f"{header}.{claims}.!!"):
        with pytest.raises(InvalidTokenError):
            decode(bad, b"key")
    with pytest.raises(InvalidTokenError):
        decode(token, b"other")
