"""The checks every operation's definition uses, run before anything is sent.

The checks of one operation live with its definition in :mod:`._operations`.
Each check raises :class:`~canvas_async.ValidationError` with one message that
names every problem found. Messages name fields, blocks and applications, and
never quote a value that could be a secret (credential values above all).
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from ._errors import ValidationError


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


# A GUID's text exactly as ``str(uuid.UUID)`` writes it (lowercase, hyphens):
# for such a text, the round trip through ``uuid.UUID`` gives the text back.
_CANONICAL_GUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_or_none(text: str) -> uuid.UUID | None:
    """Return ``text`` read as a GUID (any form :class:`uuid.UUID` reads), else None."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def id_text(value: object, what: str) -> str:
    """Return the GUID of ``value`` as it is sent: ``str(as_uuid(value, what))``.

    An id already in that form (one the server sent, passed back as it came)
    goes out as it is, without a round trip through ``uuid.UUID``.
    """
    if value.__class__ is str and _CANONICAL_GUID.fullmatch(value):
        return value
    return str(as_uuid(value, what))


def check_name(value: object, what: str) -> None:
    """Refuse ``value`` unless it is a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string")


def raise_problems(problems: list[str], what: str) -> None:
    if problems:
        raise ValidationError(f"{what}: {'; '.join(problems)}")
