"""Hooks: async callbacks told about each call's attempts, retries and end.

The transport tells a client's :class:`Hooks` about every step of a call:
those given to the client, then those added later
(:meth:`~canvas_async.Canvas.add_hooks`), such as the OpenTelemetry integration's
(:mod:`canvas_async.contrib.otel`). With no hooks the request path checks one
attribute and builds no event.

An event carries what identifies the call and what happened (operation,
account, attempt, status, durations, the answer's headers), never a request's
headers or body: nothing in it can hold a key or a token.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Literal, TypeAlias

import attrs

logger: Final = logging.getLogger("canvas_async")

EventKind: TypeAlias = Literal["request", "response", "retry", "give_up", "success"]
"""``request``: an attempt is about to be sent. ``response``: an attempt got an
answer (any status). ``retry``: an attempt failed and the call will try again
after :attr:`CallEvent.wait` seconds. ``give_up``: the call raises.
``success``: the call returns."""


@attrs.frozen(eq=False)
class CallInfo:
    """One logical call, the same object in all its events (usable as a dict key).

    Attributes:
        operation: The operation's name, e.g. ``"Workflows"`` or ``"Workflow (POST)"``.
        method: The HTTP verb.
        path: The route's path under the base URL (a template: ids travel in
            headers and bodies, never in the path).
        account_id: The ``ManagedAccountId`` sent, or None.
        request_id: The id sent in the request id header (the same on every
            attempt), or None when that header is switched off.
        started: ``time.perf_counter()`` when the call began.
    """

    operation: str
    method: str
    path: str
    account_id: uuid.UUID | None
    request_id: str | None
    started: float = attrs.field(repr=False)


@attrs.frozen
class CallEvent:
    """One step of a call.

    Attributes:
        kind: What happened (see :data:`EventKind`).
        call: The call it belongs to.
        attempt: The attempt number, from 1 (a retry's event names the
            attempt that failed; ``give_up`` and ``success`` the last one).
        status: The HTTP status of the answer, if one arrived (``response``,
            and ``retry``/``give_up`` after an error answer).
        duration: Seconds: the attempt's, from sending to the whole answer
            read (``response``), or the whole call's, retries and waits
            included (``give_up``, ``success``); None otherwise.
        wait: Seconds waited before the next attempt (``retry`` only).
        error: The failure's type name (``give_up``: the exception raised;
            ``retry``: the transport error or ``"HTTP 503"``-style status).
        headers: The answer's headers (``response`` only), e.g. to read a
            server's own request id.
    """

    kind: EventKind
    call: CallInfo
    attempt: int
    status: int | None = None
    duration: float | None = None
    wait: float | None = None
    error: str | None = None
    headers: Mapping[str, str] | None = attrs.field(default=None, repr=False)

    @property
    def operation(self) -> str:
        """The operation's name."""
        return self.call.operation

    @property
    def account_id(self) -> uuid.UUID | None:
        """The ``ManagedAccountId`` sent, or None."""
        return self.call.account_id

    @property
    def request_id(self) -> str | None:
        """The call's request id, or None."""
        return self.call.request_id


def log_fields(
    call: CallInfo, attempt: int, status: int | None, error: str | None
) -> dict[str, object]:
    """Return a log record's ``extra`` about an attempt of ``call``, for structured handlers."""
    return {
        "operation": call.operation,
        "account": None if call.account_id is None else str(call.account_id),
        "attempt": attempt,
        "status": status,
        "error": error,
        "request_id": call.request_id,
    }


Hook: TypeAlias = Callable[[CallEvent], Awaitable[None]]
"""An async callback receiving an event."""


def _hooks(value: Hook | Sequence[Hook] | None) -> tuple[Hook, ...]:
    if value is None:
        return ()
    hooks = (value,) if callable(value) else tuple(value)
    for hook in hooks:
        if not callable(hook):
            raise TypeError(f"a hook must be an async callable, not a {type(hook).__name__}")
    return hooks


@attrs.frozen
class Hooks:
    """Async callbacks on a client's calls, shared by all its account views.

    Each argument is an async callable taking a :class:`CallEvent`, or a
    sequence of them (called in order)::

        async def on_retry(event: CallEvent) -> None:
            print(event.operation, event.attempt, event.status, event.wait)

        Canvas(..., hooks=Hooks(on_retry=on_retry))

    A hook runs inside the call, so a slow hook slows the call. An exception
    in a hook is logged (a warning on the ``canvas_async`` logger) and the
    call goes on as if the hook had returned.
    """

    on_request: tuple[Hook, ...] = attrs.field(default=(), converter=_hooks)
    on_response: tuple[Hook, ...] = attrs.field(default=(), converter=_hooks)
    on_retry: tuple[Hook, ...] = attrs.field(default=(), converter=_hooks)
    on_give_up: tuple[Hook, ...] = attrs.field(default=(), converter=_hooks)
    on_success: tuple[Hook, ...] = attrs.field(default=(), converter=_hooks)

    def __add__(self, other: Hooks) -> Hooks:
        """Return hooks calling these, then ``other``'s, on each event."""
        names = (field.name for field in attrs.fields(Hooks))
        return Hooks(**{name: getattr(self, name) + getattr(other, name) for name in names})

    async def __call__(self, event: CallEvent) -> None:
        """Call the hooks for ``event.kind``; log, never raise, their exceptions."""
        for hook in getattr(self, "on_" + event.kind):
            try:
                await hook(event)
            except Exception as error:  # a hook must never break the call
                logger.warning(
                    "%s: the %s hook %s raised %s; the call goes on",
                    event.call.operation,
                    event.kind,
                    getattr(hook, "__qualname__", type(hook).__name__),
                    type(error).__name__,
                    exc_info=error,
                    extra={"operation": event.call.operation, "request_id": event.request_id},
                )
