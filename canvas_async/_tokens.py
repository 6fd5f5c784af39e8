"""Token mode: the access and refresh tokens, and their one-at-a-time renewal.

Spec "Authentication, token mode": ``GET /Authenticate`` with the keys
answers an access token (its value already starts with ``Bearer ``) and a
refresh token, each with its expiry; ``GET /RefreshAccessToken`` trades the
refresh token for a new pair; ``DELETE /DeleteToken`` revokes the pair.

:class:`TokenAuth` holds the pair and hands out the ``Authorization`` value.
It does no I/O itself: its flows (:mod:`._auth`) yield the requests they
need, and the transport sends them, so its rules are tested with a plain
async function as the sender.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar, cast

import attrs

from . import _routes
from ._auth import NO_HEADERS, Flow, KeyAuth, Mode, TokenRequest, result
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
from ._retry import Retries

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


def mode_of(payload: object) -> Mode:
    """Return the mode ``/Authenticate``'s answer shows: key mode answers
    ``true``, token mode the token object.

    Raises:
        UnexpectedResponseError: Neither.
    """
    if payload is True:
        return "keys"
    if isinstance(payload, dict) and isinstance(payload.get(_ACCESS), str):
        return "token"
    raise _unexpected("Authenticate answered neither true (key mode) nor a token object")


def _unexpected(message: str, operation: str = "Authenticate") -> UnexpectedResponseError:
    """Return the error of a token answer of the wrong shape (the body is not kept: it
    may hold a token)."""
    return UnexpectedResponseError(message, status=200, operation=operation)


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
            return _unexpected(f"the token answer has {what}", operation)

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


async def _join(running: Awaitable[T]) -> T:
    """Wait for work that another caller started, without cancelling it.

    Each waiter raises a copy of its error: callers annotate what they catch,
    and one object shared by all would take every note.
    """
    try:
        return await asyncio.shield(running)
    except CanvasError as shared:
        mine = copy.copy(shared)
        notes = getattr(shared, "__notes__", None)
        if notes is not None:
            mine.__notes__ = list(notes)
        raise mine from shared.__cause__


_EXCHANGE: Final = TokenRequest("authenticate")
# Revoking on close is retried briefly, so that a flaky moment does not leave
# a refresh token alive for a day; closing must not linger.
_REVOKE_RETRIES: Final = Retries(max_retries=2, max_rate_limited=1, max_retry_after=5.0)

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


@attrs.define
class TokenAuth:
    """Token mode: the keys are exchanged for a bearer token (spec:
    "Authentication, token mode"), renewed one renewal at a time.

    Pass ``auth="token"`` (or ``"auto"``) to the client, or an instance to
    tune it: ``Canvas(..., auth=TokenAuth(refresh_margin=timedelta(minutes=2)))``.
    An instance belongs to one client.

    However many requests find the access token due at once, one renewal
    runs and they all wait for its result (success or error); if the caller
    that runs it is cancelled, a waiter starts it afresh. A renewal refreshes
    with the refresh token; if that fails in any way (see
    :data:`_REFRESH_GIVES_WAY`) the keys are exchanged afresh, once; if that
    fails too, every waiter raises its error
    (:class:`~canvas_async.AuthenticationError` when the keys are refused),
    and the next request renews afresh.

    The renewal is timed by this client's clock from the moment a pair
    arrives: the token's lifetime (``exp - iat``, or the expiry the server
    named) less ``refresh_margin``, but never less than half the lifetime. So
    a client clock that runs ahead of the server's does not renew on every
    call, and tokens that live shorter than the margin are still used.

    Args:
        auto: Pick the mode from the server's answer to ``/Authenticate``:
            ``true`` means key mode, a token object token mode.
        refresh_margin: How long before its expiry the access token is renewed.
    """

    auto: bool = False
    refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN
    _keys: KeyAuth | None = attrs.field(default=None, init=False, repr=False)
    _mode: Mode | None = attrs.field(default=None, init=False)
    _now: Callable[[], datetime] = attrs.field(default=_now, init=False, repr=False)
    _pair: TokenPair | None = attrs.field(default=None, init=False, repr=False)
    _renew_at: datetime = attrs.field(default=_EXPIRED, init=False, repr=False)
    """When, by this client's clock, to renew ``_pair``."""
    _renewal: asyncio.Future[TokenPair | None] | None = attrs.field(
        default=None, init=False, repr=False
    )
    _closed: bool = attrs.field(default=False, init=False, repr=False)

    def bind(self, keys: KeyAuth) -> None:
        """Give the mode the keys it exchanges; the client calls this.

        Raises:
            ValidationError: The instance already belongs to a client.
        """
        if self._keys is not None:
            raise ValidationError("a TokenAuth belongs to one client; create one per client")
        self._keys = keys
        if not self.auto:
            self._mode = "token"

    @property
    def mode(self) -> Mode | None:
        """The mode in use: ``None`` until ``auto`` has asked the server."""
        return self._mode

    @property
    def tokens(self) -> TokenPair | None:
        """The pair in use, if any."""
        return self._pair

    def auth_flow(self, route: _routes.Route) -> Flow[Mapping[str, str]]:
        """Return the headers that authenticate a request for ``route``."""
        keys = self._keys
        if keys is None:
            raise RuntimeError("TokenAuth is not bound to a client")
        if route.auth is _routes.Auth.NONE or route.auth is _routes.Auth.REFRESH:
            return NO_HEADERS  # the refresh token travels in the query string
        if route.auth is _routes.Auth.KEYS:
            return (yield from keys.auth_flow(route))
        authorization = yield from self.authorization_flow()
        if authorization is None:
            return (yield from keys.auth_flow(route))
        return {_routes.AUTHORIZATION_HEADER: authorization}

    def authorization_flow(self) -> Flow[str | None]:
        """Return the ``Authorization`` value to send (None in key mode),
        detecting the mode or renewing the pair if needed.

        Raises:
            AuthenticationError: The keys were refused.
            ClientClosedError: The tokens were revoked.
        """
        while True:
            if self._closed:
                raise ClientClosedError("this Canvas client is closed; its tokens were revoked")
            tokens = self._pair
            if self._mode == "keys" or (tokens is not None and self._now() < self._renew_at):
                return None if tokens is None else tokens.authorization
            if self._renewal is None:
                renewed = yield from self._renew(tokens)
            else:
                renewed = cast(TokenPair | None, (yield _join(self._renewal)))
            # The renewal's pair is used even if it already looks due for renewal
            # (tokens shorter-lived than the margin): no renewal loop. None: the
            # server speaks key mode, or the renewal was abandoned (ask again).
            if renewed is not None and not self._closed:
                return renewed.authorization

    def _renew(self, tokens: TokenPair | None) -> Flow[TokenPair | None]:
        """Run the renewal for every caller: those arriving meanwhile wait on
        ``_renewal``; if this caller goes away, they are sent None and ask again."""
        running = self._renewal = asyncio.get_running_loop().create_future()
        try:
            renewed = yield from self._renewal_flow(tokens)
            running.set_result(renewed)
            return renewed
        except CanvasError as error:
            running.set_exception(error)
            running.exception()  # retrieved: the waiters have it, or nobody wanted it
            raise
        finally:
            self._renewal = None
            if not running.done():
                running.set_result(None)

    def _renewal_flow(self, tokens: TokenPair | None) -> Flow[TokenPair | None]:
        """Refresh ``tokens``, or exchange the keys if the refresh did not
        certainly bring a new pair; None if ``auto`` found key mode."""
        if tokens is not None and (
            tokens.refresh_expires is None or self._now() < tokens.refresh_expires
        ):
            try:
                answer = yield TokenRequest("refresh_access_token", {"token": tokens.refresh_token})
                return self._hold(TokenPair.from_answer(answer, operation="RefreshAccessToken"))
            except _REFRESH_GIVES_WAY as error:
                log.info("the refresh failed (%s); exchanging the keys again", type(error).__name__)
        answer = yield _EXCHANGE
        mode = mode_of(answer)
        if self._mode is None:
            self._mode = mode
            log.info("the server speaks %s mode", mode)
        if mode == "token":
            return self._hold(TokenPair.from_answer(answer, operation="Authenticate"))
        if self._mode == "keys":
            return None
        raise _unexpected(
            "Authenticate answered true: the server speaks key mode; use auth='keys' or auth='auto'"
        )

    def _hold(self, pair: TokenPair) -> TokenPair:
        """Use ``pair`` from now on, and time its renewal."""
        received = self._now()
        lifetime = pair.lifetime
        if lifetime is None:
            lifetime = max(pair.access_expires - received, timedelta(0))
        margin = min(self.refresh_margin, lifetime / 2)
        self._pair, self._renew_at = pair, received + lifetime - margin
        return pair

    def unauthorized_flow(self, route: _routes.Route, sent: Mapping[str, str]) -> Flow[bool]:
        """Drop the refused access token (if still in use): send once more.

        Only if the refused value is still the one in use: requests refused
        with a token that has since been renewed must not throw the new one
        away. The refresh token is kept, so the next request refreshes rather
        than exchanging the keys.
        """
        value = sent.get(_routes.AUTHORIZATION_HEADER)
        if route.auth is not _routes.Auth.SESSION or value is None:
            return result(False)
        if self._pair is not None and self._pair.authorization == value:
            self._renew_at = _EXPIRED
        return result(True)

    def close_flow(self) -> Flow[None]:
        """Revoke the tokens with one ``/DeleteToken``, once; later calls do nothing.

        A failure to revoke is logged, not raised: closing must not fail.
        """
        if self._closed:
            return
        self._closed = True
        if self._renewal is not None:
            # Let a renewal in flight finish, so the pair it brings is revoked.
            with contextlib.suppress(CanvasError):
                yield _join(self._renewal)
        tokens, self._pair = self._pair, None
        if tokens is None:
            return
        if tokens.refresh_expires is not None and self._now() >= tokens.refresh_expires:
            return  # the server has forgotten it already
        try:
            yield TokenRequest(
                "delete_token", {"refreshToken": tokens.refresh_token}, _REVOKE_RETRIES
            )
        except AuthenticationError:
            # "refresh token is not found": an earlier try whose answer was
            # lost revoked it, or it expired. Either way it is dead.
            log.info("the refresh token was already unknown to the server on close")
        except CanvasError as exc:
            log.warning("could not revoke the tokens on close: %s", type(exc).__name__)
