"""The one place HTTP happens.

:meth:`Transport.request` takes a route from the table, the account it acts
for and the decoded parameters, and returns the decoded answer or raises. It
is the only code that touches ``aiohttp.ClientSession``; everything it decides
about an answer is delegated to pure functions: :mod:`._errors` maps answers
to exceptions, :mod:`._retry` decides what is retried, and the loop of
:mod:`._retry_loop` runs the attempts. Every attempt waits for the client's
shared :class:`~._limits.Limits` (a concurrency slot, the request rate, the
pause after a 429); a timeout bounds each attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import secrets
import ssl
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeVar

import aiohttp
import attrs
import yarl
from multidict import CIMultiDict

from . import _deadline, _operations, _routes, _text, models
from ._auth import AuthStrategy, Flow, TokenRequest, drive
from ._convert import SHAPE_ERRORS
from ._errors import (
    CanvasConnectionError,
    CanvasError,
    CanvasTimeoutError,
    ClientClosedError,
    UnexpectedResponseError,
    ValidationError,
    decode_body,
    error_for_answer,
)
from ._hooks import CallEvent, CallInfo, Hooks, log_fields
from ._limits import Limits
from ._paths import Paths
from ._retry import DEFAULT_RETRIES, Retries
from ._retry_loop import Answer, run_attempts
from ._timeouts import USE_CLIENT_DEFAULT, Timeout, TimeoutTypes, UseClientDefault
from ._version import __version__

logger: Final = logging.getLogger("canvas_async")

T = TypeVar("T")


#: The request headers whose values are secrets.
_SECRET_HEADERS: Final = (
    _routes.CONSUMER_HEADER,
    _routes.SECRET_KEY_HEADER,
    _routes.AUTHORIZATION_HEADER,
)

DEFAULT_REQUEST_ID_HEADER: Final = "X-Request-Id"
"""The header carrying each call's client-generated id (see :class:`Transport`)."""


def _user_agent() -> str:
    return f"canvas-async/{__version__} aiohttp/{aiohttp.__version__}"


@attrs.define(eq=False)
class Transport:
    """Sends requests for one client and all its account views.

    Takes :class:`~canvas_async.Canvas`'s options, checked and converted:
    ``base_url`` from ``env``, ``pinned_paths`` from ``paths``,
    ``follow_catalogue`` from ``catalogue``. ``max_concurrency`` also sizes
    the connection pool of a session created here, so no request waits for a
    connection inside aiohttp (where the wait would count against its
    timeout); a caller's ``session`` gets the User-Agent with each request.
    """

    base_url: yarl.URL
    auth: AuthStrategy = attrs.field(repr=False)
    timeout: Timeout
    max_concurrency: int
    rate_limit: float | None = None
    retries: Retries = DEFAULT_RETRIES
    _session: aiohttp.ClientSession | None = attrs.field(default=None, repr=False, alias="session")
    proxy: yarl.URL | None = attrs.field(default=None, repr=False)
    trust_env: bool = False
    ssl: ssl.SSLContext | None = attrs.field(default=None, repr=False)
    request_id_header: str | None = DEFAULT_REQUEST_ID_HEADER
    hooks: Hooks | None = attrs.field(default=None, repr=False)
    """Told every event of every call (``Canvas.add_hooks`` adds to them)."""
    _options: dict[str, Any] = attrs.field(init=False, repr=False)
    _fixed_headers: dict[str, str] = attrs.field(init=False, repr=False)
    pinned_paths: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    follow_catalogue: bool = True
    _owns_session: bool = attrs.field(init=False, repr=False)
    state: Literal["unopened", "open", "closed"] = attrs.field(init=False, default="unopened")
    """``unopened``: no session yet (one is created, in the running loop, by the
    first request or ``async with``); ``open``: a session (ours or the caller's)
    is in use; ``closed``: ``aclose()`` ran, and requests are refused for good."""
    _closing: bool = attrs.field(init=False, default=False, repr=False)
    paths: Paths = attrs.field(init=False, repr=False)
    """Where each operation is sent."""
    _client_timeout: aiohttp.ClientTimeout = attrs.field(init=False, repr=False)
    _auth_seen: Mapping[str, str] | None = attrs.field(init=False, default=None, repr=False)
    _auth_headers: CIMultiDict[str] = attrs.field(init=False, factory=CIMultiDict, repr=False)
    limits: Limits = attrs.field(init=False, repr=False)
    """The concurrency slots, the request rate and the 429 pause, shared by
    every request of the client and its account views."""

    def __attrs_post_init__(self) -> None:
        self._owns_session = self._session is None
        # Options sent with each request: only those set, so aiohttp's defaults stay.
        self._options = {} if self.proxy is None else {"proxy": self.proxy}
        # A session created here carries the User-Agent; a caller's gets it per request.
        self._fixed_headers = {}
        if self._session is not None:
            self.state = "open"
            self._fixed_headers["User-Agent"] = _user_agent()
            if self.ssl is not None:
                self._options["ssl"] = self.ssl
            _check_pool(self._session, self.max_concurrency)
        self.paths = Paths(self.base_url, self.pinned_paths, self.follow_catalogue)
        self._client_timeout = self.timeout.to_aiohttp()
        self.limits = Limits(self.max_concurrency, self.rate_limit)

    @property
    def owns_open_session(self) -> bool:
        """Whether a session created here is open (and so must be closed)."""
        return self._owns_session and self._session is not None and not self._session.closed

    def open(self) -> aiohttp.ClientSession:
        """Return the session, creating it on first use (in the running loop)."""
        if self.state == "closed":
            raise ClientClosedError(
                "this Canvas client is closed; create a new one to send requests"
            )
        if self._session is None:
            asyncio.get_running_loop()  # a session belongs to a running loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_concurrency, ssl=True if self.ssl is None else self.ssl
                ),
                timeout=self._client_timeout,
                trust_env=self.trust_env,
                raise_for_status=False,
                auto_decompress=True,
                json_serialize=json.dumps,
                headers={"User-Agent": _user_agent(), "Accept": "application/json, text/plain"},
            )
            self.state = "open"
        return self._session

    async def aclose(self) -> None:
        """Close the auth mode, then the session if it was created here; idempotent.

        The auth mode goes first: token mode revokes its tokens with a request
        of its own, while the session is still open. It never raises; the
        session is closed whatever happens.
        """
        if self.state == "closed" or self._closing:
            return
        self._closing = True
        try:
            if self.state == "open":
                await self.drive(self.auth.close_flow())
        finally:
            self.state = "closed"
            session, self._session = self._session, None
            if session is not None and self._owns_session:
                await session.close()

    async def request(
        self,
        key: str | _routes.Route,
        parse: Callable[[Any], T],
        *,
        account_id: uuid.UUID | None = None,
        params: Mapping[str, str] | None = None,
        body: object = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        retries: Retries | int | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> T:
        """Send the operation ``key`` and return its success body, parsed.

        Args:
            key: The route's key in the route table, or a route outside it
                (``Canvas.request``).
            parse: Turns the decoded success body into the result; a body of
                the wrong shape (it raises ``ValueError``, ``TypeError``,
                ``KeyError``...) becomes an :class:`UnexpectedResponseError`.
            account_id: Sent as ``ManagedAccountId`` when given.
            params: Query parameters; must be among the route's ``query`` names.
            body: A JSON-ready value sent as the request body.
            timeout: Each attempt's timeout; the client default when omitted.
            retries: This call's retry settings (or ``max_retries`` as an
                int); the client default when omitted.

        Raises:
            APIError: The server answered with an error (a subclass names it),
                or :class:`UnexpectedResponseError` with an unexpected body.
            OutcomeUnknownError: A non-idempotent request failed after it may
                have taken effect; it is not repeated.
            CanvasConnectionError: No connection, or it was lost.
            CanvasTimeoutError: No answer in time.
        """
        if isinstance(key, str):
            route = _routes.ROUTES[key]
            url = self.paths.placed(key)
            if url is None:
                url = await self.paths.read_catalogue(key, self._read_catalogue)
        else:
            route = key
            url = self.paths.join(route.path)
        call = _Call(
            self,
            route=route,
            url=url,
            session=self.open(),
            account_id=account_id,
            params=params,
            body=body,
            timeout=timeout,
            retries=retries,
        )
        try:
            answer = await call.run()
            value = _value(answer, parse, label=route.label, account_id=account_id)
        except CanvasError as error:
            await call.gave_up(error)
            raise
        if call.hooks is not None:
            took = time.perf_counter() - call.info.started
            await call.hooks(CallEvent("success", call.info, call.attempts, answer.status, took))
        return value

    def _with_auth(
        self, auth_headers: Mapping[str, str], extra: Mapping[str, str]
    ) -> CIMultiDict[str]:
        """Return a request's headers: the authentication's and ``extra``.

        As a ``CIMultiDict``, which aiohttp takes as it is (a plain mapping it
        converts); the authentication's, the same object request after
        request in key mode, are converted once."""
        if auth_headers is not self._auth_seen:
            self._auth_seen = auth_headers
            self._auth_headers = CIMultiDict(auth_headers)
        headers = self._auth_headers.copy()
        if extra:
            headers.update(extra)
        return headers

    async def drive(self, flow: Flow[T]) -> T:
        """Run an auth flow: send the token requests it yields as any request
        (limits, retries and all); return its result.

        A token request never needs the session's token (see
        :class:`TokenRequest`), so a renewal's requests cannot wait on themselves.
        """
        return await drive(flow, self._send_token)

    async def _send_token(self, token: TokenRequest) -> object:
        retries = USE_CLIENT_DEFAULT if token.retries is None else token.retries
        return await self.request(token.key, _as_is, params=token.params, retries=retries)

    async def _read_catalogue(self) -> list[models.EndpointInfo]:
        return await self.request("get_metadata", _ENDPOINTS)


def _value(
    answer: Answer, parse: Callable[[Any], T], *, label: str, account_id: uuid.UUID | None
) -> T:
    """Raise the answer's error, or return its body parsed."""
    status, payload = answer.status, answer.payload
    error = error_for_answer(
        status, answer.headers, payload, operation=label, account_id=account_id
    )
    if error is not None:
        raise error
    try:
        return parse(payload)
    except SHAPE_ERRORS as error:
        raise UnexpectedResponseError(
            f"unexpected answer ({type(error).__name__}: {error})",
            status=status,
            operation=label,
            account_id=account_id,
            body=payload,
        ) from error


# GetMetaData's own parser; its models act through no view.
_ENDPOINTS: Final = functools.partial(_operations.GET_METADATA.parse, None)


def _as_is(payload: object) -> object:
    return payload


def _encode(body: object) -> bytes:
    try:
        return json.dumps(body).encode()
    except (TypeError, ValueError, RecursionError) as error:
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


class _Call:
    """One logical call: its request, sent by the retry loop once per attempt."""

    def __init__(
        self,
        transport: Transport,
        *,
        route: _routes.Route,
        url: yarl.URL,
        session: aiohttp.ClientSession,
        account_id: uuid.UUID | None,
        params: Mapping[str, str] | None,
        body: object,
        timeout: TimeoutTypes | UseClientDefault,
        retries: Retries | int | UseClientDefault,
    ) -> None:
        self.transport = transport
        self.route = route
        self.url = url
        self.session = session
        self.params = params
        self.data = None if body is None else _encode(body)
        self.client_timeout = (
            transport._client_timeout
            if timeout is USE_CLIENT_DEFAULT
            else Timeout.of(timeout).to_aiohttp()
        )
        self.policy = transport.retries if retries is USE_CLIENT_DEFAULT else Retries.of(retries)
        self.hooks = transport.hooks
        self.attempts = 0
        self.sent_auth: Mapping[str, str] = {}
        header = transport.request_id_header
        request_id = None if header is None else secrets.token_hex(16)
        self.info = CallInfo(
            route.label, route.method, route.path, account_id, request_id, time.perf_counter()
        )
        # What every attempt adds to the authentication's headers.
        self.extra = dict(transport._fixed_headers)
        if header is not None and request_id is not None:
            self.extra[header] = request_id
        if account_id is not None:
            self.extra[_routes.ACCOUNT_HEADER] = str(account_id)
        if body is not None:
            self.extra["Content-Type"] = "application/json; charset=utf-8"

    async def run(self) -> Answer:
        """Send the request through the retry loop; return the answer to act on."""
        return await run_attempts(
            self.route,
            self.send,
            policy=self.policy,
            gate=self.transport.limits.gate,
            call=self.info,
            hooks=self.hooks,
            on_unauthorized=self.on_unauthorized,
        )

    async def on_unauthorized(self, answer: Answer) -> bool:
        auth = self.transport.auth
        return await self.transport.drive(auth.unauthorized_flow(self.route, answer.sent))

    async def send(self) -> Answer:
        """Send one attempt within the client's limits; return what came back."""
        self.attempts += 1
        transport, route, account_id = self.transport, self.route, self.info.account_id
        # The headers come before the slot: renewing a token sends
        # requests of its own, which must not wait for a slot held here.
        self.sent_auth = await transport.drive(transport.auth.auth_flow(route))
        if self.hooks is not None:
            await self.hooks(CallEvent("request", self.info, self.attempts))
        timeout, max_wait = self.client_timeout, self.policy.max_retry_after
        left = _deadline.remaining()
        if left is not None:
            if left <= 0:
                raise _deadline.passed(route.label, account_id)
            timeout, max_wait = _deadline.capped(timeout, left), min(max_wait, left)
        await transport.limits.acquire(max_wait)
        started = time.perf_counter()
        try:
            async with self.session.request(
                route.method,
                self.url,
                params=self.params,
                data=self.data,
                # Per request, never on the shared session.
                headers=transport._with_auth(self.sent_auth, self.extra),
                timeout=timeout,
                allow_redirects=False,  # never send the keys to another host
                **transport._options,
            ) as response:
                raw = await response.read()
        except TimeoutError as error:
            self._log("timeout", time.perf_counter() - started)
            limit = (
                _describe(timeout)
                if timeout is self.client_timeout
                else f"the deadline and its {_deadline.GRACE:g} s grace"
            )
            raise CanvasTimeoutError(
                f"{route.label} got no answer in time ({limit})",
                operation=route.label,
                account_id=account_id,
            ) from error
        except aiohttp.ClientError as error:
            self._log(type(error).__name__, time.perf_counter() - started)
            raise CanvasConnectionError(
                f"{route.label} failed: {_connection_problem(error)}",
                operation=route.label,
                account_id=account_id,
            ) from error
        finally:
            transport.limits.release()
        took = time.perf_counter() - started
        status, headers = response.status, response.headers
        self._log(status, took)
        payload = decode_body(headers.get("Content-Type"), raw)
        if status >= 300 or (isinstance(payload, dict) and _routes.ENVELOPE_STATE_KEY in payload):
            # An error's text may echo the request: take out what it must not show.
            payload = _text.scrubbed_value(payload, self.secrets())
        if self.hooks is not None:
            event = CallEvent("response", self.info, self.attempts, status, took, headers=headers)
            await self.hooks(event)
        return Answer(status, headers, payload, self.sent_auth)

    def secrets(self) -> set[str]:
        """What this call sent that must never come back out: the authentication's
        values and those the route names secret (a token, the credentials)."""
        found: set[str] = set()
        for name in _SECRET_HEADERS:
            value = self.sent_auth.get(name)
            if value:
                found.update((value, value.partition(" ")[2]))
        names = self.route.secrets
        if names:
            values: list[object] = [self.url.query.get(n) for n in names]
            values += [(self.params or {}).get(n) for n in names]
            if self.data is not None:
                with contextlib.suppress(ValueError):
                    body = json.loads(self.data)
                    if isinstance(body, dict):
                        values += [body.get(n) for n in names]
            found.update(*(_text.secrets_in(v) for v in values if v is not None))
        found.discard("")
        return found

    def _log(self, outcome: int | str, took: float) -> None:
        """Log this attempt at DEBUG, its fields as ``extra`` for structured handlers."""
        if not logger.isEnabledFor(logging.DEBUG):
            return
        call = self.info
        status, error = (outcome, None) if isinstance(outcome, int) else (None, outcome)
        logger.debug(
            "%s: %s %s account=%s -> %s %s %.1f ms request_id=%s",
            call.operation,
            call.method,
            call.path,
            call.account_id,
            outcome,
            "after" if error else "in",
            took * 1e3,
            call.request_id,
            extra={**log_fields(call, self.attempts, status, error), "duration": took},
        )

    async def gave_up(self, error: CanvasError) -> None:
        """Keep the request id on the call's exception; tell the hooks the call failed.

        An error that already carries a request id came from a request of its own
        (a token renewal the call waited for): it keeps that one, the id of the
        request that failed, labelled with its operation.
        """
        call = self.info
        if call.request_id is not None and error.request_id is None:
            error.request_id = call.request_id
            error.add_note(f"request id of {call.operation}: {call.request_id}")
        if self.hooks is not None:
            took = time.perf_counter() - call.started
            status, name = getattr(error, "status", None), type(error).__name__
            await self.hooks(CallEvent("give_up", call, self.attempts, status, took, error=name))


def _check_pool(session: aiohttp.ClientSession, max_concurrency: int) -> None:
    limit = session.connector.limit if session.connector is not None else 0
    if 0 < limit < max_concurrency:
        warnings.warn(
            f"the session's connection pool holds {limit} connections, fewer than "
            f"max_concurrency={max_concurrency}: requests beyond {limit} wait for a "
            "connection inside aiohttp, where the wait counts against their timeout; "
            f"use aiohttp.TCPConnector(limit={max_concurrency}) or lower max_concurrency",
            UserWarning,
            stacklevel=5,
        )
