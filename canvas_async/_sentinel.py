"""The per-call "use the client's default" sentinel (httpx's ``UseClientDefault``).

Pure: models, resources and the transport all take it, so it lives below them.
"""

from __future__ import annotations

import enum
from typing import Final


class UseClientDefault(enum.Enum):
    """The type of :data:`USE_CLIENT_DEFAULT`."""

    USE_CLIENT_DEFAULT = "USE_CLIENT_DEFAULT"

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT: Final = UseClientDefault.USE_CLIENT_DEFAULT
"""Per-call ``timeout=`` default: use the timeout the client was created with
(``timeout=None`` would mean "no limit")."""
