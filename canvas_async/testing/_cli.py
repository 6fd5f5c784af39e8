"""``canvas-async-emulator``: run the Canvas emulator until Ctrl-C.

    canvas-async-emulator --port 8080 --auth token --seed samples --accounts 100
    canvas-async-emulator --accounts 300 --faults 0.1 --random-seed 7   # a flaky server

It prints the base URL and the keys to connect with. The keys are printed on
purpose: they are the emulator's own, made up at start, and a client needs
them to talk to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import Final, TextIO

from ._dialect import Dialect
from ._faults import RandomFaults
from ._server import CanvasEmulator

__all__ = ["main"]

_LOG_LIMIT: Final = 10_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canvas-async-emulator",
        description="Serve the Canvas REST API from memory, for tests and local development.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--auth",
        choices=("keys", "token"),
        default="keys",
        help="keys: key headers on every call; token: keys exchanged for bearer tokens",
    )
    parser.add_argument(
        "--seed",
        choices=("samples", "empty"),
        default="samples",
        help="start with the documented sample data, or with the catalog only",
    )
    parser.add_argument(
        "--accounts",
        type=_count,
        default=0,
        metavar="N",
        help="add N synthetic managed accounts",
    )
    parser.add_argument(
        "--random-seed", type=int, default=0, help="seed for synthetic data and faults"
    )
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="answer where the documentation disagrees with itself: run=text|guid|empty|true, "
        "scheduler=text|empty|true, account=id|empty, delete=true|empty|guid, "
        "accounts=both|accounts|clients; drift: rename=Old:New, require=Dto.property "
        "(repeatable; 'metadata' for every answer as GetMetaData states it)",
    )
    parser.add_argument(
        "--faults",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="fail this share of all requests (e.g. 0.1) with faults of random kinds: "
        "500, 502, 503, 504, 429, connections dropped before or after the effect",
    )
    return parser


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _dialect(options: Sequence[str]) -> Dialect:
    dialect = Dialect()
    for option in options:
        dialect = dialect.with_option(option)
    return dialect


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


async def _serve(emulator: CanvasEmulator, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not on Windows: there Ctrl-C arrives as KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with emulator:
        out.write(
            f"Canvas emulator ({emulator.auth} mode) listening on {emulator.url}\n"
            f"Consumer:  {emulator.consumer}\n"
            f"SecretKey: {emulator.secret_key}\n"
            "Press Ctrl-C to stop.\n"
        )
        out.flush()
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        dialect = _dialect(args.answer)
    except ValueError as exc:
        parser.error(str(exc))
    emulator = CanvasEmulator(
        auth=args.auth,
        seed=args.seed,
        synthetic_accounts=args.accounts,
        random_seed=args.random_seed,
        host=args.host,
        port=args.port,
        # A long-running server keeps the newest requests only.
        log_limit=_LOG_LIMIT,
        dialect=dialect,
    )
    if args.faults:
        emulator.faults.add(RandomFaults(), fraction=args.faults)
    try:
        asyncio.run(_serve(emulator, sys.stdout))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # e.g. the port is taken
        print(f"canvas-async-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
