"""The error answers the emulator gives, as exceptions its operations raise.

An operation checks everything before it changes anything and raises one of
these to refuse; the application turns it into the HTTP answer. Nothing here
knows about aiohttp, so the rules stay readable and testable on their own.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from canvas_async import _routes


class ApiAnswer(Exception):
    """A refusal the API documents (or the emulator chose), ready to send: by default
    a plain-text error (spec: "Errors as documented": 401, Account, RegApplication).

    Attributes:
        status: The HTTP status to answer with.
        headers: Extra headers to send.
    """

    def __init__(self, message: str, *, status: int, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}

    def body(self) -> Any:
        """Return the body: a JSON value, or the text to send as ``text/plain``."""
        return self.message


class EnvelopeError(ApiAnswer):
    """The ``{"State": n, "Msg": text}`` envelope.

    The emulator sends it with the HTTP status equal to its ``State``; the
    ``ErrorEnvelope`` fault sends one with HTTP 200 instead.
    """

    def __init__(self, state: int, message: str) -> None:
        super().__init__(message, status=state)
        self.state = state

    def body(self) -> Any:
        """Return the envelope as a JSON object (keys as the spec writes them)."""
        return {"State": self.state, "Msg": self.message}


# The envelopes refusing malformed input, an unknown id, and an account the
# caller may not act for (their States are assumed).
bad_request: Final = functools.partial(EnvelopeError, _routes.BAD_REQUEST_STATE)
not_found: Final = functools.partial(EnvelopeError, _routes.NOT_FOUND_STATE)
forbidden: Final = functools.partial(EnvelopeError, _routes.FORBIDDEN_STATE)
