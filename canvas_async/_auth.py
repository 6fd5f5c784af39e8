"""How requests are authenticated: the modes, auth flows, key mode.

An auth mode is written as flows, after httpx's ``Auth.auth_flow``:
generators that yield what they need and return their result. A flow yields
a :class:`TokenRequest` for each of token mode's own requests (Authenticate,
RefreshAccessToken, DeleteToken), and is sent the decoded answer or has the
request's error thrown in; or an awaitable (another caller's renewal), and is
sent its result. The transport drives the flows with :func:`drive`, sending
what they yield through its own request path, limits and all: no auth object
holds a way back into the client.

Key mode (spec: "Authentication") sends the ``Consumer`` and ``SecretKey``
headers on every authenticated request; token mode is :class:`~._tokens.TokenAuth`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from types import MappingProxyType
from typing import Final, Literal, Protocol, TypeAlias, TypeVar, cast

import attrs

from . import _routes
from ._defaults import AUTH_MODES, AuthMode
from ._errors import CanvasError, ValidationError
from ._retry import Retries

T = TypeVar("T")

Mode: TypeAlias = Literal["keys", "token"]
"""The mode in use: what ``"auto"`` becomes once the server has answered."""


def auth_mode(value: object, what: str = "auth") -> AuthMode:
    """Return the mode ``value`` names (case and spaces aside).

    Raises:
        ValidationError: No mode; the message names ``what``, never the
            value (it may be a key passed in the wrong place).
    """
    name = value.strip().casefold() if isinstance(value, str) else None
    if name in AUTH_MODES:
        return name
    raise ValidationError(f"{what} must be one of {', '.join(AUTH_MODES)}")


@attrs.frozen
class TokenRequest:
    """One of token mode's own requests, as a flow asks for it.

    Attributes:
        key: The route key: ``"authenticate"``, ``"refresh_access_token"`` or
            ``"delete_token"``; never a route that needs the session's token
            (sending it would wait on the renewal that asks for it).
        params: The query parameters (the refresh token travels there).
        retries: Retry settings other than the client's, if any.
    """

    key: str = attrs.field()
    params: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    retries: Retries | None = None

    @key.validator
    def _check(self, _: object, key: str) -> None:
        if _routes.ROUTES[key].auth is _routes.Auth.SESSION:
            raise ValueError(f"{key} is not a token request")


Flow: TypeAlias = Generator[TokenRequest | Awaitable[object], object, T]
"""Yields token requests and awaitables, is sent each answer, returns its result."""


async def drive(flow: Flow[T], send: Callable[[TokenRequest], Awaitable[object]]) -> T:
    """Run ``flow``: send each request it yields, await each awaitable; return its result.

    A request's :class:`~canvas_async.CanvasError` is thrown into the flow; if
    the caller is cancelled, the flow is closed, so it can let go of what it
    started.

    Args:
        flow: The flow to run.
        send: Sends one token request; returns the decoded success answer.
    """
    try:
        step = next(flow)
        while True:
            try:
                answer = await (send(step) if isinstance(step, TokenRequest) else step)
            except CanvasError as error:
                step = flow.throw(error)
            else:
                step = flow.send(answer)
    except StopIteration as done:
        return cast(T, done.value)
    finally:
        flow.close()


def result(value: T) -> Flow[T]:
    """A flow that needs nothing: ``value`` at once."""
    yield from ()
    return value


class AuthStrategy(Protocol):
    """An authentication mode, as the flows the transport drives (see :data:`Flow`).

    A flow that only waits for something yields the awaitable and is sent
    its result: ``return (yield self.fetch_headers(route))``.
    """

    def auth_flow(self, route: _routes.Route) -> Flow[Mapping[str, str]]:
        """Return the headers that authenticate a request for ``route``."""
        ...

    def unauthorized_flow(self, route: _routes.Route, sent: Mapping[str, str]) -> Flow[bool]:
        """React to a 401 on a request sent with ``sent`` headers: return
        True if it may be sent once more with fresh headers."""
        ...

    def close_flow(self) -> Flow[None]:
        """Release what the mode holds (token mode revokes its tokens)."""
        ...


NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


@attrs.define
class KeyAuth:
    """Key mode: the consumer and secret keys on every authenticated request."""

    _headers: Mapping[str, str] = attrs.field(repr=False, alias="headers")

    @classmethod
    def from_keys(cls, consumer: str, secret_key: str) -> KeyAuth:
        """Build the mode, refusing empty or non-string keys."""
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

    def auth_flow(self, route: _routes.Route) -> Flow[Mapping[str, str]]:
        """Return the key headers, or none for an unauthenticated operation."""
        if route.auth is _routes.Auth.REFRESH:
            raise ValidationError(f"{route.operation} exists in token mode only")
        return result(NO_HEADERS if route.auth is _routes.Auth.NONE else self._headers)

    def unauthorized_flow(self, route: _routes.Route, sent: Mapping[str, str]) -> Flow[bool]:
        """Keys do not expire: a 401 is final."""
        return result(False)

    def close_flow(self) -> Flow[None]:
        """Nothing to release."""
        return result(None)
