"""The lease watchdog: a holder paused between its lease's check and a write, and resumed
after the lease's last moment to send, is ended by the kernel before it writes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

import attrs
import pytest

from canvas_async._errors import ValidationError
from canvas_async.cli import _exit
from canvas_async.provision.lease import Lease, LeaseLostError, guarded_session, watchdog
from canvas_async.testing import CanvasEmulator
from tests.shards.shard_support import cli_env, converged, until, write_file
from tests.support import client_of, run_command

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=2)

#: A holder between its check and its write: the alarm set for the lease's last moment
#: to send (``argv[1]`` seconds away), a pause (SIGSTOP), then the write.
HOLDER = """
import asyncio, os, signal, sys, time
from canvas_async.provision.lease import _ALARM, watchdog

async def main() -> None:
    with watchdog():
        _ALARM.arm(time.monotonic() + float(sys.argv[1]), "the lease")
        os.kill(os.getpid(), signal.SIGSTOP)
        sys.stdout.write("written")

asyncio.run(main())
"""


def state(pid: int) -> str:
    """The state of process ``pid``: ``T`` when stopped (``/proc/PID/stat``)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.parametrize(("left", "written"), [(1.0, False), (600.0, True)], ids=["past", "within"])
async def test_a_holder_resumed_past_its_last_moment_is_ended_before_it_writes(
    left: float, written: bool
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(left),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.wait_for(until(lambda: state(proc.pid) == "T"), 60)
    # It set the alarm before it stopped: 1.5 s later, a last moment 1 s away has passed.
    await asyncio.sleep(1.5)
    proc.send_signal(signal.SIGCONT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    if written:
        assert (proc.returncode, out) == (0, b"written"), err
    else:
        assert (proc.returncode, out) == (-signal.SIGALRM, b""), err
        assert _exit.LEASE_PASSED == 128 + signal.SIGALRM  # what a shell or a pod reports


def lists(emu: CanvasEmulator) -> int:
    return sum(1 for r in emu.log if r.operation == "list_accounts")


@attrs.define
class Expiring:
    """A lease whose last moment to send is ``deadline`` (``time.monotonic()``)."""

    deadline: float
    name: str = "the lease"
    request_timeout: float | None = 5.0

    async def acquire(self, *, wait: float | None = None) -> None:
        pass

    async def check(self) -> float:
        return self.deadline

    async def release(self) -> None:
        pass


@pytest.mark.parametrize("guarded", [True, False], ids=["watchdog", "no-watchdog"])
async def test_a_write_past_its_last_moment_is_refused_under_the_watchdog(
    emu: CanvasEmulator, guarded: bool
) -> None:
    # The last moment passed between the lease's check and the write.
    lease = Expiring(time.monotonic() - 0.001)
    assert isinstance(lease, Lease)
    with watchdog() if guarded else contextlib.nullcontext():
        async with guarded_session(lease) as session, client_of(emu, session=session) as canvas:
            if guarded:
                with pytest.raises(LeaseLostError, match="the moment to send by has passed"):
                    await canvas.accounts.list()
            else:
                await canvas.accounts.list()
    assert lists(emu) == (0 if guarded else 1)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


async def test_the_alarm_is_unset_once_the_writes_are_done(emu: CanvasEmulator) -> None:
    lease = Expiring(time.monotonic() + 600)
    with watchdog():
        async with guarded_session(lease) as session, client_of(emu, session=session) as canvas:
            await asyncio.gather(*(canvas.accounts.list() for _ in range(5)))
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
            with watchdog():  # nested: one process, one alarm
                await canvas.accounts.list()
            await canvas.accounts.list()
    assert lists(emu) == 7


def test_the_watchdog_needs_the_alarm_to_itself() -> None:
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        with pytest.raises(ValidationError, match="SIGALRM's default action"), watchdog():
            pass
    finally:
        signal.signal(signal.SIGALRM, previous)
    signal.setitimer(signal.ITIMER_REAL, 600)
    try:
        with pytest.raises(ValidationError, match="one is set"), watchdog():
            pass
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # left as it was
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with watchdog():
        pass


async def test_apply_under_a_file_lease_leaves_the_alarm_alone(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    # A file lease cannot pass while its holder lives: the command needs no alarm, and
    # runs where something else has SIGALRM (here: a handler in this process).
    path = write_file(tmp_path / "accounts.json", emu.state.managed_ids[:2])
    env = cli_env(emu, CANVAS_LEASE_DIR=str(tmp_path / "leases"))
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        code, _, err = await run_command("apply", str(path), env=env)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert code == _exit.OK, err
    assert converged(emu, emu.state.managed_ids[:2]) == []
