"""Running a command: its output, and its expected failures as one readable message."""

from __future__ import annotations

import argparse
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, cast

from canvas_async._errors import CanvasError, OutcomeUnknownError, ValidationError
from canvas_async.cli import _exit
from canvas_async.cli._output import Out


class UsageError(ValidationError):
    """The command was called in a way that cannot work (exit status 2)."""


def guarded(out: Out, call: Callable[[], int]) -> int:
    """Return ``call()``'s exit status, or print why it failed and return that status."""
    try:
        return call()
    except KeyboardInterrupt:
        out.error("interrupted")
        return _exit.INTERRUPTED
    except CanvasError as exc:
        text = "\n".join([str(exc), *getattr(exc, "__notes__", ())])
        if isinstance(exc, OutcomeUnknownError):
            out.error(
                f"{text}\nthe request may or may not have taken effect: check before repeating"
            )
            return _exit.UNKNOWN
        out.error(text)
        return _exit.USAGE if isinstance(exc, ValidationError) else _exit.FAILED


def command(
    handler: Callable[[argparse.Namespace, Out], int | Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    """Make an ``(args, out) -> status`` function, or an async one, a handler the parser can
    name: expected failures are printed as one message (see :func:`guarded`)."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        out = Out(json=getattr(args, "json", False))
        if not inspect.iscoroutinefunction(handler):
            return guarded(out, lambda: cast(int, handler(args, out)))
        import asyncio  # noqa: PLC0415 - commands that need no loop start faster

        from canvas_async._deadline import deadline  # noqa: PLC0415 - with the client

        # --deadline bounds the whole command: the lease wait, reads, writes, retries.
        with deadline(getattr(args, "deadline", None)):
            return guarded(out, lambda: asyncio.run(handler(args, out)))

    return run
