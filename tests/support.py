"""What the test directories share: a watched emulator, a client of it, a local server,
the ``canvas-async`` command as a subprocess.

The fixtures built on these live in ``tests/conftest.py`` (``emu``,
``canvas``); use these helpers directly when a test needs an emulator or a
client the fixtures do not give (a second emulator, a clock, a client left
unopened)::

    async with started(CanvasEmulator(auth="token", clock=clock)) as emu:
        async with client_of(emu, auth="token") as canvas:
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import yarl
from aiohttp import web

from canvas_async import Canvas
from canvas_async.testing import CanvasEmulator
from tests.leak_check import record_text, register_secret

#: The repository's root, the directory the ``canvas-async`` subprocesses run in.
ROOT = Path(__file__).resolve().parents[1]

#: The per-request timeout of the tests' clients: a hang fails in seconds,
#: and a single request to the local emulator takes milliseconds even on a
#: loaded machine.
TEST_TIMEOUT = 5

#: The per-request timeout of a client that sends a run of many accounts at once to an
#: emulator in its own process: its requests wait on each other (the client's 64 at once and
#: the emulator share one event loop), seconds apart on a loaded machine. Where the test's
#: faults never hold an answer back, a timeout would only be the machine's load.
BUSY_TIMEOUT = 60


@contextlib.contextmanager
def watched(emulator: CanvasEmulator) -> Iterator[CanvasEmulator]:
    """Register ``emulator``'s keys for the suite-wide leak check; afterwards,
    check that nothing failed inside it."""
    register_secret(emulator.consumer)
    register_secret(emulator.secret_key)
    yield emulator
    # An exception inside the emulator is its bug, whatever the test asserted.
    assert emulator.state.internal_errors == []


@contextlib.asynccontextmanager
async def started(emulator: CanvasEmulator) -> AsyncIterator[CanvasEmulator]:
    """Run ``emulator`` for the ``async with`` block, :func:`watched`."""
    async with emulator:
        with watched(emulator):
            yield emulator


def client_of(emu: CanvasEmulator, **options: Any) -> Canvas:
    """A client of ``emu`` with its keys, its URL and :data:`TEST_TIMEOUT`, unless
    ``options`` (any of :class:`~canvas_async.Canvas`'s, ``env=`` too) say otherwise."""
    settings: dict[str, Any] = {
        "consumer": emu.consumer,
        "secret_key": emu.secret_key,
        "env": emu.url,
        "timeout": TEST_TIMEOUT,
        **options,
    }
    return Canvas(**settings)


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[yarl.URL]:
    """Serve ``app`` on 127.0.0.1 at a free port; yield its ``/api`` base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield yarl.URL(f"http://127.0.0.1:{port}/api")
    finally:
        await runner.cleanup()


def bare_env(**extra: str) -> dict[str, str]:
    """This environment without any ``CANVAS_`` variable (coverage's are kept), plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}, **extra}


async def spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start ``python -m canvas_async.cli ARGS`` in :data:`ROOT`, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    """Wait for ``proc``; return its exit status and output, given to the leak check."""
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    record_text("canvas-async stdout", out.decode())
    record_text("canvas-async stderr", err.decode())
    return proc.returncode, out.decode(), err.decode()
