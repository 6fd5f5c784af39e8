"""The emulator command, started as ``canvas-async-emulator`` or ``canvas-async emulator``.

    canvas-async-emulator --port 8080 --auth token --seed samples --accounts 100
    canvas-async-emulator --accounts 300 --faults 0.1 --random-seed 7   # a flaky server
    canvas-async-emulator --auth token --token-lifetime 5   # renewals every few seconds
    canvas-async-emulator --answer metadata   # answers as the server's GetMetaData says

Both start the same emulator with the same options (:func:`add_emulator_options`),
with the sample data and 50 demo accounts by default, the number the
README's demo file uses. It prints the base URL and the keys to connect
with. The keys are printed on purpose: they are the emulator's own, made up
at start, and a client needs them to talk to it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import math
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, TextIO, TypeVar

if TYPE_CHECKING:
    from ._server import CanvasEmulator

_N = TypeVar("_N", int, float)
_LOG_LIMIT: Final = 10_000
#: Managed accounts the emulator is seeded with by default, however it is
#: started (``canvas-async --emulator`` too): the demo file's 50.
DEMO_ACCOUNTS: Final = 50


def add_emulator_options(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options: one definition for both ways of starting it."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=_port, default=8080, help="port to listen on; 0 picks a free one"
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
        type=at_least(0),
        default=DEMO_ACCOUNTS,
        metavar="N",
        help="synthetic managed accounts to add (the demo file uses 50)",
    )
    parser.add_argument(
        "--token-lifetime",
        type=seconds,
        default=600.0,
        metavar="SECONDS",
        help="token mode: how long an access token lives",
    )
    parser.add_argument(
        "--refresh-token-lifetime",
        type=seconds,
        default=86400.0,
        metavar="SECONDS",
        help="token mode: how long a refresh token lives (a day)",
    )
    parser.add_argument(
        "--random-seed", type=int, default=0, help="seed for synthetic data and faults"
    )
    parser.add_argument(
        "--faults",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="fail this share of all requests (e.g. 0.1) with faults of random kinds: "
        "500, 502, 503, 504, 429, connections dropped before or after the effect",
    )
    parser.add_argument(
        "--answer",
        action="append",
        type=_answer,
        default=[],
        metavar="NAME=VALUE",
        help="answer where the documentation disagrees with itself: run=text|guid|empty|true, "
        "scheduler=text|empty|true, account=id|empty, delete=true|empty|guid, "
        "accounts=both|accounts|clients; drift: rename=Old:New, require=Dto.property "
        "(repeatable; 'metadata' for every answer as GetMetaData states it)",
    )
    parser.add_argument(
        "--finish-abandoned",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve a request to the end when its client hangs up before the answer, as a "
        "real server does: a write then takes effect unanswered (--no-finish-abandoned: "
        "stop it at the hang-up)",
    )


def _number(
    kind: Callable[[str], _N], noun: str, fits: Callable[[_N], bool], refusal: str
) -> Callable[[str], _N]:
    """Return an ``argparse`` type reading a ``kind`` (not one: "not ``noun``") that
    ``fits`` (else ``refusal``, formatted with ``text`` and ``value``)."""

    def read(text: str) -> _N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not fits(value):
            raise argparse.ArgumentTypeError(refusal.format(text=text, value=value))
        return value

    return read


seconds: Final = _number(
    float,
    "a number of seconds",
    lambda value: math.isfinite(value) and value > 0,
    "must be a positive number of seconds, not {text!r}",
)
"""Read a positive, finite number of seconds (an ``argparse`` type)."""
_port: Final = _number(
    int,
    "a port number",
    lambda value: 0 <= value <= 65535,
    "must be a port from 0 to 65535 (0 picks a free one), not {value}",
)
_fraction: Final = _number(
    float, "a number", lambda value: 0 <= value <= 1, "must be between 0 and 1"
)


def _answer(text: str) -> str:
    from ._dialect import Dialect  # noqa: PLC0415 - attrs only once an answer is given

    try:
        Dialect().with_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def at_least(minimum: int) -> Callable[[str], int]:
    """Return an ``argparse`` type reading a whole number of at least ``minimum``."""
    bound = "must be 0 or more" if minimum == 0 else f"must be at least {minimum}"
    return _number(int, "a whole number", lambda value: value >= minimum, bound + ", not {value}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canvas-async-emulator",
        description="Serve the Canvas REST API from memory, for tests and local development "
        "(the same as canvas-async emulator).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_emulator_options(parser)
    return parser


async def _serve(emulator: CanvasEmulator, accounts: int, out: TextIO) -> None:
    import asyncio  # noqa: PLC0415 - the parser above is imported by canvas-async --help

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
            f"Seeded with {accounts} synthetic accounts. Point canvas-async at it "
            "(the keys are valid for this run only):\n"
            f"  export CANVAS_ENV={emulator.url}\n"
            f"  export CANVAS_CONSUMER={emulator.consumer}\n"
            f"  export CANVAS_SECRET_KEY={emulator.secret_key}\n"
        )
        out.flush()
        await stop.wait()
    out.write("Canvas emulator stopped; what it held lived in memory and is gone.\n")
    out.flush()


def emulator_of(args: argparse.Namespace) -> CanvasEmulator:
    """Return the emulator the options describe, not started."""
    from ._dialect import Dialect  # noqa: PLC0415 - aiohttp only once it is asked for
    from ._faults import RandomFaults  # noqa: PLC0415
    from ._server import CanvasEmulator  # noqa: PLC0415

    emulator = CanvasEmulator(
        auth=args.auth,
        seed=args.seed,
        synthetic_accounts=args.accounts,
        random_seed=args.random_seed,
        access_token_lifetime=args.token_lifetime,
        refresh_token_lifetime=args.refresh_token_lifetime,
        host=args.host,
        port=args.port,
        # A long-running server keeps the newest requests only.
        log_limit=_LOG_LIMIT,
        dialect=functools.reduce(Dialect.with_option, args.answer, Dialect()),
        finish_abandoned=args.finish_abandoned,
    )
    if args.faults:
        emulator.faults.add(RandomFaults(), fraction=args.faults)
    return emulator


def run(args: argparse.Namespace, prog: str) -> int:
    """Serve the emulator the options describe until Ctrl-C or SIGTERM; return the status."""
    import asyncio  # noqa: PLC0415

    emulator = emulator_of(args)
    try:
        asyncio.run(_serve(emulator, args.accounts, sys.stdout))
    except KeyboardInterrupt:
        print("Canvas emulator stopped.", file=sys.stdout)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"{prog}: port {args.port} on {args.host} is already in use (another emulator?); "
                "stop what holds it, or pick another with --port (0 picks a free one)",
                file=sys.stderr,
            )
        else:
            print(f"{prog}: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def command(args: argparse.Namespace) -> int:
    """``canvas-async emulator``: the handler the main command's parser names."""
    return run(args, "canvas-async emulator")


def main(argv: Sequence[str] | None = None) -> int:
    """``canvas-async-emulator``: run the emulator; return the exit status."""
    return run(_parser().parse_args(argv), "canvas-async-emulator")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
