"""The registry of secrets and texts the suite-wide leak check searches (see conftest)."""

from __future__ import annotations

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


_SEEN: set[str] = set()


def record_text(where: str, text: str) -> None:
    """Add a text (a repr, a printed line) to what the next check searches, once."""
    if text not in _SEEN:
        _SEEN.add(text)
        TEXTS.append((where, text))


def take_leaks() -> list[str]:
    """Return the leaks in the texts recorded since the last call, and forget those texts."""
    leaks = find_leaks(TEXTS, SECRETS)
    TEXTS.clear()
    _SEEN.clear()
    return leaks


def find_leaks(texts: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[str]:
    """Return one line per text that contains a secret, naming where it was.

    The line does not quote the secret (test output is a log too).
    """
    texts = list(texts)
    # One substring search per secret over all the texts at once (str's search
    # is fast; a regex alternation of hundreds of literals is not), and only a
    # secret that is found somewhere is looked for text by text.
    everything = "\x00".join(text for _, text in texts)
    found = [secret for secret in set(secrets) if secret in everything]
    return [
        f"{where}: contains a registered secret of {len(secret)} characters"
        for where, text in texts
        for secret in found
        if secret in text
    ]
