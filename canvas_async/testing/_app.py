"""The aiohttp application: the route table served, with auth, faults and a log.

Routes are registered from ``canvas_async._routes.ROUTES`` (aliases included),
so the emulator serves exactly the table the SDK is built from. A request
travels: request log -> rate limits -> latency -> faults that answer instead
of the operation -> authentication -> account scope -> the operation -> faults
that strike after it. Any exception the emulator did not mean to raise is
logged, kept in ``state.internal_errors`` and answered with a bare 500, so
that an emulator bug shows instead of passing for an API answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Final

import attrs
from aiohttp import web

from canvas_async import _routes
from canvas_async._routes import ROUTES, Auth, Route

from ._answers import ApiAnswer, EnvelopeError
from ._faults import (
    Drip,
    DropConnection,
    ErrorEnvelope,
    ErrorStatus,
    Fault,
    RawAnswer,
)
from ._handlers import HANDLERS, Call, Emulation, json_answer, text_answer
from ._records import AccountRecord, RequestRecord

API_PREFIX: Final = "/api"
"""The base URL's path, as in ``https://canvas.connectmyapps.com/api``."""

logger = logging.getLogger("canvas_async.testing")


_EMULATION: Final = web.AppKey("canvas_emulation", Emulation)


@attrs.define
class _Entry:
    """A request-log entry while its request is being served."""

    time: float
    method: str
    path: str
    account_header: str | None
    operation: str | None = None
    status: int | None = None
    faults: list[str] = attrs.field(factory=list)
    took_effect: bool = False
    dropped: bool = False
    hung_up: bool = False

    def freeze(self) -> RequestRecord:
        fields = attrs.asdict(self, recurse=False, filter=lambda field, _: field.name != "dropped")
        fields.update(status=None if self.dropped else self.status, faults=tuple(self.faults))
        return RequestRecord(**fields)


_ENTRY: Final = web.RequestKey("canvas_log_entry", _Entry)


def build_app(emulation: Emulation) -> web.Application:
    """Return the application serving ``emulation`` under :data:`API_PREFIX`."""
    if HANDLERS.keys() != ROUTES.keys():
        raise RuntimeError("the emulator's handlers do not match ROUTES")
    app = web.Application(middlewares=[_record_and_contain])
    app[_EMULATION] = emulation
    for route in emulation.served:
        endpoint = functools.partial(_serve, route)
        for path in emulation.dialect.paths(route.operation, route.path, route.aliases):
            app.router.add_route(route.method, API_PREFIX + path, endpoint)
    return app


@web.middleware
async def _record_and_contain(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    emulation = request.app[_EMULATION]
    entry = _Entry(
        time=time.monotonic(),
        method=request.method,
        path=request.path,
        account_header=request.headers.get(_routes.ACCOUNT_HEADER),
    )
    request[_ENTRY] = entry
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # aiohttp's own 404, 405, 413 ...
        entry.status = exc.status
        raise
    except ConnectionResetError:  # the client went away while sending its request
        entry.status = None
        entry.hung_up = True
        raise
    except asyncio.CancelledError:  # finish_abandoned=False: the client hung up, or closing
        entry.status = None
        entry.hung_up = request.transport is None
        raise
    except Exception as exc:
        logger.exception("the emulator failed on %s %s", request.method, request.path)
        emulation.state.internal_errors.append(f"{entry.operation}: {type(exc).__name__}: {exc}")
        entry.status = 500
        return text_answer("Internal emulator error; see the log", status=500)
    else:
        entry.status = response.status
        # The answer is written after this: a client gone by now never reads it.
        entry.hung_up = request.transport is None and not entry.dropped
        return response
    finally:
        emulation.state.requests.append(entry.freeze())


async def _serve(route: Route, request: web.Request) -> web.StreamResponse:
    emulation = request.app[_EMULATION]
    faults = emulation.faults
    entry = request[_ENTRY]
    entry.operation = route.key
    # Receive the whole request first, as a server does before it serves it:
    # aiohttp fails a later read once the client hangs up, even of a body that
    # arrived, which would quietly drop an unanswered write (finish_abandoned).
    await request.read()

    refused = faults.throttle(route.key, time.monotonic())
    if refused is not None:
        limit, retry_after = refused
        entry.faults.append(limit.label)
        return _status_answer(ErrorStatus(429, retry_after=retry_after))
    account = request.headers.get(_routes.ACCOUNT_HEADER)
    for latency in faults.latencies(route.key, account):
        entry.faults.append(latency.label)
        await latency.wait()
    # A random fault may pick a kind that strikes after the effect: kept for then.
    fault = faults.strike(route.key, after_effect=False, account=account)
    if fault is not None and not getattr(fault, "after_effect", False):
        entry.faults.append(fault.label)
        return await _fault_answer(fault, request, entry)

    try:
        acting = _authenticate(emulation, route, request)
        response = await HANDLERS[route.key](Call(route, request, emulation, acting))
    except ApiAnswer as answer:
        return _api_answer(answer)
    entry.took_effect = True

    if fault is None:
        fault = faults.strike(route.key, after_effect=True, account=account)
    if fault is not None:
        entry.faults.append(fault.label)
        if isinstance(fault, Drip):
            return await _dripped(request, response, fault)
        return await _fault_answer(fault, request, entry)
    return response


async def _dripped(request: web.Request, answer: web.Response, drip: Drip) -> web.StreamResponse:
    """Send ``answer`` (a full answer the handler made) ``drip.chunk`` bytes at a time."""
    data = answer.body if isinstance(answer.body, bytes) else b""
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_length = len(data)
    await response.prepare(request)
    for start in range(0, len(data), drip.chunk):
        await response.write(data[start : start + drip.chunk])
        await asyncio.sleep(drip.seconds)
    await response.write_eof()
    return response


# -- authentication (spec: "Authentication") --------------------------------------


def _authenticate(emulation: Emulation, route: Route, request: web.Request) -> AccountRecord:
    """Check what ``route`` needs; return the account the call acts for (the caller's
    unless a session call names another)."""
    state = emulation.state
    if route.auth in (Auth.NONE, Auth.REFRESH):
        return state.caller
    headers = request.headers
    if route.auth is Auth.KEYS or not emulation.token_mode:
        consumer = headers.get(_routes.CONSUMER_HEADER, "")
        secret = headers.get(_routes.SECRET_KEY_HEADER, "")
        # Both compared in full, in constant time: no early exit on a bad consumer.
        consumer_ok = hmac.compare_digest(consumer.encode(), emulation.consumer.encode())
        secret_ok = hmac.compare_digest(secret.encode(), emulation.secret_key.encode())
        if not (consumer_ok and secret_ok):
            raise ApiAnswer(_routes.UNAUTHORIZED_TEXT, status=401)
    elif state.tokens.account_for(headers.get(_routes.AUTHORIZATION_HEADER)) is None:
        raise ApiAnswer(
            _routes.UNAUTHORIZED_TEXT,
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if route.auth is not Auth.SESSION:
        return state.caller
    return state.acting_account(headers.get(_routes.ACCOUNT_HEADER))


# -- answers -----------------------------------------------------------------------


def _api_answer(answer: ApiAnswer) -> web.Response:
    body = answer.body()
    if isinstance(body, str):
        response = text_answer(body, status=answer.status)
    else:
        response = json_answer(body, status=answer.status)
    response.headers.update(answer.headers)
    return response


def _status_answer(fault: ErrorStatus, echoed: str = "") -> web.Response:
    try:
        phrase = HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    response = text_answer((fault.message or phrase) + echoed, status=fault.status)
    if fault.retry_after is not None and fault.status in (429, 503):
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


async def _fault_answer(fault: Fault, request: web.Request, entry: _Entry) -> web.Response:
    if isinstance(fault, ErrorStatus):
        echoed = ""
        if fault.echo:
            headers = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
            echoed = f" (request {request.query_string} {headers} {await request.text()})"
        return _status_answer(fault, echoed)
    if isinstance(fault, RawAnswer):
        return web.Response(
            text=fault.body, status=fault.status, content_type=fault.content_type, charset="utf-8"
        )
    if isinstance(fault, ErrorEnvelope):
        envelope = EnvelopeError(fault.state, fault.message)
        return json_answer(envelope.body(), status=fault.http_status)
    if isinstance(fault, DropConnection):
        _drop(request, reset=fault.reset)
        entry.dropped = True
        return web.Response(status=499)  # never reaches the client
    raise AssertionError(f"{fault!r} does not answer")  # pragma: no cover


def _drop(request: web.Request, *, reset: bool) -> None:
    transport = request.transport
    if transport is None:  # pragma: no cover - the client is already gone
        return
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # SO_LINGER with a zero timeout turns the close into a TCP reset;
        # where the option is refused, the connection just closes.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
