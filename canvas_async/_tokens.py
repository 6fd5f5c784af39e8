"""Token mode: the access and refresh tokens, and their one-at-a-time renewal.

Spec "Authentication, token mode": ``GET /Authenticate`` with the keys
answers an access token (its value already starts with ``Bearer ``) and a
refresh token, each with its expiry; ``GET /RefreshAccessToken`` trades the
refresh token for a new pair; ``DELETE /DeleteToken`` revokes the pair.

:class:`TokenManager` holds the pair and hands out the ``Authorization``
value. It does no I/O itself: the three requests are callables the client
passes in, so its rules are tested with plain async functions.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs

from ._errors import (
    AuthenticationError,
    CanvasError,
    ClientClosedError,
    UnexpectedResponseError,
)

__all__ = ["TokenManager", "TokenPair", "is_token_answer"]

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
        expires = _timestamp(payload.get(_ACCESS_EXPIRES)) or _epoch(claims.get("exp"))
        if expires is None:
            raise bad(f"no readable {_ACCESS_EXPIRES}")
        return cls(
            authorization=access,
            access_expires=expires,
            refresh_token=refresh.strip(),
            refresh_expires=_timestamp(payload.get(_REFRESH_EXPIRES)),
            issued_at=_epoch(claims.get("iat")),
        )


def _now() -> datetime:
    return datetime.now(UTC)


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
    refreshes with the refresh token; if the server rejects it (or it has
    expired), the keys are exchanged afresh, once; if that is refused too,
    :class:`~canvas_async.AuthenticationError` propagates.

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
    _renewal: asyncio.Future[_Held] | None = attrs.field(default=None, init=False)
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
        renewal = self._renewal
        if renewal is None:
            renewal = self._renewal = asyncio.ensure_future(self._renew(held))
            renewal.add_done_callback(self._renewed)
        # Shielded: a caller that is cancelled leaves the renewal running for
        # the others. Its pair is used even if it already looks due for
        # renewal (tokens shorter-lived than the margin): no renewal loop.
        held = await asyncio.shield(renewal)
        if self._closed:
            raise _closed_error()
        return held.pair.authorization

    def _renewed(self, renewal: asyncio.Future[_Held]) -> None:
        if self._renewal is renewal:
            self._renewal = None
        if renewal.cancelled():
            return
        if renewal.exception() is None and not self._closed:
            self._held = renewal.result()

    async def _renew(self, held: _Held | None) -> _Held:
        tokens = None if held is None else held.pair
        if tokens is not None and (
            tokens.refresh_expires is None or self._now() < tokens.refresh_expires
        ):
            try:
                answer = await self._refresh(tokens.refresh_token)
            except AuthenticationError:
                # Rejected (unknown, revoked or rotated away): exchange the keys.
                log.info("the refresh token was rejected; exchanging the keys again")
            else:
                return self._hold(TokenPair.from_answer(answer, operation="RefreshAccessToken"))
        return self._hold(TokenPair.from_answer(await self._exchange(), operation="Authenticate"))

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
        renewal = self._renewal
        if renewal is not None:
            # Let a renewal in flight finish, so the pair it brings is revoked.
            (outcome,) = await asyncio.gather(renewal, return_exceptions=True)
            if isinstance(outcome, _Held):
                self._held = outcome
        held, self._held = self._held, None
        if held is None:
            return
        tokens = held.pair
        if tokens.refresh_expires is not None and self._now() >= tokens.refresh_expires:
            return  # the server has forgotten it already
        try:
            await self._revoke(tokens.refresh_token)
        except CanvasError as exc:
            log.warning("could not revoke the tokens on close: %s", type(exc).__name__)


def _closed_error() -> ClientClosedError:
    return ClientClosedError("this Canvas client is closed; its tokens were revoked")
