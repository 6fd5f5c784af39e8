"""Commands that need no connection: cron explain and shell completion.

They import neither aiohttp nor the client, so they start as fast as the
interpreter allows.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canvas_async.cli import _exit
from canvas_async.cli._output import PROG, Out
from canvas_async.cli._run import UsageError
from canvas_async.schedule import Cron


def zone(args: argparse.Namespace) -> ZoneInfo | None:
    """Return the ``--tz`` time zone, if one was given."""
    name = getattr(args, "tz", None)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {name!r} (use an IANA name, e.g. Europe/Oslo)"
        ) from None


def parse_cron(text: str, *, unix: bool) -> Cron:
    """Read a Quartz cron, or a Unix one with ``--unix``; a five-field text gets the hint."""
    if unix:
        return Cron.from_unix(text)
    if len(text.split()) == 5:
        raise UsageError(
            f"{text!r} has 5 fields: it looks like a Unix cron; add --unix to read it as one "
            "(Quartz adds seconds first and numbers weekdays 1 = SUN ... 7 = SAT)"
        )
    return Cron.parse(text)


def show_times(
    out: Out, cron: Cron, args: argparse.Namespace, data: dict[str, object], title: str
) -> None:
    """Print what ``cron`` means and its next ``--count`` fire times in the ``--tz`` zone:
    as JSON that starts with ``data``, or as text whose first line starts with ``title``."""
    tz = zone(args) or UTC
    times = cron.next_fire_times(datetime.now(tz), count=args.count, tz=tz)
    if out.json:
        out.data({**data, "description": cron.describe(), "next_fire_times": times})
        return
    out.line(f"{title}: {cron.describe()}")
    if not times:
        out.line("it never fires again")
        return
    out.line(f"next {len(times)} fire times ({args.tz or 'UTC'}):")
    for when in times:
        out.line(f"  {when:%Y-%m-%d %H:%M:%S %a}")


def cron_explain(args: argparse.Namespace, out: Out) -> int:
    """Explain a cron expression; no connection is made."""
    cron = parse_cron(args.expression, unix=args.unix)
    show_times(out, cron, args, {"expression": args.expression, "canonical": str(cron)}, str(cron))
    return _exit.OK


def completion(args: argparse.Namespace, out: Out) -> int:
    """Print ``args.shell``'s completion script: argcomplete's, which asks the command itself.

    At each Tab the shell runs ``canvas-async`` with the line so far; the
    command's own parser answers (see :func:`canvas_async.cli.main`), so
    completion knows every command, nested ones and options given before the
    command's name as the parser does, and never falls behind it.
    """
    from argcomplete.shell_integration import shellcode  # noqa: PLC0415 - only for this command

    out.line(shellcode([PROG], shell=args.shell).rstrip("\n"))
    return _exit.OK
