"""Run the Canvas emulator in a process of its own, for the benchmarks.

The client under test and the server must not share an event loop or a core's
time slices in one interpreter, or the server's cost would be billed to the
client. The child prints one JSON line (URL and keys) and serves until its
standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHILD = r"""
import asyncio, json, sys
from canvas_async.testing import CanvasEmulator, Latency

async def main(options):
    latency = options.pop("latency", 0.0)
    async with CanvasEmulator(**options) as emu:
        if latency:
            emu.faults.add(Latency(latency))
        print(json.dumps({"url": emu.url, "consumer": emu.consumer,
                          "secret_key": emu.secret_key}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main(json.loads(sys.argv[1])))
"""


@contextmanager
def emulator_process(**options: Any) -> Iterator[dict[str, str]]:
    """Start the emulator in a child process; yield its URL and keys."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process exited before it started")
        yield json.loads(line)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run_async(coro: Any) -> Any:
    """Run a coroutine on a fresh event loop (each benchmark gets its own)."""
    return asyncio.run(coro)
