"""Run the Canvas emulator in a process of its own, for the benchmarks.

The client under test and the server must not share an event loop or a core's
time slices in one interpreter, or the server's cost would be billed to the
client. The child prints one JSON line (URL and keys) and serves until its
standard input closes; then it prints its request log (arrival time on the
system-wide monotonic clock, operation, status) as a last JSON line, so a
benchmark can count every request a client sent in a time window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHILD = r"""
import asyncio, json, sys
from canvas_async.testing import CanvasEmulator, Latency, RandomFaults
from canvas_async.testing._seed import provision_accounts

async def main(options):
    latency = options.pop("latency", 0.0)
    faults = options.pop("faults", 0.0)
    provisioned = options.pop("provisioned", False)
    async with CanvasEmulator(**options) as emu:
        if latency:
            emu.faults.add(Latency(latency))
        if faults:
            emu.faults.add(RandomFaults(), fraction=faults)
        if provisioned:
            provision_accounts(emu.state, list(emu.state.managed_ids))
        print(json.dumps({"url": emu.url, "consumer": emu.consumer,
                          "secret_key": emu.secret_key}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        log = [[r.time, r.operation, r.status] for r in emu.log]
        print(json.dumps({"log": log}), flush=True)

asyncio.run(main(json.loads(sys.argv[1])))
"""


@dataclass
class Request:
    """One request as the emulator logged it."""

    time: float  # time.monotonic() in the emulator: the same clock in every process
    operation: str | None
    status: int | None


@dataclass
class EmulatorProcess:
    """A running emulator: where it listens, its keys, and (after exit) its log."""

    url: str
    consumer: str
    secret_key: str
    pid: int
    log: list[Request] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """CPU time the emulator process has used so far, all its threads.

        Read from the scheduler's nanosecond counters (``/proc/PID/task/*/
        schedstat``): ``/proc/PID/stat`` counts in 10 ms ticks, too coarse for
        a few hundred requests.
        """
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread may end meanwhile
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def requests_between(self, start: float, end: float) -> int:
        """How many requests arrived between two ``time.monotonic()`` readings."""
        return sum(1 for r in self.log if start <= r.time <= end)


@contextmanager
def emulator_process(**options: Any) -> Iterator[EmulatorProcess]:
    """Start the emulator in a child process; yield where it listens.

    ``options`` go to ``CanvasEmulator`` (``seed``, ``synthetic_accounts``,
    ``log_limit``...), plus ``latency``: seconds added to every answer, and
    ``faults``: the share of all requests failed with random kinds of faults
    (``RandomFaults``, drawn from ``random_seed``), and ``provisioned``: give
    every managed account two registrations and a workflow before serving. The
    request log is filled in when the block exits.
    """
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process exited before it started")
        info = json.loads(line)
        server = EmulatorProcess(info["url"], info["consumer"], info["secret_key"], child.pid)
        yield server
        child.stdin.close()
        last = child.stdout.readline()
        if last:
            server.log = [Request(*entry) for entry in json.loads(last)["log"]]
    finally:
        if not child.stdin.closed:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()


def run_async(coro: Any) -> Any:
    """Run a coroutine on a fresh event loop (each benchmark gets its own)."""
    return asyncio.run(coro)
