"""Adopting an organization: ``export`` what exists, ``schema`` for editors, ``init`` a file.

What they write goes to stdout, or whole to ``-o PATH`` (see
:mod:`~canvas_async.cli._files`); what people should know (the variables a
file needs, what it leaves out) goes to stderr.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from canvas_async.cli import _exit
from canvas_async.cli._output import Out, ProgressDisplay
from canvas_async.cli._run import UsageError


async def export(args: argparse.Namespace, out: Out) -> int:
    """Write the organization (or the accounts asked for) as a desired-state file."""
    from canvas_async.cli._connect import connect  # noqa: PLC0415 - aiohttp, to connect
    from canvas_async.provision import export as exporting  # noqa: PLC0415
    from canvas_async.provision._load import file_format  # noqa: PLC0415
    from canvas_async.provision.shard import Shard  # noqa: PLC0415

    # The format asked for, else the one -o's name says, else TOML.
    fmt = args.format or (file_format(args.output) if args.output else "toml")
    shard = Shard.parse(args.shard) if args.shard else None
    async with connect(args, out) as conn:
        with ProgressDisplay("export", stream=out.stderr) as display:
            found = await exporting.read(
                conn.canvas,
                accounts=args.account or (),
                shard=shard,
                concurrency=args.concurrency,
                on_progress=display,
            )
    _write(args, out, found.json() if fmt == "json" else found.toml())
    for note in found.notes:
        out.info(f"note: {note}")
    count = len(found.document["accounts"])
    refers = (
        f"; the file refers to {len(found.variables)} environment variables, read only when "
        f"apply registers a missing application: {', '.join(found.variables)}"
        if found.variables
        else ""
    )
    out.info(f"exported {count:,} accounts to {args.output or 'standard output'}{refers}")
    return _exit.OK


def schema(args: argparse.Namespace, out: Out) -> int:
    """Print (or write) the JSON Schema of the desired-state file; no connection is made."""
    from canvas_async.provision.schema import schema_text  # noqa: PLC0415

    _write(args, out, schema_text())
    if args.output:
        out.info(f"wrote the desired-state file's JSON Schema to {args.output}")
    return _exit.OK


def starter_text() -> str:
    """Return the commented starter file ``init`` writes."""
    starter = resources.files("canvas_async.cli").joinpath("starter.toml")
    return starter.read_text(encoding="utf-8")


def init(args: argparse.Namespace, out: Out) -> int:
    """Write a commented starter desired-state file; refuse to replace one without --force."""
    if args.output and Path(args.output).exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to replace it")
    _write(args, out, starter_text())
    if args.output:
        out.info(f"wrote {args.output}; try it with: canvas-async --emulator plan {args.output}")
    return _exit.OK


def _write(args: argparse.Namespace, out: Out, text: str) -> None:
    """Write ``text`` to ``-o PATH`` whole, or to stdout as it is (it is escaped already)."""
    if not args.output:
        out.stdout.write(text)
        out.stdout.flush()
        return
    from canvas_async.cli._files import write_whole  # noqa: PLC0415

    try:
        write_whole(args.output, text)
    except OSError as exc:
        from canvas_async._errors import CanvasError  # noqa: PLC0415

        raise CanvasError(f"cannot write {args.output}: {exc.strerror or exc}") from None
