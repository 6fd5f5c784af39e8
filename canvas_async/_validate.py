"""The checks every operation's definition uses, run before anything is sent.

The checks of one operation live with its definition in :mod:`._operations`.
Each check raises :class:`~canvas_async.ValidationError` with one message that
names every problem found. Messages name fields, blocks and applications, and
never quote a value that could be a secret (credential values above all).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ._errors import ValidationError

__all__ = ["as_uuid", "check_name", "raise_problems"]


def as_uuid(value: object, what: str) -> uuid.UUID:
    """Return ``value`` as a UUID: a UUID, its string form, or a model with an ``id``.

    Args:
        value: What the caller passed.
        what: What the id is of, for the message (``"workflow id"``).
    """
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            raise ValidationError(f"{what} must be a GUID, got {value!r}") from None
    model_id = getattr(value, "id", None)
    if isinstance(model_id, uuid.UUID):
        return model_id
    raise ValidationError(f"{what} must be a GUID or a model with one, got {type(value).__name__}")


def check_name(value: object, what: str) -> str:
    """Return ``value`` if it is a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string")
    return value


def raise_problems(problems: Iterable[str], what: str) -> None:
    problems = list(problems)
    if problems:
        raise ValidationError(f"{what}: {'; '.join(problems)}")
