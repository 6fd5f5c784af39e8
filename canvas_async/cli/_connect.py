"""Open a client from the environment, from key files, or on the bundled emulator."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Final

import aiohttp
import attrs

from canvas_async._client import Canvas
from canvas_async._errors import ValidationError
from canvas_async.cli._output import Out

__all__ = ["DEMO_ACCOUNTS", "PLACEHOLDER", "Connection", "UsageError", "connect", "environ_for"]

#: Managed accounts the emulator started by ``--emulator`` is seeded with.
DEMO_ACCOUNTS: Final = 50
#: The value ``--emulator`` gives unset ``${NAME}`` references (the emulator
#: accepts any credential).
PLACEHOLDER: Final = "emulator-placeholder"

CONSUMER_VAR: Final = "CANVAS_CONSUMER"
SECRET_KEY_VAR: Final = "CANVAS_SECRET_KEY"
ENV_VAR: Final = "CANVAS_ENV"


class UsageError(ValidationError):
    """The command was called in a way that cannot work (exit status 2)."""


@attrs.frozen
class Connection:
    """An open client, and whether it talks to the bundled emulator."""

    canvas: Canvas
    emulator: bool
    where: str


def _read_key(path: str, what: str) -> str:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    key = text.strip()
    if not key:
        raise UsageError(f"the {what} file {path} is empty")
    return key


def _key(args: argparse.Namespace, file_attr: str, var: str, what: str) -> str:
    path = getattr(args, file_attr, None)
    if path:
        return _read_key(path, what)
    value = os.environ.get(var, "").strip()
    if not value:
        flag = "--" + file_attr.replace("_", "-")
        raise UsageError(
            f"no {what}: set {var} or pass {flag} "
            "(or use --emulator to try everything on the bundled emulator)"
        )
    return value


@contextlib.asynccontextmanager
async def connect(
    args: argparse.Namespace, out: Out, *, session: aiohttp.ClientSession | None = None
) -> AsyncIterator[Connection]:
    """Open the client the arguments ask for; close it (and any emulator) on exit.

    ``session``, when given, is the ``aiohttp`` session the client sends with
    (a shard's lease-checking one); the caller closes it.
    """
    if args.emulator:
        from canvas_async.testing import CanvasEmulator  # noqa: PLC0415 - only when asked

        async with CanvasEmulator(seed="samples", synthetic_accounts=DEMO_ACCOUNTS) as emu:
            out.info(
                f"using the bundled Canvas emulator at {emu.url} "
                f"(sample data and {DEMO_ACCOUNTS} demo accounts; nothing leaves this machine)"
            )
            async with Canvas(
                consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url, session=session
            ) as c:
                yield Connection(c, emulator=True, where="the bundled emulator")
        return
    consumer = _key(args, "consumer_file", CONSUMER_VAR, "consumer key")
    secret_key = _key(args, "secret_key_file", SECRET_KEY_VAR, "secret key")
    env = args.env or os.environ.get(ENV_VAR, "").strip() or "dev"
    async with Canvas(consumer=consumer, secret_key=secret_key, env=env, session=session) as canvas:
        yield Connection(canvas, emulator=False, where=str(canvas.base_url))


def environ_for(
    names: set[str], connection: Connection, out: Out, environ: Mapping[str, str] | None = None
) -> Mapping[str, str]:
    """Return where ``${NAME}`` references are looked up.

    On the emulator, unset references get :data:`PLACEHOLDER`, said out loud;
    elsewhere the environment is used as it is.
    """
    env = dict(os.environ if environ is None else environ)
    if not connection.emulator:
        return env
    unset = sorted(name for name in names if name not in env)
    if unset:
        out.info(
            f"--emulator: {len(unset)} credential references are not set "
            f"({', '.join(unset)}); using the placeholder value {PLACEHOLDER!r}, "
            "which the emulator accepts"
        )
        env.update(dict.fromkeys(unset, PLACEHOLDER))
    return env
