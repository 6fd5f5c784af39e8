"""What the test directories share: a watched emulator, a client of it, a local server,
the ``canvas-async`` command as a subprocess or run in this process.

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
import io
import os
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
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


_ONE_COMMAND = threading.Lock()


async def run_command(*args: str, env: Mapping[str, str], stdin: str = "") -> tuple[int, str, str]:
    """Run ``canvas-async ARGS`` in this process; return its exit status and output.

    As ``python -m canvas_async.cli ARGS`` in :data:`ROOT` with ``env`` as its whole
    environment and ``stdin`` as its input, without a new interpreter (which costs the
    suite more than most commands' own work): the command runs in a thread of its own,
    with its own event loop, beside the test's (and its emulator's). What is the
    process's own (its exit on a signal, a terminal, what it imports) needs
    :func:`spawn`; so does a test that runs two commands at once. An exception the
    command lets out is printed to its stderr as Python would, exit status 1.
    """
    code, out, err = await asyncio.to_thread(_in_process, args, env, stdin)
    record_text("canvas-async stdout", out)
    record_text("canvas-async stderr", err)
    return code, out, err


def _in_process(argv: Sequence[str], env: Mapping[str, str], stdin: str) -> tuple[int, str, str]:
    from canvas_async.cli import main

    if not _ONE_COMMAND.acquire(blocking=False):
        raise AssertionError("two commands at once share stdout and os.environ: spawn() them")
    out, err = io.StringIO(), io.StringIO()
    saved_environ, saved_streams, cwd = (
        dict(os.environ),
        (sys.stdin, sys.stdout, sys.stderr),
        os.getcwd(),
    )
    try:
        os.environ.clear()
        os.environ.update(env)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
        os.chdir(ROOT)
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc(file=err)
            code = 1
    finally:
        os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.environ.clear()
        os.environ.update(saved_environ)
        _ONE_COMMAND.release()
    return code, out.getvalue(), err.getvalue()
