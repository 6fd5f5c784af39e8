"""What every resource API shares: the view it acts through, and sending a call."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Coroutine
from typing import Any, Literal, Protocol, TypeVar

import attrs

from canvas_async import _operations as op
from canvas_async import models
from canvas_async._operations import Call
from canvas_async._retry import Retries
from canvas_async._sentinel import USE_CLIENT_DEFAULT, UseClientDefault
from canvas_async._timeouts import TimeoutTypes
from canvas_async._transport import Transport

T = TypeVar("T")


class _Client(Protocol):
    @property
    def auth_mode(self) -> Literal["keys", "token"] | None: ...


class View(models.View, Protocol):
    """What a resource API acts through: an :class:`~canvas_async.AccountView`.

    A protocol, so that the resource APIs need not import the client that
    holds them.
    """

    @property
    def account_id(self) -> uuid.UUID | None: ...

    @property
    def retries(self) -> Retries | UseClientDefault: ...

    @property
    def _transport(self) -> Transport: ...

    @property
    def _client(self) -> _Client: ...


@attrs.frozen
class Resource:
    """A family of operations, acting through one account view."""

    _view: View = attrs.field(repr=False, alias="view")

    @property
    def account_id(self) -> uuid.UUID | None:
        """The ``ManagedAccountId`` requests are sent with, or None."""
        return self._view.account_id


def send(
    view: View,
    call: Call[T],
    timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
) -> Coroutine[Any, Any, T]:
    """Send an operation's checked request through ``view``; await it for its value.

    What every resource API's call comes down to, and the reconciler's writes,
    which read nothing back. A plain function handing back the transport's
    coroutine: one frame less on every request.
    """
    operation, (params, body) = call
    return view._transport.request(
        operation.key,
        functools.partial(operation.parse, view),
        account_id=view.account_id,
        params=params,
        body=body,
        timeout=timeout,
        retries=view.retries,
    )


async def send_create(
    view: View,
    call: Call[uuid.UUID | None],
    what: str,
    timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
) -> uuid.UUID:
    """Send a create's checked request through ``view``; return the new id.

    One request, nothing read back: the resource APIs' ``create`` reads the
    new object back after it, and the reconciler, which needs only the id,
    calls this alone.

    Args:
        view: The account view to send through.
        call: The create operation with its checked request.
        what: What is created, for the message (``"the workflow 'Export'"``).
        timeout: This call's timeout.

    Raises:
        OutcomeUnknownError: The server accepted the create but answered
            without the new id (or the request's outcome is unknown).
    """
    new_id = await send(view, call, timeout)
    if new_id is None:
        problem = f"it answered without the id of {what}"
        raise op.accepted_write_error(call[0].key, problem, view.account_id)
    return new_id
