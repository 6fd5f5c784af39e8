"""Suite-wide: no secret may leak into a log record, a repr or an exception message.

For the whole run, every record logged by the ``canvas_async`` and ``aiohttp``
loggers (at DEBUG, so the transport's debug path runs), the message and repr
of every :class:`~canvas_async.CanvasError` created, and the repr of every
model the converter builds are collected. Tests register the secrets they use
(:func:`register_secret`, or the ``secret`` fixture); when the session ends,
the collected texts are searched for every registered secret, and a hit fails
the run, naming where the secret appeared.

The emulator and client every test uses (their keys registered, the emulator
checked for internal errors) are the fixtures here:

- ``emu``: a started emulator (sample data, key mode). Options as for the
  public ``canvas_emulator`` fixture, through its marker or an indirect
  parameter: ``pytestmark = pytest.mark.canvas_emulator(auth="token")``.
  ``canvas_emulator`` itself is the same emulator.
- ``canvas``: an open client of ``emu`` (its keys, a 5 s timeout); options of
  :class:`~canvas_async.Canvas` through the ``canvas_client`` marker:
  ``@pytest.mark.canvas_client(auth="token", retries=FAST)``.

Other emulators and clients: ``tests.support.started`` and ``client_of``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

# The converter's entry point: the check wraps it to see every model built.
import canvas_async._convert
from canvas_async import Canvas, CanvasError
from canvas_async.testing import CanvasEmulator
from tests.leak_check import record_text, register_secret, take_leaks
from tests.support import client_of, watched

_WATCHED_LOGGERS = ("canvas_async", "aiohttp")


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        record_text(f"log {record.name}", self.format(record))


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``canvas_client`` marker."""
    config.addinivalue_line(
        "markers", "canvas_client(**options): keyword arguments for the canvas fixture's Canvas"
    )


@pytest.fixture
async def canvas_emulator(canvas_emulator: CanvasEmulator) -> AsyncIterator[CanvasEmulator]:
    """The plugin's emulator, with its keys registered and its health checked."""
    with watched(canvas_emulator):
        yield canvas_emulator


@pytest.fixture
def emu(canvas_emulator: CanvasEmulator) -> CanvasEmulator:
    """A started emulator: ``canvas_emulator`` under the suite's short name."""
    return canvas_emulator


@pytest.fixture
async def canvas(emu: CanvasEmulator, request: pytest.FixtureRequest) -> AsyncIterator[Canvas]:
    """An open client of ``emu``; options from the ``canvas_client`` marker."""
    marker = request.node.get_closest_marker("canvas_client")
    async with client_of(emu, **(marker.kwargs if marker is not None else {})) as client:
        yield client
        record_text("repr of Canvas", repr(client))


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

    def recording_structure(payload: object, cl: Any, view: object = None) -> Any:
        result = original_structure(payload, cl, view)
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
    leaks = take_leaks()  # what the session's own teardown recorded
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks[:20])


@pytest.fixture(autouse=True)
def _no_secret_leaks_in_the_test() -> Iterator[None]:
    """What a test recorded is searched at its end (then dropped): the leak is named by the
    test, and the search never grows with the session."""
    yield
    leaks = take_leaks()
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks[:20])
