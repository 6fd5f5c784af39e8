"""Token mode: reading the token object, single-flight renewal, revocation.

TokenAuth's flows are driven here as the transport drives them, over a fake
server written as plain async functions.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from canvas_async import (
    AuthenticationError,
    CanvasConnectionError,
    CanvasError,
    KeyAuth,
    OutcomeUnknownError,
    TokenAuth,
    UnexpectedResponseError,
    ValidationError,
    _routes,
)
from canvas_async._auth import Flow, TokenRequest, drive
from canvas_async._tokens import TokenPair, mode_of

T0 = datetime(2022, 4, 27, 10, 18, 55, tzinfo=UTC)

# The sample of spec "Authentication, token mode".
SAMPLE = {
    "access_token": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    "accessTokenExpiresDateTime": "2022-04-27T10:33:55.1774282+00:00",
    "refresh_token": "07112d7bfcf44c09b2341249448a5ca4",
    "refreshTokenExpiresDateTime": "2022-04-28T10:18:55.1774282+00:00",
}


def stamp(moment: datetime) -> str:
    return moment.isoformat()


@attrs.define
class FakeServer:
    """The three token requests as plain async functions, with counters."""

    now: datetime = T0
    access_life: timedelta = timedelta(minutes=15)
    refresh_life: timedelta = timedelta(days=1)
    delay: float = 0.0
    reject_refresh: bool = False
    reject_keys: bool = False
    fail_refresh: bool = False
    fail_exchange: bool = False
    fail_revoke: bool = False
    exchanges: int = 0
    refreshes: int = 0
    revoked: list[str] = attrs.Factory(list)
    live_refresh_tokens: set[str] = attrs.Factory(set)
    on_refresh: Callable[[str], Awaitable[object]] | None = None
    refreshing: asyncio.Event = attrs.Factory(asyncio.Event)
    gate: asyncio.Event | None = None
    """If given, a refresh waits for it (after ``refreshing`` is set) instead of ``delay``."""
    _serial: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))

    def clock(self) -> datetime:
        return self.now

    def _issue(self) -> dict[str, str]:
        n = next(self._serial)
        refresh = f"refresh-{n}"
        self.live_refresh_tokens.add(refresh)
        return {
            "access_token": f"Bearer access-{n}",
            "accessTokenExpiresDateTime": stamp(self.now + self.access_life),
            "refresh_token": refresh,
            "refreshTokenExpiresDateTime": stamp(self.now + self.refresh_life),
        }

    def _unauthorized(self, operation: str) -> AuthenticationError:
        return AuthenticationError("refresh token is not found", status=401, operation=operation)

    async def exchange(self) -> object:
        self.exchanges += 1
        await asyncio.sleep(self.delay)
        if self.reject_keys:
            raise AuthenticationError("Unauthorized", status=401, operation="Authenticate")
        if self.fail_exchange:
            raise CanvasConnectionError("reset", operation="Authenticate")
        return self._issue()

    async def refresh(self, token: str) -> object:
        self.refreshes += 1
        self.refreshing.set()
        await (asyncio.sleep(self.delay) if self.gate is None else self.gate.wait())
        if self.fail_refresh:
            raise CanvasConnectionError("reset", operation="RefreshAccessToken")
        if self.reject_refresh or token not in self.live_refresh_tokens:
            raise self._unauthorized("RefreshAccessToken")
        self.live_refresh_tokens.discard(token)  # rotation
        return self._issue()

    async def revoke(self, token: str) -> object:
        self.revoked.append(token)
        if self.fail_revoke:
            raise CanvasConnectionError("refused", operation="DeleteToken")
        if token not in self.live_refresh_tokens:
            raise self._unauthorized("DeleteToken")
        self.live_refresh_tokens.discard(token)
        return True

    async def send(self, request: TokenRequest) -> object:
        """Answer a token request as the transport would, with its error raised."""
        params = request.params or {}
        if request.key == "refresh_access_token":
            return await (self.on_refresh or self.refresh)(params["token"])
        if request.key == "delete_token":
            return await self.revoke(params["refreshToken"])
        return await self.exchange()

    def manager(self) -> Driven:
        return Driven(bound(self.clock), self.send)


SESSION_ROUTE = _routes.ROUTES["list_workflows"]


async def renewing(server: FakeServer) -> tuple[Driven, asyncio.Task[str], asyncio.Event]:
    """A manager whose token is due, the task whose refresh is under way, and
    the gate that refresh waits for."""
    manager = server.manager()
    await manager.authorization()
    server.now += timedelta(minutes=20)
    gate = server.gate = asyncio.Event()
    starter = asyncio.create_task(manager.authorization())
    await server.refreshing.wait()
    return manager, starter, gate


def bound(now: Callable[[], datetime], *, auto: bool = False) -> TokenAuth:
    """A TokenAuth as a client holds it, on the given clock."""
    auth = TokenAuth(auto=auto)
    auth.bind(KeyAuth.from_keys("consumer", "secret"))
    auth._now = now
    return auth


@attrs.define
class Driven:
    """A TokenAuth whose flows are driven over ``send``, as the transport does."""

    auth: TokenAuth
    send: Callable[[TokenRequest], Awaitable[object]]

    async def run(self, flow: Flow[object]) -> object:
        return await drive(flow, self.send)

    async def authorization(self) -> str:
        value = await drive(self.auth.authorization_flow(), self.send)
        assert value is not None
        return value

    async def invalidate(self, authorization: str) -> bool:
        sent = {_routes.AUTHORIZATION_HEADER: authorization}
        return await drive(self.auth.unauthorized_flow(SESSION_ROUTE, sent), self.send)

    async def headers(self, route: _routes.Route) -> Mapping[str, str]:
        return await drive(self.auth.auth_flow(route), self.send)

    async def aclose(self) -> None:
        await drive(self.auth.close_flow(), self.send)

    @property
    def tokens(self) -> TokenPair | None:
        return self.auth.tokens

    @property
    def refresh_margin(self) -> timedelta:
        return self.auth.refresh_margin


class TestTokenPair:
    def test_reads_the_documented_sample(self) -> None:
        """The token object of the spec, seven fractional digits and all."""
        pair = TokenPair.from_answer(SAMPLE, operation="Authenticate")

        assert SAMPLE["access_token"] == pair.authorization
        assert datetime(2022, 4, 27, 10, 33, 55, 177428, tzinfo=UTC) == pair.access_expires
        assert pair.refresh_token == "07112d7bfcf44c09b2341249448a5ca4"
        assert datetime(2022, 4, 28, 10, 18, 55, 177428, tzinfo=UTC) == pair.refresh_expires

    def test_repr_hides_the_tokens(self) -> None:
        """Neither token appears in a repr."""
        text = repr(TokenPair.from_answer(SAMPLE, operation="Authenticate"))

        assert "eyJ" not in text
        assert SAMPLE["refresh_token"] not in text

    def test_bare_token_gets_the_scheme(self) -> None:
        """A value without ``Bearer `` is sent with it."""
        pair = TokenPair.from_answer(
            {**SAMPLE, "access_token": "eyJ.abc.def"}, operation="Authenticate"
        )

        assert pair.authorization == "Bearer eyJ.abc.def"

    def test_timestamp_without_offset_is_utc(self) -> None:
        """Spec "Timestamps": no offset means UTC."""
        pair = TokenPair.from_answer(
            {**SAMPLE, "accessTokenExpiresDateTime": "2022-04-27T10:33:55.1774282"},
            operation="Authenticate",
        )

        assert pair.access_expires.tzinfo == UTC

    def test_expiry_falls_back_to_the_jwt(self) -> None:
        """Without accessTokenExpiresDateTime, the token's own ``exp`` counts."""
        exp = int((T0 + timedelta(minutes=10)).timestamp())
        claims = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).rstrip(b"=")
        token = f"Bearer eyJhbGciOiJIUzI1NiJ9.{claims.decode()}.sig"
        payload = {"access_token": token, "refresh_token": "r"}

        pair = TokenPair.from_answer(payload, operation="Authenticate")

        assert T0 + timedelta(minutes=10) == pair.access_expires
        assert pair.refresh_expires is None

    def test_the_earlier_expiry_counts(self) -> None:
        """A JWT exp (whole seconds) before the answer's expiry wins."""
        exp = int((T0 + timedelta(minutes=10)).timestamp())
        claims = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).rstrip(b"=")
        payload = {
            **SAMPLE,
            "access_token": f"Bearer eyJhbGciOiJIUzI1NiJ9.{claims.decode()}.sig",
            "accessTokenExpiresDateTime": stamp(T0 + timedelta(minutes=10, seconds=0.9)),
        }

        pair = TokenPair.from_answer(payload, operation="Authenticate")

        assert pair.access_expires == T0 + timedelta(minutes=10)

    @pytest.mark.parametrize(
        ("payload", "what"),
        [
            (True, "JSON object"),
            ({**SAMPLE, "access_token": None}, "access_token"),
            ({**SAMPLE, "refresh_token": ""}, "refresh_token"),
            (
                {**SAMPLE, "access_token": "Bearer opaque", "accessTokenExpiresDateTime": "soon"},
                "accessTokenExpiresDateTime",
            ),
        ],
    )
    def test_bad_answers_are_named_without_secrets(self, payload: object, what: str) -> None:
        """The error names the problem and never quotes a token."""
        with pytest.raises(UnexpectedResponseError, match=what) as info:
            TokenPair.from_answer(payload, operation="RefreshAccessToken")

        assert "RefreshAccessToken" in str(info.value)
        assert SAMPLE["refresh_token"] not in str(info.value)
        assert info.value.body is None

    def test_mode_of(self) -> None:
        """Key mode answers true; token mode the token object; else a clear error."""
        assert mode_of(SAMPLE) == "token"
        assert mode_of(True) == "keys"
        with pytest.raises(UnexpectedResponseError, match="neither true"):
            mode_of({"State": 401, "Msg": "Unauthorized"})


class TestAuthorization:
    async def test_first_use_exchanges_the_keys(self) -> None:
        """No pair yet: /Authenticate once, then the access token is reused."""
        server = FakeServer()
        manager = server.manager()

        first = await manager.authorization()
        again = await manager.authorization()

        assert "Bearer access-1" == first == again
        assert (server.exchanges, server.refreshes) == (1, 0)

    async def test_expired_token_is_refreshed_once_for_500_tasks(self) -> None:
        """500 tasks finding the access token expired cause one refresh."""
        server = FakeServer(delay=0.01)
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)

        values = await asyncio.gather(*(manager.authorization() for _ in range(500)))

        assert {"Bearer access-2"} == set(values)
        assert (server.exchanges, server.refreshes) == (1, 1)

    async def test_renewed_before_expiry(self) -> None:
        """Within the margin before expiry, the token is renewed ahead of time."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()
        server.now += server.access_life - manager.refresh_margin / 2

        assert await manager.authorization() == "Bearer access-2"

    async def test_rejected_refresh_token_exchanges_the_keys_once(self) -> None:
        """A refresh token the server does not know leads to one key exchange."""
        server = FakeServer(reject_refresh=True, delay=0.01)
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)

        values = await asyncio.gather(*(manager.authorization() for _ in range(50)))

        assert {"Bearer access-2"} == set(values)
        assert (server.exchanges, server.refreshes) == (2, 1)

    async def test_unanswered_refresh_exchanges_the_keys(self) -> None:
        """A refresh that may have rotated the token unheard: start from the keys."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)

        async def lost(token: str) -> object:
            server.refreshes += 1
            raise OutcomeUnknownError("no answer", operation="RefreshAccessToken")

        server.on_refresh = lost

        assert await manager.authorization() == "Bearer access-2"
        assert (server.exchanges, server.refreshes) == (2, 1)

    async def test_rejected_keys_raise_authentication_error(self) -> None:
        """Refresh refused, keys refused: AuthenticationError, after one try each."""
        server = FakeServer(reject_refresh=True)
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)
        server.reject_keys = True

        with pytest.raises(AuthenticationError):
            await manager.authorization()

        assert (server.exchanges, server.refreshes) == (2, 1)

    async def test_expired_refresh_token_goes_straight_to_the_keys(self) -> None:
        """A refresh token past its expiry is not even tried."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(days=2)

        await manager.authorization()

        assert (server.exchanges, server.refreshes) == (2, 0)

    @pytest.mark.parametrize(
        ("keys", "error"),
        [("fail_exchange", CanvasConnectionError), ("reject_keys", AuthenticationError)],
    )
    async def test_a_failed_renewal_is_shared_by_its_waiters(
        self, keys: str, error: type[CanvasError]
    ) -> None:
        """When the one renewal fails (refresh, then the keys: no connection,
        or refused), every waiting task gets its error; none starts a refresh
        or an exchange of its own."""
        server = FakeServer(delay=0.01)
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)
        server.fail_refresh = True
        setattr(server, keys, True)

        results = await asyncio.gather(
            *(manager.authorization() for _ in range(20)), return_exceptions=True
        )

        assert all(isinstance(r, error) for r in results)
        assert (server.refreshes, server.exchanges) == (1, 2)

    async def test_a_later_call_tries_again_after_a_failure(self) -> None:
        """A failed renewal is not remembered: the next call renews afresh."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)
        server.fail_refresh = server.fail_exchange = True
        with pytest.raises(CanvasConnectionError):
            await manager.authorization()
        server.fail_refresh = server.fail_exchange = False

        assert await manager.authorization() == "Bearer access-2"
        assert server.refreshes == 2

    async def test_a_cancelled_renewal_is_taken_over_by_a_waiter(self) -> None:
        """The task that runs the refresh may be cancelled: a waiter starts the
        renewal afresh and the others get the new token all the same."""
        server = FakeServer()
        manager, starter, gate = await renewing(server)
        others = [asyncio.create_task(manager.authorization()) for _ in range(20)]
        starter.cancel()
        gate.set()

        assert {"Bearer access-2"} == set(await asyncio.gather(*others))
        assert (server.refreshes, server.exchanges) == (2, 1)
        with pytest.raises(asyncio.CancelledError):
            await starter

    async def test_a_waiter_cancelled_leaves_the_renewal_alone(self) -> None:
        """A waiting task that is cancelled does not stop the one renewal."""
        server = FakeServer()
        manager, starter, gate = await renewing(server)
        waiter = asyncio.create_task(manager.authorization())
        await asyncio.sleep(0)  # the waiter joins the renewal
        waiter.cancel()
        gate.set()

        assert await starter == "Bearer access-2"
        assert server.refreshes == 1
        with pytest.raises(asyncio.CancelledError):
            await waiter


def jwt(claims: dict[str, object]) -> str:
    def segment(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"Bearer {segment({'alg': 'HS256'})}.{segment(claims)}.c2ln"


class TestRenewalTiming:
    async def test_client_clock_ahead_of_the_server(self) -> None:
        """A token's life is measured from its arrival (exp - iat), so a client
        clock an hour ahead neither renews on every call nor keeps the token
        past its life."""
        calls = 0

        async def send(request: TokenRequest) -> object:
            nonlocal calls
            if request.key != "authenticate":
                raise AuthenticationError("refresh token is not found", status=401, operation="R")
            calls += 1
            iat = int(T0.timestamp())
            return {
                "access_token": jwt({"iat": iat, "exp": iat + 900}),
                "accessTokenExpiresDateTime": stamp(T0 + timedelta(minutes=15)),
                "refresh_token": "r",
            }

        now = T0 + timedelta(hours=1)
        manager = Driven(bound(lambda: now), send)

        await manager.authorization()
        now += timedelta(minutes=10)
        await manager.authorization()
        assert calls == 1
        now += timedelta(minutes=5)
        await manager.authorization()
        assert calls == 2

    async def test_tokens_shorter_lived_than_the_margin_are_used(self) -> None:
        """A 10 s token is renewed at half its life, not on every call."""
        server = FakeServer(access_life=timedelta(seconds=10))
        manager = server.manager()

        await manager.authorization()
        server.now += timedelta(seconds=4)
        await manager.authorization()

        assert server.refreshes == 0
        server.now += timedelta(seconds=2)
        await manager.authorization()
        assert server.refreshes == 1

    async def test_an_expired_answer_does_not_loop(self) -> None:
        """A pair that arrives already expired is used once, not renewed forever."""
        server = FakeServer(access_life=timedelta(seconds=-5))
        manager = server.manager()

        async with asyncio.timeout(1):
            value = await manager.authorization()

        assert value == "Bearer access-1"
        assert (server.exchanges, server.refreshes) == (1, 0)


class TestInvalidate:
    async def test_401_drops_the_token_and_refreshes(self) -> None:
        """A refused token is renewed with the refresh token, not the keys."""
        server = FakeServer()
        manager = server.manager()
        used = await manager.authorization()

        await manager.invalidate(used)

        assert await manager.authorization() == "Bearer access-2"
        assert (server.exchanges, server.refreshes) == (1, 1)

    async def test_stale_401_keeps_the_new_token(self) -> None:
        """A task refused with a token that was renewed since drops nothing."""
        server = FakeServer()
        manager = server.manager()
        old = await manager.authorization()
        await manager.invalidate(old)
        new = await manager.authorization()

        await manager.invalidate(old)

        assert new == await manager.authorization()
        assert server.refreshes == 1

    async def test_many_401s_with_one_token_refresh_once(self) -> None:
        """500 tasks refused with the same token: one refresh, all retried with
        the new token."""
        server = FakeServer(delay=0.01)
        manager = server.manager()
        used = await manager.authorization()

        async def refused_then_retry() -> str:
            await manager.invalidate(used)
            return await manager.authorization()

        values = await asyncio.gather(*(refused_then_retry() for _ in range(500)))

        assert {"Bearer access-2"} == set(values)
        assert server.refreshes == 1


class TestClose:
    async def test_revokes_once(self) -> None:
        """aclose() sends one DeleteToken, however often it is called."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()

        await asyncio.gather(manager.aclose(), manager.aclose())
        await manager.aclose()

        assert server.revoked == ["refresh-1"]
        assert manager.tokens is None

    async def test_revokes_the_current_refresh_token(self) -> None:
        """After a rotation, the new refresh token is the one revoked."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(minutes=20)
        await manager.authorization()

        await manager.aclose()

        assert server.revoked == ["refresh-2"]
        assert set() == server.live_refresh_tokens

    async def test_nothing_to_revoke(self) -> None:
        """A manager that never authenticated sends nothing."""
        server = FakeServer()

        await server.manager().aclose()

        assert server.revoked == []

    async def test_expired_refresh_token_is_not_revoked(self) -> None:
        """The server has forgotten it: nothing to send."""
        server = FakeServer()
        manager = server.manager()
        await manager.authorization()
        server.now += timedelta(days=2)

        await manager.aclose()

        assert server.revoked == []

    async def test_failed_revocation_is_logged_not_raised(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Closing does not fail; the log names the error, not the token."""
        server = FakeServer(fail_revoke=True)
        manager = server.manager()
        await manager.authorization()

        with caplog.at_level(logging.WARNING, logger="canvas_async"):
            await manager.aclose()

        assert "CanvasConnectionError" in caplog.text
        assert "refresh-1" not in caplog.text

    async def test_renewal_in_flight_is_revoked(self) -> None:
        """Closing during a refresh revokes the pair the refresh brings."""
        server = FakeServer()
        manager, waiter, gate = await renewing(server)
        gate.set()  # the refresh answers once closing has begun

        await manager.aclose()

        assert server.revoked == ["refresh-2"]
        with pytest.raises(CanvasError, match="closed"):
            await waiter

    async def test_closed_manager_refuses(self) -> None:
        """No token is handed out after close."""
        server = FakeServer()
        manager = server.manager()
        await manager.aclose()

        with pytest.raises(CanvasError, match="closed"):
            await manager.authorization()


# -- TokenAuth's headers, as the transport asks for them ---------------------------


@attrs.define
class Wired:
    """A FakeServer that records what was sent, or answers true (key mode)."""

    server: FakeServer
    key_mode: bool = False
    sent: list[tuple[str, Mapping[str, str] | None]] = attrs.Factory(list)

    async def send(self, request: TokenRequest) -> object:
        self.sent.append((request.key, request.params))
        if request.key == "authenticate" and self.key_mode:
            return True
        return await self.server.send(request)

    def auth(self, *, auto: bool = False) -> Driven:
        return Driven(bound(self.server.clock, auto=auto), self.send)


class TestTokenAuth:
    async def test_session_routes_carry_the_bearer_token(self) -> None:
        """Authorization carries the server's value as it is; no keys."""
        auth = Wired(FakeServer()).auth()

        headers = await auth.headers(SESSION_ROUTE)

        assert headers == {"Authorization": "Bearer access-1"}

    async def test_authenticate_carries_the_keys(self) -> None:
        """The exchange itself is sent with the keys."""
        auth = Wired(FakeServer()).auth()

        headers = await auth.headers(_routes.ROUTES["authenticate"])

        assert headers == {"Consumer": "consumer", "SecretKey": "secret"}

    @pytest.mark.parametrize("key", ["get_metadata", "refresh_access_token", "delete_token"])
    async def test_no_credentials_in_headers(self, key: str) -> None:
        """Open routes carry nothing; the refresh token travels in the query."""
        auth = Wired(FakeServer()).auth()

        assert await auth.headers(_routes.ROUTES[key]) == {}

    async def test_401_invalidates_the_token_sent(self) -> None:
        """on_unauthorized drops the refused token and asks for one more try."""
        wired = Wired(FakeServer())
        auth = wired.auth()
        sent = await auth.headers(SESSION_ROUTE)

        assert await auth.run(auth.auth.unauthorized_flow(SESSION_ROUTE, sent))
        assert await auth.headers(SESSION_ROUTE) == {"Authorization": "Bearer access-2"}
        assert wired.server.refreshes == 1

    async def test_401_on_the_exchange_is_final(self) -> None:
        """Refused keys are not retried."""
        auth = Wired(FakeServer()).auth()
        keys = await auth.headers(_routes.ROUTES["authenticate"])

        assert not await auth.run(auth.auth.unauthorized_flow(_routes.ROUTES["authenticate"], keys))

    async def test_auto_picks_token_mode_without_a_second_exchange(self) -> None:
        """auto: 100 tasks, one /Authenticate, whose tokens are then used."""
        wired = Wired(FakeServer(delay=0.01))
        auth = wired.auth(auto=True)

        values = await asyncio.gather(*(auth.headers(SESSION_ROUTE) for _ in range(100)))

        assert auth.auth.mode == "token"
        assert [key for key, _ in wired.sent] == ["authenticate"]
        assert {v["Authorization"] for v in values} == {"Bearer access-1"}

    async def test_auto_picks_key_mode(self) -> None:
        """auto against a key-mode server: the keys on every request."""
        wired = Wired(FakeServer(), key_mode=True)
        auth = wired.auth(auto=True)

        headers = await auth.headers(SESSION_ROUTE)
        await auth.aclose()

        assert auth.auth.mode == "keys"
        assert headers == {"Consumer": "consumer", "SecretKey": "secret"}
        assert [key for key, _ in wired.sent] == ["authenticate"]

    async def test_token_mode_against_a_key_mode_server(self) -> None:
        """auth="token" where /Authenticate answers true: a clear error."""
        auth = Wired(FakeServer(), key_mode=True).auth()

        with pytest.raises(UnexpectedResponseError, match="key mode"):
            await auth.headers(SESSION_ROUTE)

    async def test_auto_with_an_odd_answer(self) -> None:
        """Neither true nor tokens: a clear error, and the next call asks again."""
        calls = 0

        async def send(request: TokenRequest) -> object:
            nonlocal calls
            calls += 1
            return "yes"

        auth = Driven(bound(lambda: T0, auto=True), send)

        for _ in range(2):
            with pytest.raises(UnexpectedResponseError, match="neither true"):
                await auth.headers(SESSION_ROUTE)
        assert calls == 2

    async def test_close_revokes_with_the_refresh_token(self) -> None:
        """aclose() sends DeleteToken?refreshToken=<current refresh token>."""
        wired = Wired(FakeServer())
        auth = wired.auth()
        await auth.headers(SESSION_ROUTE)

        await auth.aclose()

        assert wired.sent[-1] == ("delete_token", {"refreshToken": "refresh-1"})

    def test_one_client_per_instance(self) -> None:
        """Binding twice is refused: tokens are not shared between clients."""
        auth = Wired(FakeServer()).auth().auth

        with pytest.raises(ValidationError, match="one client"):
            auth.bind(KeyAuth.from_keys("consumer", "secret"))

    async def test_repr_shows_no_secrets(self) -> None:
        """Neither keys nor tokens in the repr, once tokens are held."""
        auth = Wired(FakeServer()).auth()
        await auth.authorization()

        assert "secret" not in repr(auth.auth)
        assert "access-1" not in repr(auth.auth)
        assert "refresh-1" not in repr(auth.auth)
