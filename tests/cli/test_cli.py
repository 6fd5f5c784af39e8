"""The canvas-async command: exit statuses, output, --json (run in this process, and as a
subprocess where the process itself is what is checked)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import pytest

from canvas_async.cli import _exit
from canvas_async.provision import AccountReport, RunReport, Status
from canvas_async.testing import CanvasEmulator
from tests.leak_check import register_secret
from tests.support import ROOT, bare_env, run_command, spawn

DEMO = ROOT / "examples" / "demo-accounts.toml"
SECRET_VALUE = register_secret("quinyx-s3cr3t-value")


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


async def cli(*args: str, env: Mapping[str, str] | None = None, stdin: str = "") -> Result:
    """Run ``canvas-async ARGS`` with a clean Canvas environment (in this process)."""
    return Result(
        *await run_command(*args, env={**bare_env(COLUMNS="200"), **(env or {})}, stdin=stdin)
    )


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err


pytestmark = pytest.mark.canvas_emulator(seed="samples", synthetic_accounts=4, random_seed=9)


def _keys(emu: CanvasEmulator, **extra: str) -> dict[str, str]:
    return {
        "CANVAS_ENV": emu.url,
        "CANVAS_CONSUMER": emu.consumer,
        "CANVAS_SECRET_KEY": emu.secret_key,
        **extra,
    }


def _file(
    tmp_path: Path,
    emu: CanvasEmulator,
    *,
    filepath: str = "/exports",
    ids: Sequence[uuid.UUID] | None = None,
) -> Path:
    """Two registrations and a scheduled workflow for ``ids`` (the last 4 accounts)."""
    chosen = emu.state.managed_ids[-4:] if ids is None else ids
    accounts = "".join(f'\n[[accounts]]\nid = "{a}"\n' for a in chosen)
    text = f"""
[defaults.applications.QUIN]
tag = "Quinyx"
credentials = {{ apikey = "${{QUINYX_KEY}}", environment = {{ plain = "test" }} }}
[defaults.applications.FTP]
tag = "FTP"
credentials.username = "${{FTP_USER}}"
credentials.password = "${{FTP_USER}}"
credentials.address = {{ plain = "ftp.example.org" }}
credentials.port = {{ plain = "21" }}
[defaults.workflows.Export]
template = "Quinyx Employee Export Into FTP(CSV)"
schedule = "0 0/5 * ? * * *"
variables."FTP Upload".filepath = "{filepath}"
variables."API - Get Employees".apiKeys = ["${{QUINYX_KEY}}"]
{accounts}"""
    path = tmp_path / "state.toml"
    path.write_text(text)
    return path


# -- without a server ------------------------------------------------------------


async def test_help_lists_the_commands_and_exit_statuses() -> None:
    result = await cli("--help")

    assert result.code == 0
    for word in ("apply", "plan", "schedule", "cron", "emulator", "exit status"):
        assert word in result.out
    assert f"{_exit.UNFIXABLE} apply left only what another apply will not fix" in " ".join(
        result.out.split()
    )


async def test_a_usage_error_exits_2() -> None:
    result = await cli("no-such-command")

    assert result.code == _exit.USAGE
    _no_traceback(result)


async def test_cron_explain_needs_no_server() -> None:
    text = await cli("cron", "explain", "0 0 2,6 ? * TUE *", "--count", "3", "--tz", "Europe/Oslo")
    data = await cli("cron", "explain", "*/5 * * * *", "--unix", "--json", "--count", "2")

    assert text.code == 0
    assert "0 0 2,6 ? * TUE *" in text.out
    assert "Tue" in text.out
    assert text.out.count(" Tue\n") == 3
    assert data.code == 0
    parsed = data.json()
    assert isinstance(parsed, dict)
    assert parsed["canonical"] == "0 0/5 * ? * * *"
    assert len(parsed["next_fire_times"]) == 2


async def test_a_bad_cron_is_a_readable_usage_error() -> None:
    result = await cli("cron", "explain", "0 0 * * * *")

    assert result.code == _exit.USAGE
    assert result.err.startswith("canvas-async: error: ")
    _no_traceback(result)


async def test_missing_keys_are_named() -> None:
    result = await cli("accounts")

    assert result.code == _exit.USAGE
    assert "CANVAS_CONSUMER" in result.err
    _no_traceback(result)


async def test_an_invalid_file_lists_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[accounts]]\nid = "x"\napplications.QUIN = { tag = "t", credentials.k = "v" }\n'
    )

    result = await cli("plan", "--emulator", str(bad))

    assert result.code == _exit.USAGE
    assert "accounts[0].id: not an account id" in result.err
    assert "literal credential value" in result.err
    assert "'v'" not in result.err
    _no_traceback(result)


# -- the demo ---------------------------------------------------------------------------


async def test_the_demo_applies_on_the_bundled_emulator(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = await cli("--emulator", "apply", str(DEMO), "--report", str(report_path))

    assert result.code == 0, result.err
    assert "Apply: 50 accounts: 50 done, 0 failed" in result.out
    assert "placeholder" in result.err  # unset references are announced
    assert "] 50/50 accounts  done 50" in result.err  # progress, as plain lines off a terminal
    data = json.loads(report_path.read_text())
    assert data["summary"]["accounts"] == 50
    assert data["summary"]["done"] == 50
    assert {a["status"] for a in data["accounts"]} == {"done"}


async def test_plan_prints_json_on_stdout_only() -> None:
    result = await cli("plan", str(DEMO), "--emulator", "--json")

    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    assert data["mode"] == "plan"
    assert data["summary"]["changes"] == 212
    assert {a["status"] for a in data["accounts"]} == {"changes"}


# -- against a running emulator ---------------------------------------------------------


async def test_plan_apply_converge_and_drift_needs_replace(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    env = _keys(emu, QUINYX_KEY=SECRET_VALUE, FTP_USER="ftp-user")
    path = _file(tmp_path, emu)

    planned = await cli("plan", str(path), "--detailed-exitcode", env=env)
    assert planned.code == _exit.PENDING
    assert "+ register QUIN" in planned.out

    applied = await cli("apply", str(path), env=env)
    assert applied.code == 0, applied.err
    assert "4 accounts: 4 done, 0 failed; 16 changes made" in applied.out

    again = await cli("plan", str(path), "--detailed-exitcode", "--json", env=env)
    assert again.code == 0
    summary = again.json()
    assert isinstance(summary, dict)
    assert summary["summary"]["changes"] == 0
    assert summary["summary"]["in_sync"] == 4

    path = _file(tmp_path, emu, filepath="/elsewhere")
    # Plan says so before apply fails: drift is pending, and counted in its last line.
    foreseen = await cli("plan", str(path), "--detailed-exitcode", env=env)
    assert foreseen.code == _exit.PENDING
    assert "0 to change, 0 to destroy, across 0 of 4 accounts; 4 more that apply will not fix" in (
        foreseen.out
    )
    drifted = await cli("apply", str(path), env=env)
    assert drifted.code == _exit.UNFIXABLE  # another apply without --replace changes nothing
    assert "variables differ" in drifted.out
    replaced = await cli("apply", str(path), "--replace", env=env)
    assert replaced.code == 0, replaced.out

    for result in (planned, applied, again, foreseen, drifted, replaced):
        assert SECRET_VALUE not in result.out + result.err
        assert emu.secret_key not in result.out + result.err
        _no_traceback(result)


async def test_an_unset_reference_is_refused_before_anything_is_sent(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    path = str(_file(tmp_path, emu))
    applied = await cli("apply", path, env=_keys(emu, QUINYX_KEY="k"))
    planned = await cli("plan", path, env=_keys(emu, QUINYX_KEY="k"))

    for result in (applied, planned):
        assert result.code == _exit.USAGE
        assert "1 environment variable the file refers to is not set:" in result.err
        assert (
            "  FTP_USER: applications.FTP.credentials.username (all 4 accounts); "
            "applications.FTP.credentials.password (all 4 accounts)"
        ) in result.err
        assert "QUINYX_KEY" not in result.err
    assert emu.log == []


async def test_daily_commands_on_one_account(tmp_path: Path, emu: CanvasEmulator) -> None:
    env = _keys(emu, QUINYX_KEY="k", FTP_USER="u")
    assert (await cli("apply", str(_file(tmp_path, emu)), env=env)).code == 0
    account = str(emu.state.managed_ids[-1])

    listed = await cli("workflows", "--account", account, "--json", env=env)
    assert listed.code == 0
    workflows = listed.json()
    assert isinstance(workflows, list)
    [workflow] = workflows
    assert isinstance(workflow, dict)
    assert workflow["name"] == "Export"
    assert workflow["cron"] == "0 0/5 * ? * * *"

    ran = await cli("run", "-a", account, "Export", "--from", "1", "--till", "2", env=env)
    assert ran.code == 0, ran.err
    assert "started 'Export'" in ran.out
    assert emu.state.runs[-1].run_till_block == 2

    runs = len(emu.state.runs)
    bad_range = await cli("run", "-a", account, "Export", "--from", "1", "--till", "9", env=env)
    assert bad_range.code == _exit.USAGE  # refused before anything is sent
    assert "till_block must be <= 2, the number of blocks" in bad_range.err
    assert len(emu.state.runs) == runs
    _no_traceback(bad_range)

    scheduled = await cli(
        "schedule", "-a", account, workflow["id"], "0 0 6 ? * MON-FRI", "--json", "-n", "2", env=env
    )
    assert scheduled.code == 0, scheduled.err
    data = scheduled.json()
    assert isinstance(data, dict)
    assert data["cron"] == "0 0 6 ? * MON-FRI *"
    assert len(data["next_fire_times"]) == 2

    off = await cli("unschedule", "-a", account, "Export", env=env)
    assert off.code == 0
    assert not emu.state.workflows[uuid.UUID(workflow["id"])].is_scheduled

    for command in ("accounts", "applications", "templates"):
        table = await cli(command, env=env)
        assert table.code == 0, table.err
        assert table.out.splitlines()[1].startswith("---")
    regs = await cli("registered", "-a", account, env=env)
    assert "Quinyx" in regs.out


async def test_auth_and_key_files(tmp_path: Path, emu: CanvasEmulator) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text(emu.secret_key + "\n")
    env = {"CANVAS_ENV": emu.url, "CANVAS_CONSUMER": emu.consumer}

    accepted = await cli("auth", "--secret-key-file", str(key_file), env=env)
    from_stdin = await cli("auth", "--secret-key-file", "-", env=env, stdin=emu.secret_key)
    refused = await cli("auth", env={**env, "CANVAS_SECRET_KEY": "wrong"})

    assert accepted.code == 0, accepted.err
    assert "accepted" in accepted.out
    assert from_stdin.code == 0
    assert refused.code == _exit.FAILED
    assert "refused" in refused.err
    for result in (accepted, from_stdin, refused):
        assert emu.secret_key not in result.out + result.err


def test_exit_status_of_an_apply_report() -> None:
    def report(*statuses: Status) -> RunReport:
        return RunReport(
            "apply", "f", tuple(AccountReport(str(i), None, s) for i, s in enumerate(statuses))
        )

    assert _exit.for_report(report(Status.DONE, Status.DONE)) == _exit.OK
    assert _exit.for_report(report(Status.DONE, Status.OUTCOME_UNKNOWN)) == _exit.UNKNOWN
    assert _exit.for_report(report(Status.OUTCOME_UNKNOWN, Status.FAILED)) == _exit.FAILED
    assert _exit.for_report(report(Status.SKIPPED)) == _exit.FAILED

    def unfixable(report: RunReport, *positions: int) -> RunReport:
        accounts = list(report.accounts)
        for i in positions:
            accounts[i] = attrs.evolve(accounts[i], unfixable=True)
        return attrs.evolve(report, accounts=tuple(accounts))

    only = unfixable(report(Status.DONE, Status.FAILED), 1)
    assert only.unfixable == 1
    assert _exit.for_report(only) == _exit.UNFIXABLE
    mixed = unfixable(report(Status.FAILED, Status.FAILED), 1)
    assert _exit.for_report(mixed) == _exit.FAILED  # another run may fix the first
    doubt = unfixable(report(Status.OUTCOME_UNKNOWN, Status.FAILED), 1)
    assert _exit.for_report(doubt) == _exit.UNKNOWN  # another run settles the doubt


async def test_the_emulator_command_serves_until_interrupted() -> None:
    import signal

    # A shell without job control starts background jobs with SIGINT ignored,
    # and a child inherits an ignored signal (the command would never see
    # the Ctrl-C): while spawning, handle it, so the child starts with it at
    # its default.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = await spawn("emulator", "--port", "0", "--accounts", "3", env=bare_env())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    assert b"Canvas emulator (keys mode) listening on http://127.0.0.1:" in first
    rest = [await asyncio.wait_for(proc.stdout.readline(), timeout=30) for _ in range(7)]
    assert b"Seeded with 3 synthetic accounts" in rest[3]
    assert rest[-1].startswith(b"  export CANVAS_SECRET_KEY=")
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)

    assert proc.returncode == 0  # Ctrl-C is how an emulator is meant to stop
    assert b"Canvas emulator stopped" in out
    assert b"converge" not in out + err
    assert err == b""
