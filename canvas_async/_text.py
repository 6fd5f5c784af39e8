"""Text from outside is data: printable, clipped, and free of what we sent.

A server's error message or a name it returns may hold terminal escapes
(``ESC[2J`` clears an operator's screen, ``ESC]0;...`` retitles it), text
without end, or a secret it echoed from the request. Every such text goes
through these functions before it reaches an exception message, a terminal,
a log line or a report.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Collection, Iterable
from typing import Final

#: What stands where a secret was.
REDACTED: Final = "[redacted]"
#: Shorter values are not looked for: replacing every "1" would garble the text,
#: and a secret that short protects nothing.
MIN_SECRET_CHARS: Final = 4

# C0 controls but tab and newline, DEL, C1 controls (0x9b is CSI on some
# terminals), and the bidirectional overrides that reorder what is shown.
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Return ``text`` with every control character shown as an escape (``\\x1b``)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_json(text: str) -> str:
    """Return JSON text with every character that could drive a terminal as ``\\uXXXX``.

    ``json.dumps`` escapes the C0 controls itself but leaves DEL, the C1
    controls and the bidirectional overrides as they are; those can only be
    in strings, where the escape reads back the same.
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def clipped(text: str, limit: int, size: int | None = None) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how long it was (or ``size``)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) if size is None else size:,} characters)"


QUOTE_LIMIT: Final = 200
"""Most characters of a value an error message quotes (:func:`quoted`)."""


def quoted(value: object) -> str:
    """Return ``repr(value)`` for an error message, clipped after :data:`QUOTE_LIMIT`
    characters with the full length said, e.g. ``'aaaa... (1,000,000 characters)'``."""
    return clipped(repr(value), QUOTE_LIMIT, len(value) if isinstance(value, str) else None)


def server_text(text: str, limit: int) -> str:
    """A server's text as a message quotes it: on one line, printable, clipped."""
    return clipped(printable(" ".join(text.split())), limit)


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every secret (longest first) replaced by :data:`REDACTED`."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_CHARS and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrubbed_value(value: object, secrets: Collection[str]) -> object:
    """Return a decoded JSON value with every secret taken out of its strings."""
    if isinstance(value, str):
        return scrubbed(value, secrets)
    if isinstance(value, dict):
        return {k: scrubbed_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrubbed_value(v, secrets) for v in value]
    return value


def secrets_in(value: object) -> set[str]:
    """Every string a secret value holds: itself, and its leaves when it is JSON text.

    ``credentialsJson`` is an object encoded as a string: a server may echo
    the string, or one of the values inside it.
    """
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.add(item)
            if item[:1] in "[{":
                with contextlib.suppress(ValueError):
                    stack.append(json.loads(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, bool):
            found.add(str(item))
    return found
