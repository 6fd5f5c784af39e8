"""The ``canvas-async`` command: daily Canvas work, and desired state for many accounts.

Keys come from ``CANVAS_CONSUMER`` and ``CANVAS_SECRET_KEY`` (or
``--consumer-file`` / ``--secret-key-file``, ``-`` for standard input; never
from a plain command-line value, which would show in ``ps``), the server from
``CANVAS_ENV`` or ``--env`` (``dev``, ``prd`` or a base URL). ``--emulator``
runs everything against the bundled emulator instead.

Exit statuses:

====  =================================================================
0     everything asked for is done
1     something failed (API error, refused keys, an account failed,
      ``--report`` could not be written)
2     bad input, refused before anything was sent
3     no failure, but some write's outcome is unknown: apply again
4     ``plan --detailed-exitcode`` only: there are changes to apply
5     ``apply`` only: the accounts that failed need someone to act first
      (drift without ``--replace``, duplicate registrations); not retried
130   interrupted (SIGINT): ``apply`` starts nothing new, lets what is in
      flight finish, prints the summary and writes ``--report``
141   the reader of stdout went away (``| head``), as for tools killed by
      SIGPIPE; quietly
143   terminated (SIGTERM), as for SIGINT
====  =================================================================

This module imports only the standard library and the parser: a command's
handler (and aiohttp with it) is imported when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Final

from canvas_async.cli import _exit
from canvas_async.cli._parser import CONNECTION_OPTIONS, build_parser

__all__ = ["main"]

# What the command needs beyond the library: the ``cli`` extra's packages.
_CLI_EXTRA: Final = ("rich", "argcomplete")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (``sys.argv[1:]`` by default); return the exit status."""
    missing = [name for name in _CLI_EXTRA if importlib.util.find_spec(name) is None]
    if missing:  # the library was installed without the command's extra
        print(
            f"canvas-async: error: the command needs {' and '.join(missing)}, "
            "installed with it by: pip install 'canvas-async[cli]'",
            file=sys.stderr,
        )
        return _exit.USAGE
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (``canvas-async plan big.toml | head -2``): end
        # quietly, and keep Python from complaining again while flushing at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return _exit.PIPE_CLOSED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (canvas-async completion)
        import argcomplete  # noqa: PLC0415 - only then

        # sys.exit rather than os._exit: the process ends as usual (coverage is written).
        argcomplete.autocomplete(parser, exit_method=sys.exit)
    args = parser.parse_args(argv)
    # Here, not at the top: --help ends in parse_args, without what commands print with.
    from canvas_async.cli._output import PROG  # noqa: PLC0415

    if args.version:
        from importlib.metadata import version  # noqa: PLC0415

        print(f"{PROG} {version('canvas-async')}")
        return _exit.OK
    if args.handler is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: name a command (see {PROG} --help)", file=sys.stderr)
        return _exit.USAGE
    refused = _contradiction(args)
    if refused:
        print(f"{PROG}: error: {refused}", file=sys.stderr)
        return _exit.USAGE
    module, _, name = args.handler.partition(":")
    handler = getattr(importlib.import_module(module), name)
    if module.startswith(__name__):
        # This package's ``(args, out)``, or ``async (args, out)`` run in a loop; not the
        # emulator's ``(args)``.
        from canvas_async.cli._run import command  # noqa: PLC0415

        handler = command(handler)
    status: int = handler(args)
    sys.stdout.flush()
    return status


def _contradiction(args: argparse.Namespace) -> str | None:
    """Say which options cannot go together, or with this command; None if all can."""
    given = [f"--{n.replace('_', '-')}" for n in CONNECTION_OPTIONS if getattr(args, n, None)]
    if not args.connects:
        if given:
            return f"{', '.join(given)} does nothing here: this command does not connect to Canvas"
        return None
    if args.emulator and len(given) > 1:
        ignored = ", ".join(g for g in given if g != "--emulator")
        return (
            f"--emulator runs on the bundled emulator, with its own server and keys: "
            f"{ignored} would be ignored; give one or the other"
        )
    if args.consumer_file == "-" == args.secret_key_file:
        return (
            "only one of --consumer-file and --secret-key-file can be '-' (standard input "
            "holds one key): read the other from a file or its environment variable"
        )
    return None
