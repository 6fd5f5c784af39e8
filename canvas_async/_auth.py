"""How requests are authenticated: the strategy interface and key mode.

The transport asks the strategy for a request's headers, tells it about a
401, and closes it with the client. Key mode (spec: "Authentication") sends the
``Consumer`` and ``SecretKey`` headers on every authenticated request; token
mode (:class:`~._tokens.TokenAuth`) plugs in behind the same three calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Protocol

import attrs

from . import _routes
from ._errors import ValidationError

__all__ = ["AuthStrategy", "KeyAuth"]

_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


class AuthStrategy(Protocol):
    """What the transport needs from an authentication mode."""

    async def headers(self, route: _routes.Route) -> Mapping[str, str]:
        """Return the headers that authenticate a request for ``route``."""
        ...

    async def on_unauthorized(self, route: _routes.Route, sent: Mapping[str, str]) -> bool:
        """React to a 401 on a request sent with ``sent`` headers.

        Return True if the request may be sent once more with fresh headers
        (a token mode that refreshed its token), False to raise the 401.
        """
        ...

    async def aclose(self) -> None:
        """Release what the strategy holds (e.g. revoke tokens)."""
        ...


@attrs.define
class KeyAuth:
    """Key mode: the consumer and secret keys on every authenticated request."""

    _headers: Mapping[str, str] = attrs.field(repr=False, alias="headers")

    @classmethod
    def from_keys(cls, consumer: str, secret_key: str) -> KeyAuth:
        """Build the strategy, refusing empty or non-string keys."""
        problems = [
            f"{what} must be a non-empty string"
            for what, value in (("consumer", consumer), ("secret_key", secret_key))
            if not isinstance(value, str) or not value.strip()
        ]
        if problems:
            raise ValidationError("; ".join(problems))
        headers = {_routes.CONSUMER_HEADER: consumer, _routes.SECRET_KEY_HEADER: secret_key}
        # One read-only mapping for the client's lifetime: no per-request copy.
        return cls(MappingProxyType(headers))

    async def headers(self, route: _routes.Route) -> Mapping[str, str]:
        """Return the key headers, or none for an unauthenticated operation."""
        if route.auth is _routes.Auth.NONE:
            return _NO_HEADERS
        if route.auth is _routes.Auth.REFRESH:
            raise ValidationError(f"{route.operation} exists in token mode only")
        return self._headers

    async def on_unauthorized(self, route: _routes.Route, sent: Mapping[str, str]) -> bool:
        """Keys do not expire: a 401 is final."""
        return False

    async def aclose(self) -> None:
        """Nothing to release."""
