"""The command in a real pseudo-terminal, 60 and 120 columns wide.

Progress is redrawn in place, nothing is wider than the terminal, colour
follows ``NO_COLOR``, and ``apply`` asks before writing.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import struct
import sys
import termios
from collections.abc import Mapping
from pathlib import Path

import attrs
import pytest

from canvas_async.cli import _exit
from canvas_async.testing import CanvasEmulator
from tests.cli.test_cli import DEMO, _file, _keys
from tests.leak_check import record_text
from tests.support import ROOT, bare_env, finish

# Control sequences: CSI (colours, cursor moves, erasing) and OSC (titles, links).
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-7]m|\x1b\[[0-9;]*38;")

pytestmark = pytest.mark.canvas_emulator(seed="samples", synthetic_accounts=4, random_seed=9)


@attrs.frozen
class Screen:
    code: int
    raw: str
    out: str = ""  # stdout, when it is a pipe rather than the terminal

    @property
    def lines(self) -> list[str]:
        """Every line as drawn, control sequences removed, split at \\r and \\n."""
        return re.split(r"\r\n|\r|\n", _CONTROL.sub("", self.raw))


async def in_terminal(
    *args: str,
    columns: int,
    env: Mapping[str, str] | None = None,
    answer: bytes | None = None,
    piped_stdout: bool = False,
) -> Screen:
    """Run the command with a pseudo-terminal as its stdin, stdout and stderr
    (stdout a pipe instead with ``piped_stdout``)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CANVAS_") and k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")
    }
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.cli",
        *args,
        stdin=slave,
        stdout=asyncio.subprocess.PIPE if piped_stdout else slave,
        stderr=slave,
        env={**base, "TERM": "xterm-256color", **(env or {})},
        cwd=ROOT,
    )
    os.close(slave)
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    finished = asyncio.Event()
    pending = [answer] if answer is not None else []

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            data = b""
        if not data:
            loop.remove_reader(master)
            finished.set()
            return
        chunks.append(data)
        if pending and b"Enter a value:" in b"".join(chunks):
            os.write(master, pending.pop())

    loop.add_reader(master, readable)
    stdout = asyncio.ensure_future(proc.stdout.read() if proc.stdout else asyncio.sleep(0, b""))
    try:
        await asyncio.wait_for(finished.wait(), 120)
        code = await asyncio.wait_for(proc.wait(), 60)
        piped = await asyncio.wait_for(stdout, 60)
    finally:
        loop.remove_reader(master)
        os.close(master)
    screen = Screen(code, b"".join(chunks).decode(errors="replace"), piped.decode())
    record_text(f"canvas-async {' '.join(args)} (stdout)", screen.out)
    # What the command drew is searched for every registered secret too.
    record_text(f"canvas-async {' '.join(args)} (terminal)", screen.raw)
    return screen


@pytest.mark.parametrize("columns", [60, 120])
async def test_apply_fits_the_terminal_and_redraws_in_place(columns: int) -> None:
    screen = await in_terminal("--emulator", "apply", str(DEMO), columns=columns)

    assert screen.code == 0, screen.raw
    assert "\x1b[2K" in screen.raw or "\x1b[1A" in screen.raw  # redrawn in place
    assert all(len(line) <= columns for line in screen.lines), max(screen.lines, key=len)
    assert any("Apply: 50 accounts: 50 done, 0 failed" in line for line in screen.lines)
    assert any(re.search(r"50/50", line) for line in screen.lines)  # the bar's counts


@pytest.mark.parametrize("columns", [60, 120])
async def test_tables_fold_to_the_terminal(columns: int) -> None:
    screen = await in_terminal("--emulator", "templates", columns=columns)

    assert screen.code == 0, screen.raw
    assert all(len(line) <= columns for line in screen.lines), max(screen.lines, key=len)
    assert any("Quinyx" in line for line in screen.lines)


async def test_colour_unless_no_color() -> None:
    coloured = await in_terminal("--emulator", "plan", str(DEMO), columns=120)
    plain = await in_terminal("--emulator", "plan", str(DEMO), columns=120, env={"NO_COLOR": "1"})

    assert _COLOUR.search(coloured.raw)
    assert not _COLOUR.search(plain.raw)
    assert any(line.startswith("  + register QUIN") for line in plain.lines)


async def test_apply_asks_on_a_terminal_and_writes_nothing_without_yes(
    tmp_path: os.PathLike[str], emu: CanvasEmulator
) -> None:
    path = _file(tmp_path, emu)  # type: ignore[arg-type]
    env = _keys(emu, QUINYX_KEY="k", FTP_USER="u")

    refused = await in_terminal("apply", str(path), columns=80, env=env, answer=b"no\n")
    writes = [r for r in emu.log if r.method != "GET"]
    accepted = await in_terminal("apply", str(path), columns=80, env=env, answer=b"yes\n")

    assert refused.code == _exit.FAILED
    assert "Apply these changes to 4 accounts? Only 'yes' goes ahead." in refused.lines
    assert any(line.startswith("Plan: ") for line in refused.lines)
    assert "Apply cancelled; nothing was written." in refused.lines
    assert writes == []
    assert accepted.code == 0, accepted.raw
    assert any("4 accounts: 4 done, 0 failed" in line for line in accepted.lines)


async def test_apply_json_asks_on_the_terminal_and_keeps_stdout_for_the_json(
    tmp_path: os.PathLike[str], emu: CanvasEmulator
) -> None:
    path = _file(tmp_path, emu)  # type: ignore[arg-type]
    env = _keys(emu, QUINYX_KEY="k", FTP_USER="u")

    refused = await in_terminal(
        "apply", str(path), "--json", columns=80, env=env, answer=b"no\n", piped_stdout=True
    )
    writes = [r for r in emu.log if r.method != "GET"]
    accepted = await in_terminal(
        "apply", str(path), "--json", columns=80, env=env, answer=b"yes\n", piped_stdout=True
    )

    # Asked on the terminal (stderr), whatever the output format; nothing written on a no.
    assert refused.code == _exit.FAILED
    assert "Apply these changes to 4 accounts? Only 'yes' goes ahead." in refused.lines
    assert "Apply cancelled; nothing was written." in refused.lines
    assert refused.out == ""
    assert writes == []
    assert accepted.code == 0, accepted.raw
    assert any(line.startswith("Plan: ") for line in accepted.lines)  # the plan, on stderr
    report = json.loads(accepted.out)  # stdout holds the JSON report and nothing else
    assert (report["mode"], report["summary"]["done"]) == ("apply", 4)


async def test_apply_with_nothing_to_apply_asks_nothing_and_still_reports(
    tmp_path: os.PathLike[str], emu: CanvasEmulator
) -> None:
    path = _file(tmp_path, emu)  # type: ignore[arg-type]
    env = _keys(emu, QUINYX_KEY="k", FTP_USER="u")
    report = os.path.join(tmp_path, "report.json")
    first = await in_terminal("apply", str(path), "--yes", columns=80, env=env)
    assert first.code == 0, first.raw

    again = await in_terminal(
        "apply", str(path), "--json", "--report", report, columns=80, env=env, piped_stdout=True
    )

    assert again.code == 0, again.raw
    assert "Nothing to apply." in again.lines
    assert not any("Enter a value" in line for line in again.lines)
    planned = json.loads(again.out)
    assert (planned["mode"], planned["summary"]["with_changes"]) == ("plan", 0)
    written = await asyncio.to_thread(Path(report).read_text, encoding="utf-8")
    assert json.loads(written) == planned


async def test_apply_on_a_terminal_with_stderr_elsewhere_is_refused(
    tmp_path: os.PathLike[str], emu: CanvasEmulator
) -> None:
    """It could not ask where anyone sees it: it refuses rather than write unasked."""
    path = _file(tmp_path, emu)  # type: ignore[arg-type]
    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "canvas_async.cli",
            "apply",
            str(path),
            stdin=slave,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=bare_env(**_keys(emu, QUINYX_KEY="k", FTP_USER="u")),
            cwd=ROOT,
        )
        code, _, err = await finish(proc)
    finally:
        os.close(slave)
        os.close(master)

    assert code == _exit.USAGE
    assert err.splitlines()[-1] == (
        "canvas-async: error: apply asks before writing when standard input is a terminal, "
        "but standard error, where it asks, is not one: pass --yes to apply without asking"
    )
    assert list(emu.log) == []  # refused before connecting
