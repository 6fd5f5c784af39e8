"""What every resource API shares: the view it acts through, and answer parsers."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from canvas_async import _convert
from canvas_async._errors import NotFoundError, OutcomeUnknownError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault
from canvas_async._transport import label

if TYPE_CHECKING:
    from canvas_async._client import AccountView

T = TypeVar("T")

_set_attribute: Final = object.__setattr__


@attrs.frozen
class Resource:
    """A family of operations, acting through one account view."""

    _view: AccountView = attrs.field(repr=False, alias="view")

    @property
    def account_id(self) -> uuid.UUID | None:
        """The ``ManagedAccountId`` requests are sent with, or None."""
        return self._view.account_id

    async def _call(
        self,
        key: str,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> T:
        transport = self._view._transport
        return await transport.request(
            key,
            parse,
            account_id=self._view.account_id,
            params=params,
            body=body,
            timeout=timeout,
            retries=self._view.retries,
        )

    def _models(self, cls: type[T]) -> Callable[[Any], list[T]]:
        """Return a parser of a JSON array of ``cls``, bound to this view."""
        model: Any = cls
        return functools.partial(
            _structure_models, _list_of(model), self._view if _bindable(model) else None
        )

    def _model(self, cls: type[T]) -> Callable[[Any], T]:
        """Return a parser of one JSON object of ``cls``, bound to this view."""
        model: Any = cls
        return functools.partial(_structure_model, cls, self._view if _bindable(model) else None)


@functools.cache
def _list_of(cls: Any) -> Any:
    # One ``list[cls]`` per class: the converter's dispatch cache keys on it.
    return list[cls]


@functools.cache
def _bindable(cls: Any) -> bool:
    return any(field.alias == "view" for field in attrs.fields(cls))


def _structure_models(list_type: Any, view: AccountView | None, payload: Any) -> list[Any]:
    items: list[Any] = _convert.structure(payload, list_type)
    if view is not None:
        for item in items:
            bind_view(item, view)
    return items


def _structure_model(cls: type[T], view: AccountView | None, payload: Any) -> T:
    item = _convert.structure(payload, cls)
    return item if view is None else bind_view(item, view)


def bind_view(model: T, view: AccountView) -> T:
    """Attach the account view ``model`` acts through.

    The view is not data (left out of equality and repr) and is set after
    structuring, the documented way to set a field on a frozen attrs instance.
    """
    _set_attribute(model, "_view", view)
    return model


def parse_true(payload: Any) -> bool:
    """Read a ``true`` acknowledgement (JSON ``true`` or the text ``true``)."""
    if payload is True or (isinstance(payload, str) and payload.strip().casefold() == "true"):
        return True
    raise ValueError("expected true")


def not_found(key: str, message: str, account_id: uuid.UUID | None) -> NotFoundError:
    """Return the error for an object missing from a successful listing.

    ``status`` is 404 (what the object is), ``http_status`` 200 (what the
    listing was): the server was asked for the list, not for the object.
    """
    return NotFoundError(
        message, status=404, http_status=200, operation=label(key), account_id=account_id
    )


def accepted_unresolved(
    key: str, problem: str, account_id: uuid.UUID | None
) -> OutcomeUnknownError:
    """Return the error for a write the server accepted whose result cannot be read.

    The write took effect (spec: "Where the documentation disagrees with
    itself"), so no other error may say it failed: a caller who repeated it
    would do it twice. It is an :class:`OutcomeUnknownError`: read back before
    repeating.
    """
    operation = label(key)
    return OutcomeUnknownError(
        f"{operation} was accepted by the server, but {problem}; "
        "do not repeat it before listing what exists",
        operation=operation,
        account_id=account_id,
    )
