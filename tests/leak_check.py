"""The registry of secrets and texts the suite-wide leak check searches (see conftest)."""

from __future__ import annotations

import re
from collections.abc import Iterable

SECRETS: set[str] = set()
TEXTS: list[tuple[str, str]] = []

# Shorter values (a port, "test") are too common to search for meaningfully.
MIN_SECRET_LENGTH = 6


def register_secret(value: str) -> str:
    """Remember ``value`` as a secret the suite must never reveal; return it."""
    if len(value) >= MIN_SECRET_LENGTH:
        SECRETS.add(value)
    return value


def record_text(where: str, text: str) -> None:
    """Add a text (a repr, a printed line) to what the session check searches."""
    TEXTS.append((where, text))


def find_leaks(texts: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[str]:
    """Return one line per text that contains a secret, naming where it was.

    The line does not quote the secret (test output is a log too).
    """
    wanted = sorted(set(secrets), key=len, reverse=True)
    if not wanted:
        return []
    pattern = re.compile("|".join(re.escape(secret) for secret in wanted))
    return [
        f"{where}: contains a registered secret of {len(found.group())} characters"
        for where, text in texts
        if (found := pattern.search(text)) is not None
    ]
