"""``canvas-async apply`` stopped midway (SIGINT, SIGTERM, --deadline), as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.testing import CanvasEmulator, Latency

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 120


pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=ACCOUNTS, random_seed=4)


def _state_file(tmp_path: Path, emu: CanvasEmulator) -> Path:
    accounts = "".join(f'\n[[accounts]]\nid = "{a}"\n' for a in emu.state.managed_ids)
    text = f"""
[defaults.applications.QUIN]
tag = "Quinyx"
credentials = {{ apikey = {{ plain = "k" }}, environment = {{ plain = "test" }} }}
[defaults.applications.FTP]
tag = "FTP"
credentials.username = {{ plain = "u" }}
credentials.password = {{ plain = "p" }}
credentials.address = {{ plain = "ftp.example.org" }}
credentials.port = {{ plain = "21" }}
[defaults.workflows.Export]
template = "Quinyx Employee Export Into FTP(CSV)"
schedule = "0 0/5 * ? * * *"
{accounts}"""
    path = tmp_path / "state.toml"
    path.write_text(text)
    return path


async def _start_apply(emu: CanvasEmulator, *args: str) -> asyncio.subprocess.Process:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}
    keys = {"CANVAS_ENV": emu.url, "CANVAS_CONSUMER": emu.consumer}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.cli",
        "apply",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base, **keys, "CANVAS_SECRET_KEY": emu.secret_key, "COLUMNS": "200"},
        cwd=ROOT,
    )


async def _wait_for_progress(proc: asyncio.subprocess.Process) -> bytes:
    """Read stderr until a progress line shows some accounts finished; return what was read."""
    assert proc.stderr is not None
    seen = b""
    while True:
        line = await asyncio.wait_for(proc.stderr.readline(), timeout=120)
        assert line, f"apply ended before any progress: {seen!r}"
        seen += line
        if line.startswith(b"apply [") and not line.split(b"] ", 1)[1].startswith(b"0/"):
            return seen


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, _exit.INTERRUPTED), (signal.SIGTERM, _exit.TERMINATED)],
)
async def test_a_signal_midway_stops_reports_and_the_next_apply_converges(
    emu: CanvasEmulator, tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    state = _state_file(tmp_path, emu)
    report_path = tmp_path / "report.json"
    # Slow enough that the run is far from done when the first accounts are.
    rule = emu.faults.add(Latency(0.02))
    proc = await _start_apply(emu, str(state), "--concurrency", "4", "--report", str(report_path))

    before = await _wait_for_progress(proc)
    proc.send_signal(signum)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)

    assert proc.returncode == status, (before + err).decode()
    assert b"Traceback" not in err
    assert signal.Signals(signum).name.encode() in err
    assert b"Apply: " in out
    assert b"stopped early" in out
    report = json.loads(report_path.read_text())
    assert report["stopped"] == f"interrupted ({signal.Signals(signum).name})"
    statuses = {a["status"] for a in report["accounts"]}
    assert "done" in statuses
    assert "skipped" in statuses
    assert report["summary"]["done"] < ACCOUNTS

    emu.faults.remove(rule)
    again = await _start_apply(emu, str(state))
    out, err = await asyncio.wait_for(again.communicate(), timeout=120)
    assert again.returncode == _exit.OK, err.decode()
    for account_id in emu.state.managed_ids:
        workflows = [w for w in emu.state.workflows.values() if w.account_id == account_id]
        assert [(w.name, w.is_scheduled) for w in workflows] == [("Export", True)]


async def test_a_deadline_stops_new_work_and_says_what_is_left(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    state = _state_file(tmp_path, emu)
    report_path = tmp_path / "report.json"
    emu.faults.add(Latency(0.02))
    # A deadline that passes before the first account can end: nothing is done.
    proc = await _start_apply(
        emu, str(state), "--concurrency", "2", "--deadline", "0.01", "--report", str(report_path)
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)

    assert proc.returncode == _exit.FAILED, err.decode()
    report = json.loads(report_path.read_text())
    assert report["stopped"].startswith("deadline passed")
    assert report["summary"]["skipped"] + report["summary"]["cancelled"] == ACCOUNTS
    assert b"stopped early (deadline passed" in out


async def test_a_server_that_is_down_ends_within_the_deadline(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    state = _state_file(tmp_path, emu)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}
    keys = {"CANVAS_CONSUMER": emu.consumer, "CANVAS_SECRET_KEY": emu.secret_key}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.cli",
        "apply",
        str(state),
        # The first request is sent within the deadline however slowly the command starts
        # (under heavy load a start took more than 8 s, and then nothing was sent), and the
        # organization is read again until the deadline, not for five attempts only.
        "--deadline",
        "20",
        "--max-attempts",
        "1000",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base, **keys, "CANVAS_ENV": f"http://127.0.0.1:{port}/api"},
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)

    assert proc.returncode == _exit.FAILED
    assert b"Traceback" not in err
    # The report says why nothing started, naming the server.
    assert b"before the organization could be read" in out
    assert b"127.0.0.1" in out
