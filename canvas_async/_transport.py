"""The one place HTTP happens.

:meth:`Transport.request` takes a route from the table, the account it acts
for and the decoded parameters, and returns the decoded answer or raises. It
is the only code that touches ``aiohttp.ClientSession``; everything it decides
about an answer is delegated to the pure functions of :mod:`._errors`.

Seams for what comes next are marked ``SEAM``: retries (decided by
``Route.idempotent``), a shared rate limit and 429 pause, and token auth (the
``AuthStrategy`` already gets a say on every 401).
"""

from __future__ import annotations

import asyncio
import collections
import enum
import importlib.metadata
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import aiohttp
import attrs
import yarl

from . import _routes
from ._auth import AuthStrategy
from ._errors import (
    CanvasConnectionError,
    CanvasTimeoutError,
    ClientClosedError,
    UnexpectedResponseError,
    ValidationError,
    decode_body,
    raise_for_answer,
)
from ._timeouts import USE_CLIENT_DEFAULT, Timeout, TimeoutTypes, UseClientDefault

__all__ = ["Transport"]

logger: Final = logging.getLogger("canvas_async")

T = TypeVar("T")

# What a parser may raise on a body of the wrong shape (cattrs, with detailed
# validation off, lets the underlying error through).
_SHAPE_ERRORS: Final = (ValueError, TypeError, KeyError, IndexError, AttributeError)

_JSON_HEADERS: Final = {"Content-Type": "application/json; charset=utf-8"}


class _State(enum.Enum):
    UNOPENED = "unopened"
    """No session yet. One is created, inside the running loop, by the first
    request or by ``async with``; nothing to close."""
    OPEN = "open"
    """A session is in use (ours or the caller's); requests are sent."""
    CLOSED = "closed"
    """``aclose()`` ran; requests are refused. A closed client stays closed."""


def _labels() -> Mapping[str, str]:
    # "Workflow (POST)" where two routes share an operation name, else "Accounts".
    counts = collections.Counter(route.operation for route in _routes.iter_routes())
    return {
        route.key: f"{route.operation} ({route.method})"
        if counts[route.operation] > 1
        else route.operation
        for route in _routes.iter_routes()
    }


_LABELS: Final = _labels()


def label(key: str) -> str:
    """Return the operation's name for messages and logs, e.g. ``"Workflow (POST)"``."""
    return _LABELS[key]


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("canvas-async")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        version = "0"
    return f"canvas-async/{version} aiohttp/{aiohttp.__version__}"


@attrs.define(eq=False)
class Transport:
    """Sends requests for one client and all its account views.

    Args:
        base_url: The API's base URL (``.../api``), already checked.
        auth: The authentication strategy.
        timeout: The default timeout.
        max_concurrency: Most requests in flight at once; also the size of
            the connection pool of a session created here.
        session: A caller's session to use instead of creating one; it is
            never closed here.
    """

    base_url: yarl.URL
    auth: AuthStrategy = attrs.field(repr=False)
    timeout: Timeout
    max_concurrency: int
    _session: aiohttp.ClientSession | None = attrs.field(default=None, repr=False, alias="session")
    _owns_session: bool = attrs.field(init=False, repr=False)
    _state: _State = attrs.field(init=False, default=_State.UNOPENED)
    _urls: Mapping[str, yarl.URL] = attrs.field(init=False, repr=False)
    _client_timeout: aiohttp.ClientTimeout = attrs.field(init=False, repr=False)
    # SEAM: a shared rate limiter and a 429 pause would sit next to this slot.
    _slots: asyncio.Semaphore = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._owns_session = self._session is None
        if self._session is not None:
            self._state = _State.OPEN
        base = self.base_url.path.rstrip("/")
        self._urls = {
            route.key: self.base_url.with_path(base + route.path) for route in _routes.iter_routes()
        }
        self._client_timeout = self.timeout.to_aiohttp()
        self._slots = asyncio.Semaphore(self.max_concurrency)

    @property
    def state(self) -> str:
        """``"unopened"``, ``"open"`` or ``"closed"``."""
        return self._state.value

    @property
    def owns_open_session(self) -> bool:
        """Whether a session created here is open (and so must be closed)."""
        return self._owns_session and self._session is not None and not self._session.closed

    def open(self) -> aiohttp.ClientSession:
        """Return the session, creating it on first use (in the running loop)."""
        if self._state is _State.CLOSED:
            raise ClientClosedError(
                "this Canvas client is closed; create a new one to send requests"
            )
        if self._session is None:
            asyncio.get_running_loop()  # a session belongs to a running loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_concurrency),
                timeout=self._client_timeout,
                raise_for_status=False,
                auto_decompress=True,
                json_serialize=json.dumps,
                headers={"User-Agent": _user_agent(), "Accept": "application/json, text/plain"},
            )
            self._state = _State.OPEN
        return self._session

    async def aclose(self) -> None:
        """Close the session if it was created here; idempotent."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        session, self._session = self._session, None
        try:
            if session is not None and self._owns_session:
                await session.close()
        finally:
            await self.auth.aclose()

    async def request(
        self,
        key: str,
        parse: Callable[[Any], T],
        *,
        account_id: uuid.UUID | None = None,
        params: Mapping[str, str] | None = None,
        body: object = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> T:
        """Send the operation ``key`` and return its success body, parsed.

        Args:
            key: The route's key in the route table.
            parse: Turns the decoded success body into the result; a body of
                the wrong shape (it raises ``ValueError``, ``TypeError``,
                ``KeyError``...) becomes an :class:`UnexpectedResponseError`.
            account_id: Sent as ``ManagedAccountId`` when given.
            params: Query parameters; must be among the route's ``query`` names.
            body: A JSON-ready value sent as the request body.
            timeout: This call's timeout; the client default when omitted.

        Raises:
            APIError: The server answered with an error (a subclass names it),
                or :class:`UnexpectedResponseError` with an unexpected body.
            CanvasConnectionError: No connection, or it was lost.
            CanvasTimeoutError: No answer in time.
        """
        route = _routes.route(key)
        session = self.open()
        data = None if body is None else _encode(body)
        client_timeout = (
            self._client_timeout
            if timeout is USE_CLIENT_DEFAULT
            else Timeout.of(timeout).to_aiohttp()
        )
        label = _LABELS[key]
        async with self._slots:
            # SEAM: retries with backoff go around this call, for idempotent
            # routes or failures that prove nothing was sent.
            attempts = 0
            while True:
                attempts += 1
                auth_headers = await self.auth.headers(route)
                headers: Mapping[str, str] = auth_headers
                if account_id is not None or data is not None:
                    # Per request, never on the shared session.
                    headers = dict(auth_headers)
                    if account_id is not None:
                        headers[_routes.ACCOUNT_HEADER] = str(account_id)
                    if data is not None:
                        headers.update(_JSON_HEADERS)
                status, answer_headers, payload = await self._send(
                    session=session,
                    route=route,
                    label=label,
                    headers=headers,
                    params=params,
                    data=data,
                    client_timeout=client_timeout,
                    account_id=account_id,
                )
                if (
                    status == 401
                    and attempts == 1
                    and await self.auth.on_unauthorized(route, auth_headers)
                ):
                    continue
                raise_for_answer(
                    status, answer_headers, payload, operation=label, account_id=account_id
                )
                try:
                    return parse(payload)
                except _SHAPE_ERRORS as error:
                    raise UnexpectedResponseError(
                        f"unexpected answer ({type(error).__name__}: {error})",
                        status=status,
                        operation=label,
                        account_id=account_id,
                        body=payload,
                    ) from error

    async def _send(
        self,
        *,
        session: aiohttp.ClientSession,
        route: _routes.Route,
        label: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
        data: bytes | None,
        client_timeout: aiohttp.ClientTimeout,
        account_id: uuid.UUID | None,
    ) -> tuple[int, Mapping[str, str], object]:
        started = time.perf_counter()
        try:
            async with session.request(
                route.method,
                self._urls[route.key],
                params=params,
                data=data,
                headers=headers,
                timeout=client_timeout,
                allow_redirects=False,  # never send the keys to another host
            ) as response:
                raw = await response.read()
                status = response.status
                answer_headers = response.headers
                content_type = response.headers.get("Content-Type")
        except TimeoutError as error:
            _log_failure(label, route, account_id, started, "timeout")
            raise CanvasTimeoutError(
                f"{label} got no answer in time ({_describe(client_timeout)})",
                operation=label,
                account_id=account_id,
            ) from error
        except aiohttp.ClientError as error:
            _log_failure(label, route, account_id, started, type(error).__name__)
            raise CanvasConnectionError(
                f"{label} failed: {_connection_problem(error)}",
                operation=label,
                account_id=account_id,
            ) from error
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: %s %s account=%s -> %d in %.1f ms",
                label,
                route.method,
                route.path,
                account_id,
                status,
                (time.perf_counter() - started) * 1e3,
            )
        return status, answer_headers, decode_body(content_type, raw)


def _encode(body: object) -> bytes:
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as error:
        # The message names the offending type, never a value.
        raise ValidationError(f"the request body is not JSON: {error}") from None


def _describe(timeout: aiohttp.ClientTimeout) -> str:
    parts = [
        f"{name} {value:g} s"
        for name, value in (
            ("total", timeout.total),
            ("connect", timeout.sock_connect),
            ("read", timeout.sock_read),
        )
        if value is not None
    ]
    return ", ".join(parts) or "no limit"


def _connection_problem(error: aiohttp.ClientError) -> str:
    # Name the failure without the request's details: some aiohttp errors
    # carry the request (headers included) on their attributes.
    if isinstance(error, aiohttp.ClientConnectorError):
        return (
            f"cannot connect to {error.host}:{error.port} ({error.os_error.strerror or 'refused'})"
        )
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the server closed the connection before answering"
    return f"connection problem ({type(error).__name__})"


def _log_failure(
    label: str, route: _routes.Route, account_id: uuid.UUID | None, started: float, what: str
) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s: %s %s account=%s -> %s after %.1f ms",
            label,
            route.method,
            route.path,
            account_id,
            what,
            (time.perf_counter() - started) * 1e3,
        )
