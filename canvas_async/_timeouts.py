"""Timeouts: the client default, and the per-call override sentinel."""

from __future__ import annotations

from typing import Final, TypeAlias

import aiohttp
import attrs

from ._checks import number
from ._sentinel import USE_CLIENT_DEFAULT, UseClientDefault

__all__ = ["DEFAULT_TIMEOUT", "USE_CLIENT_DEFAULT", "Timeout", "TimeoutTypes", "UseClientDefault"]


_seconds: Final = number(positive=True, optional=True, prefix="timeout ")


@attrs.frozen
class Timeout:
    """How long a request may take, in seconds; ``None`` means no limit.

    Attributes:
        total: The whole request, from sending to the last byte read.
        connect: Opening a TCP (and TLS) connection.
        read: The longest wait for the next chunk of the answer (the first
            one included); None by default: ``total`` bounds every answer,
            and a read limit costs a timer re-armed at every chunk received.
    """

    total: float | None = attrs.field(default=60.0, validator=_seconds)
    connect: float | None = attrs.field(default=10.0, validator=_seconds)
    read: float | None = attrs.field(default=None, validator=_seconds)

    @classmethod
    def of(cls, value: TimeoutTypes) -> Timeout:
        """Return ``value`` as a :class:`Timeout`: a number applies to every phase,
        ``None`` lifts every limit."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        return cls(value, value, value)

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        """Return the equivalent ``aiohttp.ClientTimeout``.

        ``connect`` maps to ``sock_connect``, not aiohttp's ``connect``: the
        latter also counts the wait for a free pooled connection, which under a
        burst of tasks would time out requests that never started.

        A phase no shorter than ``total`` can never run out first, so it is
        left out: aiohttp arms no timer for it (for ``read``, one per chunk).
        """
        total = self.total
        return aiohttp.ClientTimeout(
            total=total,
            sock_connect=_within(self.connect, total),
            sock_read=_within(self.read, total),
        )


def _within(phase: float | None, total: float | None) -> float | None:
    """``phase``, or None when ``total`` always ends first."""
    if phase is None or total is None or phase < total:
        return phase
    return None


TimeoutTypes: TypeAlias = Timeout | float | None
"""What ``timeout=`` accepts: a :class:`Timeout`, seconds for every phase, or None."""

DEFAULT_TIMEOUT: Final = Timeout()
