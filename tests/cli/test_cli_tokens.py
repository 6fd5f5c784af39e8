"""The command in token mode: detection, --auth / CANVAS_AUTH, revocation, refusal texts."""

from __future__ import annotations

import asyncio
import collections
import signal
from pathlib import Path

import pytest

from canvas_async.cli import _exit
from canvas_async.cli._connect import AuthChoice, refusal
from canvas_async.testing import AuthMode, CanvasEmulator, ErrorStatus, Latency
from tests.cli.test_cli import Result, _file, _keys, cli
from tests.leak_check import record_text, register_secret
from tests.support import bare_env, spawn, started

WRONG_KEY = "0f0e0d0c-wrong-secret-key-0000"


def _seen(result: Result) -> None:
    """Hand the output to the leak check, and assert no traceback."""
    register_secret(WRONG_KEY)
    record_text("canvas-async output", result.out + result.err)
    assert "Traceback" not in result.err


def _sent(emu: CanvasEmulator, since: int) -> collections.Counter[str | None]:
    return collections.Counter(record.operation for record in emu.log[since:])


async def test_every_command_detects_token_mode_and_revokes_its_tokens(tmp_path: Path) -> None:
    async with started(CanvasEmulator(auth="token", synthetic_accounts=4, random_seed=9)) as emu:
        env = _keys(emu, QUINYX_KEY="quinyx-key", FTP_USER="ftp-user")
        path = str(_file(tmp_path, emu))
        account = str(emu.state.managed_ids[-1])
        commands = [
            ("auth",),
            ("plan", path),
            ("apply", path),
            ("plan", path, "--detailed-exitcode"),
            ("accounts",),
            ("applications",),
            ("templates",),
            ("workflows", "-a", account),
            ("registered", "-a", account),
            ("run", "-a", account, "Export"),
            ("schedule", "-a", account, "Export", "0 0 6 ? * MON-FRI"),
            ("unschedule", "-a", account, "Export"),
        ]
        for command in commands:
            since = len(emu.log)
            result = await cli(*command, env=env)
            _seen(result)
            assert result.code == 0, (command, result.err)
            sent = _sent(emu, since)
            # One exchange (which also told auto the mode), one revocation, last.
            assert (sent["authenticate"], sent["delete_token"]) == (1, 1), (command, sent)
            assert emu.log[-1].operation == "delete_token"
            assert all(record.status != 401 for record in emu.log[since:])
        assert "token mode (detected by auto)" in (await cli("auth", env=env)).out
        assert emu.state.tokens.deletes == len(commands) + 1


async def test_a_failing_command_revokes_its_tokens_too() -> None:
    async with started(CanvasEmulator(auth="token", synthetic_accounts=1)) as emu:
        account = str(emu.state.managed_ids[-1])
        result = await cli("run", "-a", account, "no such workflow", env=_keys(emu))
        _seen(result)
        assert result.code == _exit.USAGE
        assert (_sent(emu, 0)["authenticate"], emu.state.tokens.deletes) == (1, 1)


@pytest.mark.parametrize(
    ("stop", "status"),
    [(signal.SIGINT, _exit.INTERRUPTED), (signal.SIGTERM, _exit.TERMINATED)],
    ids=["SIGINT", "SIGTERM"],
)
async def test_a_stopped_apply_revokes_the_tokens(
    tmp_path: Path, stop: signal.Signals, status: int
) -> None:
    async with started(CanvasEmulator(auth="token", synthetic_accounts=4, random_seed=9)) as emu:
        emu.faults.add(Latency(0.2), operations={"list_workflows", "list_reg_applications"})
        env = bare_env(**_keys(emu, QUINYX_KEY="k", FTP_USER="u"))
        process = await spawn("apply", str(_file(tmp_path, emu)), env=env)
        # Interrupt once the accounts are being read, with requests in flight.
        async with asyncio.timeout(60):
            # The request log offers nothing to wait on; it is polled.
            while not _sent(emu, 0)["list_reg_applications"]:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        process.send_signal(stop)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        _seen(Result(process.returncode or 0, out.decode(), err.decode()))
        assert process.returncode == status
        assert emu.state.tokens.deletes == 1
        assert _sent(emu, 0)["delete_token"] == 1


async def test_the_bundled_emulator_speaks_token_mode_when_asked() -> None:
    result = await cli("--emulator", "--auth", "token", "auth")
    assert result.code == 0, result.err
    assert "token mode (from --auth)" in result.out


@pytest.mark.parametrize(
    ("served", "flags", "variable", "right_keys", "expected"),
    [
        (
            "keys",
            ["--auth", "keys"],
            None,
            False,
            "key mode (from --auth): the server refused the keys for Accounts: "
            "check CANVAS_CONSUMER / CANVAS_SECRET_KEY and the server (CANVAS_ENV)",
        ),
        (
            "token",
            ["--auth", "token"],
            None,
            False,
            "token mode (from --auth): the server refused the keys at Authenticate: "
            "check CANVAS_CONSUMER / CANVAS_SECRET_KEY",
        ),
        (
            "keys",
            [],
            None,
            False,
            "auto mode (the default), not detected yet: "
            "the server refused the keys at Authenticate: check CANVAS_CONSUMER",
        ),
        (
            "token",
            [],
            "auto",
            False,
            "auto mode (CANVAS_AUTH), not detected yet: "
            "the server refused the keys at Authenticate: check CANVAS_CONSUMER",
        ),
        (
            "token",
            [],
            "keys",
            True,
            "key mode (from CANVAS_AUTH): the server refused the keys for Accounts: "
            "it speaks token mode (its GetMetaData lists RefreshAccessToken and DeleteToken): "
            "use --auth token or --auth auto (or unset CANVAS_AUTH)",
        ),
        (
            "keys",
            ["--auth", "token"],
            None,
            True,
            "token mode (from --auth) was asked for, but the server speaks key mode",
        ),
    ],
)
async def test_a_refusal_names_the_mode_and_what_was_refused(
    served: AuthMode,
    flags: list[str],
    variable: str | None,
    right_keys: bool,
    expected: str,
) -> None:
    async with started(CanvasEmulator(auth=served, seed="empty")) as emu:
        env = _keys(emu) if right_keys else _keys(emu, CANVAS_SECRET_KEY=WRONG_KEY)
        if variable is not None:
            env["CANVAS_AUTH"] = variable
        result = await cli(*flags, "accounts", env=env)
        _seen(result)
        assert result.code == _exit.FAILED
        assert expected in result.err
        assert "the keys were refused" not in result.err
        assert emu.state.tokens.deletes == emu.state.tokens.issued


async def test_a_refused_access_token_is_named_as_such() -> None:
    async with started(CanvasEmulator(auth="token", seed="empty")) as emu:
        # Refused, renewed, refused again: not a matter of the keys.
        emu.faults.add(ErrorStatus(401), operations={"list_accounts"}, times=2)
        result = await cli("accounts", env=_keys(emu))
        _seen(result)
        assert result.code == _exit.FAILED
        assert (
            "token mode (detected by auto): the server refused the access token for Accounts, "
            "also after renewing it (the keys were accepted at Authenticate)"
        ) in result.err
        assert emu.state.tokens.refreshes == 1
        assert emu.state.tokens.deletes == 1


async def test_the_auth_command_names_the_mode_of_a_refusal() -> None:
    async with started(CanvasEmulator(auth="token", seed="empty")) as emu:
        result = await cli("auth", "--auth", "token", env=_keys(emu, CANVAS_SECRET_KEY=WRONG_KEY))
        _seen(result)
        assert result.code == _exit.FAILED
        assert "token mode (from --auth): the server refused the keys at Authenticate" in (
            result.err
        )


async def test_a_bad_canvas_auth_is_a_usage_error() -> None:
    async with started(CanvasEmulator(seed="empty")) as emu:
        result = await cli("accounts", env=_keys(emu, CANVAS_AUTH="oauth"))
        assert result.code == _exit.USAGE
        assert "CANVAS_AUTH must be one of keys, token, auto" in result.err
        assert emu.log == []


def test_a_refused_refresh_token_is_named_as_such() -> None:
    text = refusal("RefreshAccessToken", AuthChoice("token", "CANVAS_AUTH"), "token")
    assert text.startswith(
        "token mode (from CANVAS_AUTH): the server refused the refresh token at RefreshAccessToken"
    )
