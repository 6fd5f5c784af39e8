"""Token mode: access tokens (HS256 JWTs) and refresh tokens (spec: "Authentication").

Assumed where the documentation is silent:

- RefreshAccessToken rotates: it issues a new access token *and* a new refresh
  token, and the refresh token it was given stops working. An access token
  issued before stays valid until it expires.
- DeleteToken revokes the refresh token and the access token last issued with
  it.
- An expired refresh token is treated as not found.

The claims are the sample token's, with the emulator's own origin as ``iss``
(the real server names itself there) and the caller's e-mail, id and role.
"""

from __future__ import annotations

import math
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from canvas_async import _routes

from . import _jwt
from ._answers import ApiAnswer
from ._records import AccountRecord
from ._time import Clock, token_timestamp

Lifetime = timedelta | float
"""A token lifetime: a ``timedelta``, or a number of seconds."""

AUDIENCE: Final = "cma-users"
EMAIL_CLAIM: Final = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
USERDATA_CLAIM: Final = "http://schemas.microsoft.com/ws/2008/06/identity/claims/userdata"
ROLE_CLAIM: Final = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


@attrs.define
class _Grant:
    account: AccountRecord
    expires: datetime
    access_jti: str


def lifetime(value: Lifetime, what: str) -> timedelta:
    """Return ``value`` as a positive, finite ``timedelta``.

    Seconds are accepted so that a test can let tokens expire in seconds.

    Raises:
        ValueError: ``value`` is not a positive duration; the message names ``what``.
    """
    if isinstance(value, timedelta):
        span = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        span = timedelta(seconds=value)
    else:
        raise ValueError(f"{what} must be a timedelta or a number of seconds")
    if span <= timedelta(0):
        raise ValueError(f"{what} must be positive")
    return span


@attrs.define
class TokenStore:
    """The tokens the emulator issued, and how often each exchange happened.

    Attributes:
        issued: Token pairs issued by Authenticate.
        refreshes: Successful RefreshAccessToken calls.
        deletes: Successful DeleteToken calls.
    """

    clock: Clock
    access_lifetime: timedelta
    refresh_lifetime: timedelta
    issuer: str = "http://127.0.0.1"
    issued: int = 0
    refreshes: int = 0
    deletes: int = 0
    _key: bytes = attrs.field(factory=lambda: secrets.token_bytes(32), repr=False)
    # jti -> (account id, expiry); the JWT carries its own exp, but this lets
    # tests expire or revoke tokens that are already out.
    _access: dict[str, tuple[uuid.UUID, datetime]] = attrs.field(factory=dict, repr=False)
    _refresh: dict[str, _Grant] = attrs.field(factory=dict, repr=False)

    def issue(self, account: AccountRecord) -> dict[str, Any]:
        """Return a new token object for ``account`` (Authenticate)."""
        self.issued += 1
        return self._pair(account)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Exchange ``refresh_token`` for a new pair; the old refresh token dies."""
        grant = self._take(refresh_token)
        self.refreshes += 1
        return self._pair(grant.account)

    def delete(self, refresh_token: str) -> None:
        """Revoke ``refresh_token`` and the access token issued with it."""
        grant = self._take(refresh_token)
        self._access.pop(grant.access_jti, None)
        self.deletes += 1

    def account_for(self, authorization: str | None) -> uuid.UUID | None:
        """Return whose valid, unexpired access token ``authorization`` carries."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.casefold() != "bearer" or not token.strip():
            return None
        try:
            claims = _jwt.decode(token.strip(), self._key)
        except _jwt.InvalidTokenError:
            return None
        issued = self._access.get(str(claims.get("jti")))
        if issued is None or claims.get("aud") != AUDIENCE:
            return None
        account_id, expires = issued
        exp = claims.get("exp")
        now = self.clock.now()
        if not isinstance(exp, int) or exp <= now.timestamp() or expires <= now:
            return None
        return account_id

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (refresh tokens live on)."""
        now = self.clock.now()
        self._access = {jti: (account, now) for jti, (account, _) in self._access.items()}

    def _take(self, refresh_token: str) -> _Grant:
        grant = self._refresh.pop(refresh_token, None)
        if grant is None or grant.expires <= self.clock.now():
            raise ApiAnswer(_routes.REFRESH_TOKEN_NOT_FOUND_TEXT, status=401)
        return grant

    def _pair(self, account: AccountRecord) -> dict[str, Any]:
        now = self.clock.now()
        access_expires = now + self.access_lifetime
        refresh_expires = now + self.refresh_lifetime
        jti = str(uuid.uuid4())
        claims = {
            "jti": jti,
            "iss": self.issuer,
            "iat": int(now.timestamp()),
            EMAIL_CLAIM: account.email,
            USERDATA_CLAIM: str(account.id),
            ROLE_CLAIM: account.role,
            "LoggedSupportedByCma": "True",
            "ManagedSupportedByCma": "True",
            "exp": int(access_expires.timestamp()),
            "aud": AUDIENCE,
        }
        refresh_token = secrets.token_hex(16)
        self._access[jti] = (account.id, access_expires)
        self._refresh[refresh_token] = _Grant(account, refresh_expires, jti)
        return {
            # The server's access_token already carries the scheme (spec).
            "access_token": f"Bearer {_jwt.encode(claims, self._key)}",
            "accessTokenExpiresDateTime": token_timestamp(access_expires),
            "refresh_token": refresh_token,
            "refreshTokenExpiresDateTime": token_timestamp(refresh_expires),
        }
