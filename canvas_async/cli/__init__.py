"""The ``canvas-async`` command: daily Canvas work, and desired state for many accounts.

Keys come from ``CANVAS_CONSUMER`` and ``CANVAS_SECRET_KEY`` (or
``--consumer-file`` / ``--secret-key-file``, ``-`` for standard input; never
from a plain command-line value, which would show in ``ps``), the server from
``CANVAS_ENV`` or ``--env`` (``dev``, ``prd`` or a base URL). ``--emulator``
runs everything against the bundled emulator instead.

Exit statuses:

====  =================================================================
0     everything asked for is done
1     something failed (API error, refused keys, an account failed or
      was left with drift that needs ``--replace``)
2     bad input, refused before anything was sent
3     no failure, but some write's outcome is unknown: apply again
4     ``plan --detailed-exitcode`` only: there are changes to apply
130   interrupted (SIGINT): ``apply`` starts nothing new, lets what is in
      flight finish, prints the summary and writes ``--report``
143   terminated (SIGTERM), as for SIGINT
====  =================================================================
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from canvas_async._errors import (
    APIError,
    AuthenticationError,
    CanvasError,
    OutcomeUnknownError,
    TransportError,
    ValidationError,
)
from canvas_async.cli import _exit
from canvas_async.cli._output import Out
from canvas_async.cli._parser import build_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (``sys.argv[1:]`` by default); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Out(json=args.json)
    try:
        status: int = asyncio.run(args.handler(args, out))
    except KeyboardInterrupt:
        out.error("interrupted; nothing more was started (run apply again to converge)")
        return _exit.INTERRUPTED
    except CanvasError as exc:
        return _report_error(exc, out)
    finally:
        sys.stdout.flush()
    return status


def _report_error(exc: CanvasError, out: Out) -> int:
    """Print an expected failure as one readable message; return its exit status."""
    if isinstance(exc, ValidationError):
        out.error(str(exc))
        return _exit.USAGE
    if isinstance(exc, AuthenticationError):
        out.error(
            f"{exc}\nthe keys were refused: check CANVAS_CONSUMER / CANVAS_SECRET_KEY "
            "and the server (CANVAS_ENV)"
        )
        return _exit.FAILED
    if isinstance(exc, OutcomeUnknownError):
        out.error(f"{exc}\nthe request may or may not have taken effect: check before repeating")
        return _exit.UNKNOWN
    if isinstance(exc, APIError | TransportError):
        out.error(str(exc))
        return _exit.FAILED
    out.error(str(exc))
    return _exit.FAILED
