"""The exception tree, and the pure mapping from an answer to an exception.

Every exception the package raises on purpose is a :class:`CanvasError`.
The tree of those ``canvas_async`` exports (``tests/test_api_surface.py``
checks it against the classes)::

    CanvasError
        ValidationError (also ValueError)
            CronError
        ClientClosedError (also RuntimeError)
        NotBoundError (also RuntimeError)
        TransportError
            CanvasConnectionError
            CanvasTimeoutError (also TimeoutError)
                DeadlineExceededError
        OutcomeUnknownError
        APIError
            BadRequestError
            AuthenticationError
            PermissionDeniedError
            NotFoundError
            ConflictError
            RateLimitError
            ServerError
            UnexpectedResponseError

Three kinds of failure of a call, apart: :class:`TransportError`, no answer
arrived (safe to send again where the request is idempotent);
:class:`APIError`, the server answered with an error; and
:class:`OutcomeUnknownError`, a write that must not be repeated may or may
not have taken effect. The last follows either of the first two (a reset
after sending, a read timeout, a 500, 502 or 504), chained as its
``__cause__``, so it sits under neither: catching ``TransportError`` to retry
never repeats a write that may have been done.

Nothing here does I/O: :func:`decode_body` and :func:`error_for_answer` are
functions of status, headers and body alone, so every rule is tested without
a network (the gidgethub ``sansio`` split). No message built here ever
contains a request's headers or body, so no secret can leak through one.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final

from . import _routes, _text

#: Longest server text quoted in an exception message; the full body stays on
#: :attr:`APIError.body`.
MAX_MESSAGE_CHARS: Final = 500


class CanvasError(Exception):
    """Base class of every exception this package raises on purpose.

    Attributes:
        request_id: The id the failed call sent in its request id header
            (quote it in a support request), or None.
    """

    request_id: str | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # The default rebuilds with ``cls(*args)``, which the keyword-only
        # constructors below refuse; pickling (multiprocessing, task queues)
        # restores the arguments and attributes without calling ``__init__``.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(
    cls: type[CanvasError], args: tuple[object, ...], state: dict[str, Any]
) -> CanvasError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ValidationError(CanvasError, ValueError):
    """Bad input, refused before anything was sent."""


class ClientClosedError(CanvasError, RuntimeError):
    """The client was used after it was closed."""


class NotBoundError(CanvasError, RuntimeError):
    """An active-record method was called on a model not loaded through a client."""


class _CallError(CanvasError):
    """What failed: the operation, and the account it was sent for (a base, not raised)."""

    def __init__(
        self, message: str, *, operation: str, account_id: uuid.UUID | None = None
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.account_id = account_id


class TransportError(_CallError):
    """The request did not get an answer from the server.

    Attributes:
        operation: The operation's name, e.g. ``"Workflow (POST)"``.
        account_id: The ``ManagedAccountId`` the request was sent for, if any.
    """


class CanvasConnectionError(TransportError):
    """The connection failed, or was lost before an answer arrived."""


class CanvasTimeoutError(TransportError, TimeoutError):
    """No answer arrived within the timeout."""


class OutcomeUnknownError(_CallError):
    """A non-idempotent request may or may not have taken effect.

    Raised instead of retrying when a request that must not be repeated
    (create an account, register an application, create or run a workflow)
    failed after it may have reached the server: a reset after sending, a read
    timeout, or a 500, 502 or 504. Read the state back before trying again.
    The original failure (a :class:`TransportError` or an :class:`APIError`)
    is chained as ``__cause__``.

    Attributes:
        operation: The operation's name, e.g. ``"Workflow (POST)"``.
        account_id: The ``ManagedAccountId`` the request was sent for, if any.
    """


class APIError(CanvasError):
    """The server answered with an error.

    Attributes:
        status: The HTTP status, or the envelope's ``State`` when the error
            arrived in a ``{"State": ..., "Msg": ...}`` envelope.
        http_status: The HTTP status line's code, which differs from
            :attr:`status` for an envelope sent with HTTP 200.
        operation: The operation's name, e.g. ``"Workflow (POST)"``.
        message: The server's error text.
        account_id: The ``ManagedAccountId`` the request was sent for, if any.
        body: The decoded answer body (JSON value or text).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        operation: str,
        account_id: uuid.UUID | None = None,
        body: object = None,
        http_status: int | None = None,
    ) -> None:
        self.status = status
        self.http_status = status if http_status is None else http_status
        self.operation = operation
        self.message = message
        self.account_id = account_id
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" (account {self.account_id})" if self.account_id else ""
        text = _text.server_text(self.message, MAX_MESSAGE_CHARS) or "no message"
        return f"{self.operation} failed with {status_text(self.status)}{where}: {text}"


def status_text(status: int) -> str:
    """Return ``status`` with its reason phrase (``503 Service Unavailable``), if it has one."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class BadRequestError(APIError):
    """The server refused the request's content (400)."""


class AuthenticationError(APIError):
    """Missing, wrong or expired credentials, or a refused IP address (401)."""


class PermissionDeniedError(APIError):
    """The credentials may not act here, e.g. for a foreign account (403)."""


class NotFoundError(APIError):
    """The addressed object does not exist (404)."""


class ConflictError(APIError):
    """The object already exists, e.g. an account with that e-mail (409, or 400
    with the documented text)."""


class RateLimitError(APIError):
    """Too many requests (429).

    Attributes:
        retry_after: Seconds the server asked to wait, if it said.
    """

    retry_after: float | None = None


class ServerError(APIError):
    """The server failed (5xx)."""


class UnexpectedResponseError(APIError):
    """A success status with a body that is not what the operation returns."""


# -- the pure mapping ---------------------------------------------------------

_BY_STATUS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}

# Texts that name an error more precisely than the status they arrive with
# (spec: "Errors as documented").
_BY_TEXT: Final[Mapping[str, type[APIError]]] = {
    _routes.ACCOUNT_EXISTS_TEXT.casefold(): ConflictError,
    _routes.REFRESH_TOKEN_NOT_FOUND_TEXT.casefold(): AuthenticationError,
}


_decode_json: Final = json.JSONDecoder().decode
_BOM: Final = "\ufeff"


def decode_body(content_type: str | None, raw: bytes) -> object:
    """Decode an answer body: JSON where it parses as JSON, else text.

    The server sends JSON values (arrays, objects, a bare string id, ``true``)
    and plain text (``Workflow will now run``), not always with a matching
    ``Content-Type``; so JSON is tried first whatever the header says, except
    for an empty body, which decodes to ``""``. JSON that cannot be read (or
    is nested too deep to read) is kept as text: the operation then fails as
    an unexpected answer, not with the decoder's error.
    """
    if content_type is not None and "json" in content_type:
        try:
            # The common case: UTF-8 (RFC 8259), read without json.loads' detection;
            # UTF-16 or UTF-32 (not UTF-8) left to json.loads, which tells them apart.
            utf8 = raw.decode()
            return _decode_json(utf8[1:] if utf8[:1] == _BOM else utf8)
        except UnicodeDecodeError:
            with contextlib.suppress(ValueError, RecursionError):
                return json.loads(raw)
        except (ValueError, RecursionError):  # nested too deep: not an answer we can read
            pass
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return ""
    if content_type is not None and "json" not in content_type and text[:1] not in '[{"':
        # A text/plain answer that does not look like JSON: skip the parse.
        return text
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def envelope(payload: object) -> tuple[int, str] | None:
    """Return ``(State, Msg)`` if ``payload`` is the error envelope, else None."""
    if not isinstance(payload, dict):
        return None
    state = payload.get(_routes.ENVELOPE_STATE_KEY)
    if not isinstance(state, int) or isinstance(state, bool):
        return None
    message = payload.get(_routes.ENVELOPE_MESSAGE_KEY)
    return state, message if isinstance(message, str) else ""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read ``Retry-After``: delta-seconds or an HTTP-date; ``None`` if absent or
    unreadable. Negative and past values read as 0."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def error_for_answer(
    status: int,
    headers: Mapping[str, str],
    payload: object,
    *,
    operation: str,
    account_id: uuid.UUID | None = None,
) -> APIError | None:
    """Return the :class:`APIError` an answer stands for, or None for a success.

    Args:
        status: The HTTP status code.
        headers: The answer's headers, case-insensitive as aiohttp's (only
            ``Retry-After`` is read).
        payload: The body as :func:`decode_body` returned it.
        operation: The operation's name, for the message.
        account_id: The request's ``ManagedAccountId``, for the message.
    """
    if status < 300 and not (isinstance(payload, dict) and _routes.ENVELOPE_STATE_KEY in payload):
        return None  # every answer that succeeds, without a closer look
    found = envelope(payload)
    if found is not None:
        # The envelope is an error whatever the HTTP status (spec: "Errors").
        code, message = found
    elif status >= 400:
        code, message = status, _text_of(payload)
    elif 300 <= status < 400:
        # Redirects are not followed, so the keys never reach another host.
        code, message = status, "the server redirected the request; redirects are not followed"
    else:
        return None
    cls = _classify(code, message)
    error = cls(
        message,
        status=code,
        operation=operation,
        account_id=account_id,
        body=payload,
        http_status=status,
    )
    if isinstance(error, RateLimitError):
        error.retry_after = parse_retry_after(headers.get("Retry-After"))
    return error


def _classify(code: int, message: str) -> type[APIError]:
    first_line = message.strip().splitlines()[0].casefold() if message.strip() else ""
    by_text = _BY_TEXT.get(first_line)
    if by_text is not None:
        return by_text
    if code in _BY_STATUS:
        return _BY_STATUS[code]
    if code >= 500:
        return ServerError
    return APIError


def _text_of(payload: object) -> str:
    if isinstance(payload, str):
        return payload.strip()
    if payload is None:
        return ""
    return json.dumps(payload, ensure_ascii=False)
