"""Suite-wide: no secret may leak into a log record, a repr or an exception message.

For the whole run, every record logged by the ``canvas_async`` and ``aiohttp``
loggers (at DEBUG, so the transport's debug path runs), the message and repr
of every :class:`~canvas_async.CanvasError` created, and the repr of every
model the converter builds are collected. Tests register the secrets they use
(:func:`register_secret`, or the ``secret`` fixture); when the session ends,
the collected texts are searched for every registered secret, and a hit fails
the run, naming where the secret appeared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from leak_check import SECRETS, TEXTS, find_leaks, record_text, register_secret

import canvas_async._convert
from canvas_async import CanvasError

_WATCHED_LOGGERS = ("canvas_async", "aiohttp")


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        record_text(f"log {record.name}", self.format(record))


@pytest.fixture
def secret() -> Callable[[str], str]:
    """Register a secret value for the session's leak check; return it."""
    return register_secret


@pytest.fixture(scope="session", autouse=True)
def _no_secret_leaks() -> Iterator[None]:
    handler = _Capture(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    saved_levels = {}
    for name in _WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        saved_levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)

    had_own_init = "__init__" in vars(CanvasError)
    original_init = CanvasError.__init__
    original_structure = canvas_async._convert.structure

    def recording_init(self: CanvasError, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        record_text(f"{type(self).__name__} message", str(self))
        record_text(f"{type(self).__name__} repr", repr(self))

    def recording_structure(payload: object, cl: Any) -> Any:
        result = original_structure(payload, cl)
        record_text(f"repr of {cl}", repr(result))
        return result

    CanvasError.__init__ = recording_init  # type: ignore[method-assign,assignment]
    canvas_async._convert.structure = recording_structure
    try:
        yield
    finally:
        if had_own_init:
            CanvasError.__init__ = original_init  # type: ignore[method-assign]
        else:
            del CanvasError.__init__
        canvas_async._convert.structure = original_structure
        for name, level in saved_levels.items():
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(level)
    leaks = find_leaks(TEXTS, SECRETS)
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks[:20])
