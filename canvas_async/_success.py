"""What a success answer means: pure rules, no I/O.

The vendor's pages and the server's own GetMetaData disagree on what several
writes answer (spec: "Where the documentation disagrees with itself"). A 2xx
answer without the error envelope means the write took effect, whatever its
body: the documented text, ``""``, ``true`` or a GUID. The transport has
already turned the envelope and every error status into an exception; these
rules read what is left, and never refuse it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Final, TypeVar

from . import _routes
from ._validate import uuid_or_none

T = TypeVar("T")

# The lengths of the GUID forms ``uuid.UUID`` reads: 32 hex digits, with
# hyphens, in braces; and with a ``urn:uuid:`` prefix.
_GUID_LENGTHS: Final = frozenset({32, 36, 38, 45})


def guid_in(payload: object) -> uuid.UUID | None:
    """Return the GUID a success body carries (JSON string or bare text), else None.

    None for ``""``, ``true``, a text or anything else: the write still took
    effect, the body just does not say which object it made or started.
    """
    if not isinstance(payload, str):
        return None
    text = payload.strip().strip('"').strip()
    return uuid_or_none(text) if len(text) in _GUID_LENGTHS else None


def find_created(key: str, items: Iterable[T], value: str) -> T | None:
    """Return the one item a create answered without an id made, else None.

    Matches on the route's read-back field (:data:`~._routes.READ_BACK_KEYS`,
    e.g. the e-mail of an account), ignoring case and surrounding blanks.
    """
    attribute = _routes.READ_BACK_KEYS[key]
    wanted = value.strip().casefold()
    found = [item for item in items if _folded(getattr(item, attribute, None)) == wanted]
    return found[0] if len(found) == 1 else None


def _folded(value: object) -> str | None:
    return value.strip().casefold() if isinstance(value, str) else None
