"""What an operator sees: plans, summaries, errors in the file, the emulator, start-up.

Every test runs the installed command as a subprocess (see ``test_cli.cli``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.provision import AccountReport, RunReport, Status
from canvas_async.provision._plan import Action, Change
from canvas_async.provision._report import ChangeResult
from canvas_async.testing import CanvasEmulator
from tests.cli.test_cli import DEMO, SECRET_VALUE, _file, _keys, _no_traceback, cli
from tests.support import ROOT, bare_env, finish, spawn, started

BASH = shutil.which("bash") or "/bin/bash"
EMULATOR_COMMAND = str(Path(sys.executable).with_name("canvas-async-emulator"))

pytestmark = pytest.mark.canvas_emulator(seed="samples", synthetic_accounts=4, random_seed=9)


# -- 1. the summary --------------------------------------------------------------------


async def test_the_plan_ends_with_counts_of_changes_not_accounts() -> None:
    text = await cli("plan", str(DEMO), "--emulator")
    data = await cli("plan", str(DEMO), "--emulator", "--json")

    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[-1] == "Plan: 161 to add, 51 to change, 0 to destroy, across 50 of 50 accounts."
    # identical changes across accounts are one line each
    assert "  + register QUIN (QUIN tag 'Quinyx 2024-06') on 50 accounts" in lines
    assert len(lines) < 25
    summary = data.json()["summary"]  # type: ignore[index]
    assert summary["accounts"] == 50
    assert summary["with_changes"] == 50
    assert summary["changes"] == 212
    assert (summary["add"], summary["change"], summary["destroy"]) == (161, 51, 0)


def _report(*changes: int) -> RunReport:
    change = Change(Action.REGISTER, "QUIN", "tag")
    return RunReport(
        "apply",
        "f",
        tuple(
            AccountReport(str(i), None, Status.DONE, (ChangeResult(change, Status.DONE),) * n)
            for i, n in enumerate(changes)
        ),
    )


def test_a_summary_line_counts_in_the_singular_and_plural() -> None:
    assert _report(1).summary_line().startswith("1 account: 1 done, 0 failed; 1 change made")
    assert _report(1, 1).summary_line().startswith("2 accounts: 2 done, 0 failed; 2 changes made")


# -- 2, 7, 10. errors in the file ------------------------------------------------------


def _state(tmp_path: Path, text: str, name: str = "state.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _accounts(n: int) -> str:
    return "".join(f'\n[[accounts]]\nid = "{uuid.UUID(int=i + 1)}"\n' for i in range(n))


async def test_a_typo_in_defaults_is_reported_once_at_defaults(tmp_path: Path) -> None:
    text = """
[defaults.workflows.Export]
template = "Quinyx Employee Export Into FTP(CSV)"
shcedule = "0 0/5 * ? * * *"
""" + _accounts(2000)

    result = await cli("plan", _state(tmp_path, text), "--emulator")

    assert result.code == _exit.USAGE
    assert result.err.count("shcedule") == 1
    assert (
        "defaults.workflows.Export.shcedule: unknown key; did you mean 'schedule'? "
        "(inherited by 2,000 accounts)"
    ) in result.err
    assert len(result.err.splitlines()) == 2


async def test_a_parse_error_names_its_line(tmp_path: Path) -> None:
    toml = await cli("plan", _state(tmp_path, "version = 1\n[[accounts]]\nid = \n"), "--emulator")
    jsonf = await cli("plan", _state(tmp_path, '{\n"accounts": [,]}', "s.json"), "--emulator")

    assert toml.code == jsonf.code == _exit.USAGE
    assert "line 3, column 6: not valid TOML: " in toml.err
    assert "line 2, column 14: not valid JSON: " in jsonf.err


async def test_small_mistakes_get_a_hint(tmp_path: Path) -> None:
    text = """version = "1"
[[accounts]]
id = "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1"
applications.QUIN = { tag = "t", credentials.apikey = "$QUINYX_KEY" }
workflows.X = { template = "t", schedule = "*/5 * * * *" }
"""
    result = await cli("plan", _state(tmp_path, text), "--emulator")

    assert result.code == _exit.USAGE
    assert "version: must be the number 1, not the text '1'" in result.err
    assert (
        "accounts[0].applications.QUIN.credentials.apikey: is '$QUINYX_KEY', which is read "
        'as a literal value: write "${QUINYX_KEY}" (with braces)'
    ) in result.err
    assert "five-field Unix cron; in Quartz, which Canvas reads, write '0 0/5 * ? * * *'" in (
        result.err
    )


async def test_unknown_names_against_the_catalogue_get_a_suggestion_once(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    ids = "".join(f'\n[[accounts]]\nid = "{a}"\n' for a in emu.state.managed_ids[-4:])
    text = (
        """
[defaults.applications.QUIN]
application = "QUIM"
tag = "t"
[defaults.workflows.Export]
template = "Quinyx Employe Export Into FTP(CSV)"
"""
        + ids
    )

    result = await cli("plan", _state(tmp_path, text), env=_keys(emu))

    assert result.code == _exit.USAGE
    assert result.err.count("unknown template") == 1
    assert (
        "defaults.workflows.Export.template: unknown template 'Quinyx Employe Export Into "
        "FTP(CSV)'; did you mean 'Quinyx Employee Export Into FTP(CSV)'? "
        "(inherited by 4 accounts)"
    ) in result.err
    assert "unknown application 'QUIM'; did you mean 'QUIN'?" in result.err


async def test_plan_names_unset_variables_and_where_they_are_used(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    path = str(_file(tmp_path, emu))

    result = await cli("plan", path, env=_keys(emu, QUINYX_KEY="k", FTP_USR="typo"))

    assert result.code == _exit.USAGE
    assert "FTP_USER: applications.FTP.credentials.username (all 4 accounts)" in result.err
    assert [r for r in emu.log if r.method != "GET"] == []


async def test_a_unix_cron_points_at_unix(tmp_path: Path) -> None:
    result = await cli("cron", "explain", "*/5 * * * *")

    assert result.code == _exit.USAGE
    assert "add --unix" in result.err
    assert "from_unix" not in result.err


async def test_a_bad_server_repeats_the_value_given() -> None:
    result = await cli(
        "auth", env={"CANVAS_ENV": "prod", "CANVAS_CONSUMER": "c", "CANVAS_SECRET_KEY": "s"}
    )

    assert result.code == _exit.USAGE
    assert result.err.startswith("canvas-async: error: CANVAS_ENV=prod: ")


async def test_a_url_without_api_gets_a_hint(emu: CanvasEmulator) -> None:
    root = emu.url.removesuffix("/api")

    result = await cli("accounts", env={**_keys(emu), "CANVAS_ENV": root})

    assert result.code == _exit.FAILED
    assert "does not end in /api" in result.err
    _no_traceback(result)


# -- 3. failures at the end --------------------------------------------------------------


@pytest.fixture
async def many() -> AsyncIterator[CanvasEmulator]:
    async with started(CanvasEmulator(seed="empty", synthetic_accounts=1997, random_seed=3)) as emu:
        yield emu


async def test_three_bad_accounts_of_2000_are_the_last_lines(
    tmp_path: Path, many: CanvasEmulator
) -> None:
    bad = [str(uuid.UUID(int=i)) for i in (7, 8, 9)]
    ids = [str(a) for a in many.state.managed_ids[-1997:]]
    ids[600:600] = bad
    text = "".join(f'\n[[accounts]]\nid = "{a}"\n' for a in ids)

    result = await cli("apply", _state(tmp_path, text), "--yes", env=_keys(many))

    assert result.code == _exit.FAILED
    last = result.out.splitlines()[-10:]
    summary = next(i for i, line in enumerate(last) if line.startswith("Apply: 2,000 accounts"))
    named = [line for line in last[summary:] if any(b in line for b in bad)]
    assert len(named) == 3
    assert all(line.startswith("  x ") and "failed" in line for line in named)
    assert len(result.out.splitlines()) < 10


async def test_fail_fast_counts_the_stopped_accounts_instead_of_listing_them(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    ids = [str(uuid.UUID(int=1)), *(str(a) for a in emu.state.managed_ids)]
    text = "".join(f'\n[[accounts]]\nid = "{a}"\n' for a in ids)

    result = await cli(
        "apply", _state(tmp_path, text), "--fail-fast", "--concurrency", "1", env=_keys(emu)
    )

    assert result.code == _exit.FAILED
    assert result.out.count("skipped") == 1  # in the summary's counts, not a row each
    assert "accounts were not finished" in result.out.splitlines()[-1]


# -- 5. broken pipes ------------------------------------------------------------------------


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["text", "json"])
async def test_a_closed_pipe_ends_quietly_as_sigpipe_would(
    output: list[str], tmp_path: Path
) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # as `| head -0` would, before anything is printed
    report = tmp_path / "report.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.cli",
        "plan",
        str(DEMO),
        "--emulator",
        "--report",
        str(report),
        *output,
        stdout=writer,
        stderr=asyncio.subprocess.PIPE,
        env=bare_env(),
        cwd=ROOT,
    )
    os.close(writer)
    _, err = await proc.communicate()

    assert b"Traceback" not in err
    assert b"BrokenPipe" not in err
    assert b"error" not in err
    assert proc.returncode == _exit.PIPE_CLOSED == 128 + signal.SIGPIPE
    assert json.loads(report.read_text())["summary"]["accounts"] == 50  # written first


# -- 6. one emulator command -----------------------------------------------------------------


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None
    lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode() for _ in range(8)]
    return proc, lines


@pytest.mark.parametrize(
    "command",
    [[EMULATOR_COMMAND], [sys.executable, "-m", "canvas_async.cli", "emulator"]],
    ids=["canvas-async-emulator", "canvas-async emulator"],
)
async def test_both_emulator_commands_serve_the_demo_accounts(
    tmp_path: Path, command: list[str]
) -> None:
    proc, lines = await _start(*command, "--port", "0")
    try:
        env = {
            line.split("=", 1)[0].removeprefix("  export "): line.split("=", 1)[1].strip()
            for line in lines
            if line.startswith("  export ")
        }
        credentials = ("FTP_PASSWORD", "FTP_USER", "MYSTORE_API_KEY", "QUINYX_API_KEY")
        env.update(dict.fromkeys(credentials, "demo"))
        env["QUINYX_API_KEY_ACCOUNT_7"] = "demo"
        applied = await cli("apply", str(DEMO), "--yes", "--json", env=env)
    finally:
        proc.terminate()
        out, err = await asyncio.wait_for(proc.communicate(), 30)

    assert "Seeded with 50 synthetic accounts" in lines[4]
    assert applied.code == 0, applied.err  # the README's demo needs the 50 accounts
    assert b"stopped" in out
    assert err == b""


async def test_a_busy_port_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        # A process of its own: the command serves until a signal stops it.
        code, _, err = await finish(await spawn("emulator", "--port", port, env=bare_env()))
        standalone = await asyncio.create_subprocess_exec(
            EMULATOR_COMMAND, "--port", port, stderr=asyncio.subprocess.PIPE
        )
        _, standalone_err = await asyncio.wait_for(standalone.communicate(), 60)

    assert code == standalone.returncode == 1
    assert err == (
        f"canvas-async emulator: port {port} on 127.0.0.1 is already in use (another "
        "emulator?); stop what holds it, or pick another with --port (0 picks a free one)\n"
    )
    assert b"already in use" in standalone_err


# -- 8. options, completion, version -------------------------------------------------------


async def test_connection_options_are_only_where_they_apply() -> None:
    cron = await cli("cron", "explain", "0 0 * ? * *", "--env", "dev")
    emulator = await cli("emulator", "--emulator")
    top = await cli("--emulator", "cron", "explain", "0 0 * ? * *")
    plan_help = await cli("plan", "--help")
    cron_help = await cli("cron", "explain", "--help")

    assert cron.code == emulator.code == top.code == _exit.USAGE
    assert "does not connect" in top.err
    assert "--consumer-file" in plan_help.out
    assert "--consumer-file" not in cron_help.out
    assert "(default: 64)" in plan_help.out


async def test_json_is_taken_before_or_after_the_command() -> None:
    before = await cli("--json", "cron", "explain", "0 0 * ? * *", "-n", "1")
    after = await cli("cron", "explain", "0 0 * ? * *", "-n", "1", "--json")

    assert before.code == after.code == 0
    assert before.json() == after.json()


async def test_version() -> None:
    result = await cli("--version")

    assert result.code == 0
    assert result.out.startswith("canvas-async 0.")


# -- 9. rotating credentials ---------------------------------------------------------------


async def test_rotating_credentials_by_tag_needs_replace_and_says_so(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    env = _keys(emu, QUINYX_KEY=SECRET_VALUE, FTP_USER="u")
    path = _file(tmp_path, emu)
    assert (await cli("apply", str(path), env=env)).code == 0
    path.write_text(path.read_text().replace('tag = "Quinyx"', 'tag = "Quinyx 2"'))

    planned = await cli("plan", str(path), env=env)
    kept = await cli("apply", str(path), env=env)
    replaced = await cli("apply", str(path), "--replace", env=env)
    again = await cli("plan", str(path), "--detailed-exitcode", env=env)

    assert "+ register QUIN (QUIN tag 'Quinyx 2') on 4 accounts" in planned.out
    assert "apply --replace deletes and recreates those workflows" in planned.out
    assert kept.code == _exit.UNFIXABLE  # drift only: another apply without --replace won't do
    assert kept.out.splitlines()[-1] == (
        "drift left in place: apply --replace recreates those workflows"
    )
    assert replaced.code == 0, replaced.out
    assert again.code == 0, again.out


# -- start-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["--help"], ["cron", "explain", "0 0 * ? * *"], ["completion", "bash"]]
)
def test_commands_without_a_server_import_neither_aiohttp_nor_rich(args: list[str]) -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-m", "canvas_async.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}

    assert not {m for m in imported if m.split(".")[0] in ("aiohttp", "rich")}
    assert json.dumps(done.stdout)  # printed something


def test_the_library_never_imports_rich() -> None:
    program = (
        "import sys, canvas_async, canvas_async.provision, canvas_async.bulk; "
        "canvas_async.Canvas; print(sorted(m for m in sys.modules if m.startswith('rich')))"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "[]"


async def test_verbose_lists_every_account() -> None:
    planned = await cli("plan", str(DEMO), "--emulator", "--verbose")
    applied = await cli("apply", str(DEMO), "--emulator", "--verbose")

    assert planned.out.count("  + register QUIN (QUIN tag 'Quinyx 2024-06')\n") == 50
    rows = [line for line in applied.out.splitlines() if "  done  " in line]
    assert len(rows) == 50
    assert "register 2, create-workflow 1, schedule 1" in applied.out
    assert applied.out.splitlines()[-1].startswith("Apply: 50 accounts: 50 done, 0 failed")


async def test_force_color_colours_a_pipe() -> None:
    forced = await cli("plan", str(DEMO), "--emulator", env={"FORCE_COLOR": "1"})
    plain = await cli("plan", str(DEMO), "--emulator")

    assert "\x1b[32m  +\x1b[0m register QUIN" in forced.out
    assert "\x1b[" not in plain.out + plain.err


async def test_plan_lists_the_accounts_it_could_not_read_before_its_last_line(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    ids = [str(uuid.UUID(int=5)), *(str(a) for a in emu.state.managed_ids[-4:])]
    text = "".join(f'\n[[accounts]]\nid = "{a}"\n' for a in ids)

    result = await cli("plan", _state(tmp_path, text), env=_keys(emu))

    assert result.code == _exit.FAILED
    lines = result.out.splitlines()
    assert "could not read 1 of 5 accounts:" in lines
    assert lines[lines.index("could not read 1 of 5 accounts:") + 1].startswith(
        f"  x {ids[0]}: failed"
    )
    assert lines[-1] == "Plan: 0 to add, 0 to change, 0 to destroy, across 0 of 5 accounts."


async def test_an_account_is_named_by_id_or_e_mail(emu: CanvasEmulator) -> None:
    env = _keys(emu)
    listed = (await cli("accounts", "--json", env=env)).json()
    assert isinstance(listed, list)
    email = next(a["email"] for a in listed if a["id"] == str(emu.state.managed_ids[-1]))

    found = await cli("workflows", "-a", email.upper(), "--json", env=env)
    missing = await cli("workflows", "-a", "nobody@example.org", env=env)

    assert found.code == 0, found.err
    assert found.json() == []
    assert missing.code == _exit.USAGE
    assert "no account with the id or e-mail 'nobody@example.org'" in missing.err


def test_a_stuck_report_is_the_unfixable_exit_status() -> None:
    # One rule: what the CLI exits 5 on is what Temporal fails a shard for good on.
    from canvas_async.bulk import Status
    from canvas_async.provision._report import AccountReport, RunReport

    def run(*accounts: tuple[Status, bool]) -> RunReport:
        made = tuple(
            AccountReport(str(i), None, status, unfixable=fixless)
            for i, (status, fixless) in enumerate(accounts)
        )
        return RunReport("apply", "f", made, False, False)

    cases = [
        run((Status.DONE, False)),
        run((Status.FAILED, True)),
        run((Status.FAILED, True), (Status.FAILED, False)),
        run((Status.FAILED, True), (Status.OUTCOME_UNKNOWN, False)),
        run((Status.DONE, False), (Status.FAILED, True)),
    ]
    for report in cases:
        assert report.stuck == (_exit.for_report(report) == _exit.UNFIXABLE), report
    assert [r.stuck for r in cases] == [False, True, False, False, True]
