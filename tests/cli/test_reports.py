"""``--report``: written whole or not at all, the previous one kept, owner-only.

A full disk is the real thing for the process: a file-size limit
(``RLIMIT_FSIZE``) makes every write past it fail with EFBIG, as ENOSPC
would (Python ignores SIGXFSZ, so the write fails instead of killing it).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.cli._files import write_whole
from tests.cli.test_cli import DEMO, cli
from tests.leak_check import record_text
from tests.support import ROOT, bare_env

# Sets the file-size limit, then becomes the command (the limit and SIGXFSZ's
# disposition survive exec); no core file, no .pyc written under the limit.
_LIMITED = """\
import os, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.executable, [sys.executable, "-m", "canvas_async.cli", *sys.argv[2:]])
"""
#: Under the limit: what coverage writes for one command when it measures it
#: (~0.3 MB), not the report of :func:`_many_accounts` (~2 MB).
_LIMIT = 1 << 20


def _many_accounts(tmp_path: Path, count: int = 1200) -> Path:
    """The demo file's defaults for ``count`` new accounts: a plan report of ~1.7 kB each."""
    head = DEMO.read_text(encoding="utf-8").split("[[accounts]]", 1)[0]
    accounts = "".join(
        f'[[accounts]]\nemail = "ops-{i:05d}@example.org"\nfirst_name = "Ada"\nlast_name = "L"\n'
        for i in range(count)
    )
    path = tmp_path / "many.toml"
    path.write_text(head + accounts, encoding="utf-8")
    return path


async def _start_limited(*args: str, limit: int = _LIMIT) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _LIMITED,
        str(limit),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=bare_env(COLUMNS="200", PYTHONDONTWRITEBYTECODE="1"),
        cwd=ROOT,
    )


def _leftovers(directory: Path, keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


async def test_a_report_is_owner_only_and_replaces_the_previous_one(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("previous\n")
    report.chmod(0o644)

    result = await cli("--emulator", "plan", str(DEMO), "--report", str(report))

    assert result.code == 0, result.err
    assert json.loads(report.read_text())["summary"]["accounts"] == 50
    assert stat.S_IMODE(report.stat().st_mode) == 0o600  # it names account e-mails
    assert _leftovers(tmp_path, report.name) == []


async def test_a_full_disk_keeps_the_previous_report_and_fails(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert (await cli("--emulator", "plan", str(DEMO), "--report", str(report))).code == 0
    previous = report.read_bytes()
    many = _many_accounts(tmp_path)

    proc = await _start_limited("--emulator", "plan", str(many), "--report", str(report))
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    record_text("canvas-async plan (limited)", (out + err).decode())

    assert proc.returncode == _exit.FAILED
    # The summary is still printed; the last line on stderr says what failed.
    assert out.decode().splitlines()[-1].startswith("Plan: 4,800 to add")
    assert err.decode().splitlines()[-1] == (
        f"canvas-async: error: cannot write the report to {report}: File too large; "
        "the file there, if any, is unchanged"
    )
    assert report.read_bytes() == previous
    assert _leftovers(tmp_path, report.name) == [many.name]  # no part of the new one


async def test_a_failed_report_does_not_hide_a_worse_status(tmp_path: Path) -> None:
    many = _many_accounts(tmp_path)
    report = tmp_path / "report.json"

    # --detailed-exitcode would say 4 (changes); a report that failed says 1.
    proc = await _start_limited(
        "--emulator", "plan", str(many), "--detailed-exitcode", "--json", "--report", str(report)
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    record_text("canvas-async plan --json (limited)", (out + err).decode())

    assert proc.returncode == _exit.FAILED
    assert json.loads(out)["summary"]["accounts"] == 1200  # the JSON is whole on stdout
    assert not report.exists()
    assert _leftovers(tmp_path, report.name) == [many.name]


async def test_a_process_killed_while_writing_leaves_a_whole_report(tmp_path: Path) -> None:
    """SIGKILL as soon as the new report's temporary file appears: the report at
    the path is then the previous one or the new one, each whole; never a part."""
    report = tmp_path / "report.json"
    assert (await cli("--emulator", "plan", str(DEMO), "--report", str(report))).code == 0
    previous = report.read_bytes()
    many = _many_accounts(tmp_path)
    proc = await _start_limited(
        "--emulator", "plan", str(many), "--report", str(report), limit=1 << 30
    )

    async def writing() -> None:
        while not any(name.endswith(".tmp") for name in _leftovers(tmp_path, report.name)):
            if proc.returncode is not None:
                return
            await asyncio.sleep(0.001)

    await asyncio.wait_for(writing(), 120)
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(proc.communicate(), 120)

    now = report.read_bytes()
    if now != previous:  # killed after the rename: the new report, whole
        assert json.loads(now)["summary"]["accounts"] == 1200
    assert json.loads(now)["mode"] == "plan"


def test_a_device_is_written_to_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_whole(fifo, '{"ok": true}\n')
        assert os.read(reader, 100) == b'{"ok": true}\n'
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the pipe, not a file renamed over it


def test_a_report_through_a_link_replaces_the_file_it_names(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "latest.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "report.json"
    link.symlink_to(target)

    write_whole(link, "new")

    assert link.is_symlink()
    assert target.read_text() == "new"


def test_a_report_in_a_missing_directory_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_whole(tmp_path / "no-such-dir" / "report.json", "{}")
    # A rename that fails (over a directory) removes the temporary file it wrote.
    (tmp_path / "report.json").mkdir()
    with pytest.raises(IsADirectoryError):
        write_whole(tmp_path / "report.json", "{}")
    assert _leftovers(tmp_path, "report.json") == []
