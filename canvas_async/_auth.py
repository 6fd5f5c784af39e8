"""How requests are authenticated: the strategy interface, key mode, token flows.

The transport asks the strategy for a request's headers, tells it about a
401, and closes it with the client. Key mode (spec: "Authentication") sends the
``Consumer`` and ``SecretKey`` headers on every authenticated request; token
mode (:class:`~._tokens.TokenAuth`) plugs in behind the same three calls.

Token mode's own requests (Authenticate, RefreshAccessToken, DeleteToken) are
written as flows, after httpx's ``Auth.auth_flow``: a generator that yields
each :class:`TokenRequest` it needs and is sent its answer (or has the
request's error thrown in). The rules stay pure; :func:`drive` runs a flow
over a sender, which the transport provides, so nothing calls back up into
the client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from types import MappingProxyType
from typing import Final, Protocol, TypeAlias, TypeVar

import attrs

from . import _routes
from ._errors import CanvasError, ValidationError

__all__ = ["AuthStrategy", "KeyAuth", "TokenFlow", "TokenRequest", "drive"]

T = TypeVar("T")


@attrs.frozen
class TokenRequest:
    """One of token mode's own requests, as a flow asks for it.

    Attributes:
        key: ``"authenticate"``, ``"refresh_access_token"`` or ``"delete_token"``.
        params: The query parameters (the refresh token travels there).
    """

    key: str
    params: Mapping[str, str] | None = attrs.field(default=None, repr=False)


TokenFlow: TypeAlias = Generator[TokenRequest, object, T]
"""Yields the token requests it needs, is sent each decoded answer, returns its result."""

SendToken: TypeAlias = Callable[[TokenRequest], Awaitable[object]]


async def drive(flow: TokenFlow[T], send: SendToken) -> T:
    """Run ``flow``: send each request it yields, hand back the answer or the error.

    Args:
        flow: The flow to run.
        send: Sends one token request; returns the decoded success answer,
            raises the request's :class:`~canvas_async.CanvasError`.
    """
    try:
        request = next(flow)
        while True:
            try:
                answer = await send(request)
            except CanvasError as error:
                request = flow.throw(error)
            else:
                request = flow.send(answer)
    except StopIteration as done:
        result: T = done.value
        return result


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

    def headers_now(self, route: _routes.Route) -> Mapping[str, str]:
        """:meth:`headers`, without a coroutine: key mode never waits for its
        headers, so the transport asks here on every request."""
        if route.auth is _routes.Auth.NONE:
            return _NO_HEADERS
        if route.auth is _routes.Auth.REFRESH:
            raise ValidationError(f"{route.operation} exists in token mode only")
        return self._headers

    async def headers(self, route: _routes.Route) -> Mapping[str, str]:
        """Return the key headers, or none for an unauthenticated operation."""
        return self.headers_now(route)

    async def on_unauthorized(self, route: _routes.Route, sent: Mapping[str, str]) -> bool:
        """Keys do not expire: a 401 is final."""
        return False

    async def aclose(self) -> None:
        """Nothing to release."""
