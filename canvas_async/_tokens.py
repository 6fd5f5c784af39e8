"""Token mode: the access and refresh tokens, and their one-at-a-time renewal.

Spec "Authentication, token mode": ``GET /Authenticate`` with the keys
answers an access token (its value already starts with ``Bearer ``) and a
refresh token, each with its expiry; ``GET /RefreshAccessToken`` trades the
refresh token for a new pair; ``DELETE /DeleteToken`` revokes the pair.

:class:`TokenManager` holds the pair and hands out the ``Authorization``
value. It does no I/O itself: renewing and revoking are token flows
(:mod:`._auth`) that yield the requests they need, run over senders the
transport passes in, so its rules are tested with plain async functions.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final, Generic, Literal, TypeVar

import attrs

from . import _routes
from ._auth import KeyAuth, TokenFlow, TokenRequest, drive
from ._errors import (
    AuthenticationError,
    CanvasError,
    ClientClosedError,
    OutcomeUnknownError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)

__all__ = ["SingleFlight", "TokenAuth", "TokenManager", "TokenPair", "is_token_answer"]

log = logging.getLogger("canvas_async")

#: Renew the access token this long before the expiry the server named, so
#: that a request does not leave with a token that expires on the way.
DEFAULT_REFRESH_MARGIN: Final = timedelta(seconds=60)

# The keys of the token object (spec: "Authentication, token mode").
_ACCESS: Final = "access_token"
_ACCESS_EXPIRES: Final = "accessTokenExpiresDateTime"
_REFRESH: Final = "refresh_token"
_REFRESH_EXPIRES: Final = "refreshTokenExpiresDateTime"
_BEARER: Final = "Bearer "
_EXPIRED: Final = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")


def is_token_answer(payload: object) -> bool:
    """Return whether ``/Authenticate`` answered in token mode.

    Key mode answers ``true``; token mode the token object.
    """
    return isinstance(payload, dict) and isinstance(payload.get(_ACCESS), str)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # Timestamps without an offset are UTC (spec: "Timestamps").
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _jwt_claims(token: str) -> dict[str, object]:
    """Read the claims of a JWT without checking its signature.

    The client is the bearer of the token, not the one who verifies it: it
    only reads ``iat`` and ``exp`` to time the renewal. Empty if unreadable.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    segment = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _epoch(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@attrs.frozen
class TokenPair:
    """An access token and a refresh token with their expiries.

    Attributes:
        authorization: The ``Authorization`` header value, ``Bearer <jwt>``.
        access_expires: When the access token expires (UTC), by the server's
            clock.
        refresh_token: The refresh token.
        refresh_expires: When the refresh token expires (UTC), if known.
        issued_at: When the server issued the access token (its ``iat``
            claim), if the token says.
    """

    authorization: str = attrs.field(repr=False)
    access_expires: datetime
    refresh_token: str = attrs.field(repr=False)
    refresh_expires: datetime | None
    issued_at: datetime | None = None

    @property
    def lifetime(self) -> timedelta | None:
        """How long the access token was issued for, if the token says when
        it was issued: a span, so it does not depend on the clocks agreeing."""
        if self.issued_at is None:
            return None
        return max(self.access_expires - self.issued_at, timedelta(0))

    @classmethod
    def from_answer(cls, payload: object, *, operation: str) -> TokenPair:
        """Read the token object of ``/Authenticate`` or ``/RefreshAccessToken``.

        Raises:
            UnexpectedResponseError: ``payload`` is not a token object. Its
                message names the missing key, never a token.
        """

        def bad(what: str) -> UnexpectedResponseError:
            # The body is not kept: it may hold a token.
            return UnexpectedResponseError(
                f"the token answer has {what}", status=200, operation=operation
            )

        if not isinstance(payload, dict):
            raise bad("the wrong shape: expected a JSON object")
        access = payload.get(_ACCESS)
        refresh = payload.get(_REFRESH)
        if not isinstance(access, str) or not access.strip():
            raise bad(f"no {_ACCESS}")
        if not isinstance(refresh, str) or not refresh.strip():
            raise bad(f"no {_REFRESH}")
        access = access.strip()
        # The server's value already carries the scheme; accept a bare token too.
        if not access.lower().startswith(_BEARER.lower()):
            access = _BEARER + access
        claims = _jwt_claims(access[len(_BEARER) :].strip())
        # The earlier of what the answer says and what the token says: a
        # JWT's exp is in whole seconds, so it may come before the answer's.
        named = [
            moment
            for moment in (_timestamp(payload.get(_ACCESS_EXPIRES)), _epoch(claims.get("exp")))
            if moment is not None
        ]
        if not named:
            raise bad(f"no readable {_ACCESS_EXPIRES}")
        expires = min(named)
        return cls(
            authorization=access,
            access_expires=expires,
            refresh_token=refresh.strip(),
            refresh_expires=_timestamp(payload.get(_REFRESH_EXPIRES)),
            issued_at=_epoch(claims.get("iat")),
        )


def _now() -> datetime:
    return datetime.now(UTC)


@attrs.define
class SingleFlight(Generic[T]):
    """Runs one coroutine at a time on behalf of every task that asks.

    The first caller starts the work; callers arriving while it runs wait
    for the same result or the same exception. A caller that is cancelled
    does not cancel the work for the others. Once it is done the next call
    starts afresh: a failure is not remembered.
    """

    _running: asyncio.Future[T] | None = attrs.field(default=None, init=False)

    @property
    def running(self) -> asyncio.Future[T] | None:
        """The work in flight, if any."""
        return self._running

    async def run(self, start: Callable[[], Awaitable[T]]) -> T:
        """Return the result of the work in flight, starting it with ``start``
        if none is."""
        running = self._running
        if running is None:
            running = self._running = asyncio.ensure_future(start())
            running.add_done_callback(self._done)
        try:
            return await asyncio.shield(running)
        except CanvasError as shared:
            # Each waiter raises an exception of its own: callers annotate what
            # they catch, and one object shared by all would take every note.
            raise _copy(shared) from shared.__cause__

    def _done(self, running: asyncio.Future[T]) -> None:
        if self._running is running:
            self._running = None
        if not running.cancelled():
            running.exception()  # retrieved: the waiters have it, or nobody wanted it


def _copy(error: CanvasError) -> CanvasError:
    mine = copy.copy(error)
    notes = getattr(error, "__notes__", None)
    if notes is not None:
        mine.__notes__ = list(notes)
    return mine


@attrs.frozen
class _Held:
    """A pair in use, and when (by this client's clock) to renew it."""

    pair: TokenPair
    renew_at: datetime


@attrs.define
class TokenManager:
    """Holds the token pair of one client and renews it, one renewal at a time.

    However many tasks find the access token expired at once, one renewal
    runs and they all wait for its result (success or error). A renewal
    refreshes with the refresh token; if the server rejects it, it has
    expired, or the refresh got no answer (the server may have rotated it
    unheard), the server failed, or the answer is no token object, the keys
    are exchanged afresh, once; if that fails too, its error propagates to
    every waiting task (:class:`~canvas_async.AuthenticationError` when the
    keys are refused), and the next call renews afresh.

    The renewal is timed by this client's clock from the moment a pair
    arrives: the token's lifetime (``exp - iat``, or the expiry the server
    named) less ``refresh_margin``, but never less than half the lifetime. So
    a client clock that runs ahead of the server's does not renew on every
    call, and tokens that live shorter than the margin are still used.

    Args:
        exchange: Sends ``/Authenticate`` with the keys; returns the decoded
            answer.
        refresh: Sends ``/RefreshAccessToken`` with the given refresh token;
            returns the decoded answer, raises ``AuthenticationError`` if the
            token is rejected.
        revoke: Sends ``/DeleteToken`` with the given refresh token.
        now: The current time, timezone-aware.
        refresh_margin: How long before its expiry the access token is renewed.
    """

    _exchange: Callable[[], Awaitable[object]] = attrs.field(alias="exchange")
    _refresh: Callable[[str], Awaitable[object]] = attrs.field(alias="refresh")
    _revoke: Callable[[str], Awaitable[object]] = attrs.field(alias="revoke")
    _now: Callable[[], datetime] = attrs.field(default=_now, alias="now")
    refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN
    _held: _Held | None = attrs.field(default=None, init=False)
    _renewal: SingleFlight[_Held] = attrs.field(factory=SingleFlight, init=False)
    _closed: bool = attrs.field(default=False, init=False)

    @property
    def tokens(self) -> TokenPair | None:
        """The pair in use, if any."""
        return None if self._held is None else self._held.pair

    def _hold(self, pair: TokenPair) -> _Held:
        received = self._now()
        lifetime = pair.lifetime
        if lifetime is None:
            lifetime = max(pair.access_expires - received, timedelta(0))
        margin = min(self.refresh_margin, lifetime / 2)
        return _Held(pair, received + lifetime - margin)

    def adopt(self, payload: object, *, operation: str = "Authenticate") -> None:
        """Start from an answer the client already has (``auth="auto"`` reads
        ``/Authenticate`` once to pick the mode)."""
        self._held = self._hold(TokenPair.from_answer(payload, operation=operation))

    async def authorization(self) -> str:
        """Return the ``Authorization`` value to send, renewing it if needed.

        Raises:
            AuthenticationError: The keys were refused.
            ClientClosedError: The manager was closed.
        """
        if self._closed:
            raise _closed_error()
        held = self._held
        if held is not None and self._now() < held.renew_at:
            return held.pair.authorization
        # The renewal's pair is used even if it already looks due for renewal
        # (tokens shorter-lived than the margin): no renewal loop.
        held = await self._renewal.run(lambda: self._renew(held))
        if self._closed:
            raise _closed_error()
        return held.pair.authorization

    async def _renew(self, held: _Held | None) -> _Held:
        renewed = await drive(self._renewal_flow(None if held is None else held.pair), self._send)
        if not self._closed:
            self._held = renewed
        return renewed

    async def _send(self, request: TokenRequest) -> object:
        params = request.params or {}
        if request.key == "refresh_access_token":
            return await self._refresh(params["token"])
        if request.key == "delete_token":
            return await self._revoke(params["refreshToken"])
        return await self._exchange()

    def _renewal_flow(self, tokens: TokenPair | None) -> TokenFlow[_Held]:
        """Refresh ``tokens``, or exchange the keys if the refresh did not
        certainly bring a new pair (see :data:`_REFRESH_GIVES_WAY`)."""
        if tokens is not None and (
            tokens.refresh_expires is None or self._now() < tokens.refresh_expires
        ):
            try:
                answer = yield _refresh_request(tokens)
                return self._hold(TokenPair.from_answer(answer, operation="RefreshAccessToken"))
            except _REFRESH_GIVES_WAY as error:
                log.info("the refresh failed (%s); exchanging the keys again", type(error).__name__)
        answer = yield _EXCHANGE
        if answer is True:
            raise UnexpectedResponseError(
                "Authenticate answered true: the server speaks key mode; "
                "use auth='keys' or auth='auto'",
                status=200,
                operation="Authenticate",
            )
        return self._hold(TokenPair.from_answer(answer, operation="Authenticate"))

    def invalidate(self, authorization: str) -> None:
        """Mark the access token expired after the server refused it with 401.

        Only if ``authorization`` is still the value in use: tasks that were
        refused with a token that has since been renewed must not throw the
        new one away. The refresh token is kept, so the next
        :meth:`authorization` refreshes rather than exchanging the keys.
        """
        held = self._held
        if held is not None and held.pair.authorization == authorization:
            self._held = _Held(held.pair, _EXPIRED)

    async def aclose(self) -> None:
        """Revoke the tokens with ``/DeleteToken``, once; later calls do nothing.

        A failure to revoke is logged, not raised: closing must not fail.
        """
        if self._closed:
            return
        self._closed = True
        running = self._renewal.running
        if running is not None:
            # Let a renewal in flight finish, so the pair it brings is revoked.
            (outcome,) = await asyncio.gather(running, return_exceptions=True)
            if isinstance(outcome, _Held):
                self._held = outcome
        held, self._held = self._held, None
        if held is None:
            return
        await drive(self._revocation_flow(held.pair), self._send)

    def _revocation_flow(self, tokens: TokenPair) -> TokenFlow[None]:
        """Revoke ``tokens``; a failure is logged, not raised."""
        if tokens.refresh_expires is not None and self._now() >= tokens.refresh_expires:
            return  # the server has forgotten it already
        try:
            yield TokenRequest("delete_token", {"refreshToken": tokens.refresh_token})
        except AuthenticationError:
            # "refresh token is not found": an earlier try whose answer was
            # lost revoked it, or it expired. Either way it is dead.
            log.info("the refresh token was already unknown to the server on close")
        except CanvasError as exc:
            log.warning("could not revoke the tokens on close: %s", type(exc).__name__)


_EXCHANGE: Final = TokenRequest("authenticate")

# Why a refresh gives way to one fresh key exchange rather than being sent
# again: RefreshAccessToken rotates the refresh token (spec: "Authentication,
# token mode"), so after a refusal (unknown, revoked, rotated away), no answer,
# an ambiguous one, a server error after the retries, or an answer that is no
# token object, the refresh token in hand may be dead or may be the only
# proof of a pair the server issued unheard. The keys always work.
_REFRESH_GIVES_WAY: Final = (
    AuthenticationError,
    OutcomeUnknownError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)


def _refresh_request(tokens: TokenPair) -> TokenRequest:
    return TokenRequest("refresh_access_token", {"token": tokens.refresh_token})


def _closed_error() -> ClientClosedError:
    return ClientClosedError("this Canvas client is closed; its tokens were revoked")


# -- the auth strategy -----------------------------------------------------------

Send = Callable[[str, Mapping[str, str] | None], Awaitable[object]]
"""Sends the operation with the given route key and query parameters; returns
the decoded success answer, raises the API's error."""

_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


@attrs.define
class TokenAuth:
    """Token mode: the keys are exchanged for a bearer token (spec:
    "Authentication, token mode").

    Pass ``auth="token"`` (or ``"auto"``) to the client, or an instance to
    tune it: ``Canvas(..., auth=TokenAuth(refresh_margin=timedelta(minutes=2)))``.
    An instance belongs to one client.

    Args:
        auto: Pick the mode from the server's answer to ``/Authenticate``:
            ``true`` means key mode, a token object token mode.
        refresh_margin: How long before its expiry the access token is renewed.
    """

    auto: bool = False
    refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN
    _keys: KeyAuth | None = attrs.field(default=None, init=False, repr=False)
    _send: Send | None = attrs.field(default=None, init=False, repr=False)
    _manager: TokenManager | None = attrs.field(default=None, init=False, repr=False)
    _mode: Literal["keys", "token"] | None = attrs.field(default=None, init=False)
    _detection: SingleFlight[Literal["keys", "token"]] = attrs.field(
        factory=SingleFlight, init=False, repr=False
    )

    def bind(self, keys: KeyAuth, send: Send) -> None:
        """Give the strategy the keys and a way to send; the client calls this.

        Raises:
            ValidationError: The instance already belongs to a client.
        """
        if self._send is not None:
            raise ValidationError("a TokenAuth belongs to one client; create one per client")
        self._keys = keys
        self._send = send
        self._manager = TokenManager(
            exchange=lambda: send("authenticate", None),
            refresh=lambda token: send("refresh_access_token", {"token": token}),
            revoke=lambda token: send("delete_token", {"refreshToken": token}),
            refresh_margin=self.refresh_margin,
        )
        if not self.auto:
            self._mode = "token"

    @property
    def mode(self) -> Literal["keys", "token"] | None:
        """The mode in use: ``None`` until ``auto`` has asked the server."""
        return self._mode

    @property
    def manager(self) -> TokenManager:
        """The token manager (once bound)."""
        if self._manager is None:
            raise RuntimeError("TokenAuth is not bound to a client")
        return self._manager

    def _bound(self) -> tuple[KeyAuth, Send, TokenManager]:
        if self._keys is None or self._send is None or self._manager is None:
            raise RuntimeError("TokenAuth is not bound to a client")
        return self._keys, self._send, self._manager

    async def resolve(self) -> Literal["keys", "token"]:
        """Return the mode, asking ``/Authenticate`` once if ``auto``.

        In token mode the answer is kept as the first token pair, so asking
        costs no extra exchange.
        """
        if self._mode is not None:
            return self._mode
        return await self._detection.run(self._detect)

    async def _detect(self) -> Literal["keys", "token"]:
        _, send, _ = self._bound()
        return await drive(
            self._detection_flow(), lambda request: send(request.key, request.params)
        )

    def _detection_flow(self) -> TokenFlow[Literal["keys", "token"]]:
        _, _, manager = self._bound()
        payload = yield _EXCHANGE
        if is_token_answer(payload):
            manager.adopt(payload)
            self._mode = "token"
        elif payload is True:
            self._mode = "keys"
        else:
            raise UnexpectedResponseError(
                "Authenticate answered neither true (key mode) nor a token object",
                status=200,
                operation="Authenticate",
            )
        log.info("the server speaks %s mode", self._mode)
        return self._mode

    async def headers(self, route: _routes.Route) -> Mapping[str, str]:
        """Return the headers that authenticate a request for ``route``."""
        keys, _, manager = self._bound()
        if route.auth is _routes.Auth.NONE or route.auth is _routes.Auth.REFRESH:
            return _NO_HEADERS  # the refresh token travels in the query string
        if route.auth is _routes.Auth.KEYS or await self.resolve() == "keys":
            return await keys.headers(route)
        return {_routes.AUTHORIZATION_HEADER: await manager.authorization()}

    async def on_unauthorized(self, route: _routes.Route, sent: Mapping[str, str]) -> bool:
        """Drop the refused access token (if still current): send once more."""
        value = sent.get(_routes.AUTHORIZATION_HEADER)
        if route.auth is not _routes.Auth.SESSION or value is None or self._manager is None:
            return False
        self._manager.invalidate(value)
        return True

    async def aclose(self) -> None:
        """Revoke the tokens with one ``/DeleteToken``."""
        if self._manager is not None:
            await self._manager.aclose()
