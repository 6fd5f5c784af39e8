"""A server's text is data: no secret echoed back, no terminal escape, no end-less text,
and an answer too deep to read fails as an answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canvas_async import APIError, BadRequestError, UnexpectedResponseError
from canvas_async._errors import MAX_MESSAGE_CHARS
from canvas_async._text import REDACTED, clipped, printable, scrubbed, secrets_in
from canvas_async.cli import _exit
from canvas_async.testing import CanvasEmulator, ErrorStatus, RawAnswer
from tests.shards.shard_support import ENV, cli_env, write_file
from tests.support import client_of, finish, spawn

pytestmark = pytest.mark.canvas_emulator(seed="samples", synthetic_accounts=2, random_seed=4)

SECRET_VALUE = "hunter2-credential-value"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202eevil"


async def test_a_server_echoing_the_request_never_hands_back_a_secret(
    emu: CanvasEmulator,
) -> None:
    emu.faults.add(ErrorStatus(400, echo=True), operations={"create_reg_application"})
    async with client_of(emu) as canvas:
        apps = {a.short_name: a for a in await canvas.applications.list()}
        ftp = apps["FTP"]
        values = {f.short_name: SECRET_VALUE for f in ftp.credential_fields if not f.optional}
        assert values
        with pytest.raises(BadRequestError) as caught:
            await canvas.reg_applications.create(ftp, tag_text="echo", credentials=values)
    error = caught.value
    said = " ".join([str(error), error.message, json.dumps(error.body), *error.__notes__])
    assert "(request" in error.message  # the server did echo the request
    for secret in (SECRET_VALUE, emu.consumer, emu.secret_key):
        assert secret not in said
    assert REDACTED in error.message


async def test_escapes_in_a_message_are_shown_not_obeyed_and_long_text_is_clipped(
    emu: CanvasEmulator,
) -> None:
    emu.faults.add(
        ErrorStatus(400, message=ESCAPES + "x" * 1_000_000), operations={"list_accounts"}
    )
    async with client_of(emu) as canvas:
        with pytest.raises(APIError) as caught:
            await canvas.accounts.list()
    text = str(caught.value)
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\u202e" not in text
    assert "\\x1b[2J" in text
    assert len(text) < MAX_MESSAGE_CHARS + 200
    assert "1,000,0" in text  # says how long the text was


async def test_an_answer_nested_too_deep_fails_as_an_unexpected_answer(
    emu: CanvasEmulator,
) -> None:
    emu.faults.add(RawAnswer("[" * 100_000 + "]" * 100_000), operations={"list_accounts"})
    async with client_of(emu) as canvas:
        with pytest.raises(UnexpectedResponseError, match="Accounts"):
            await canvas.accounts.list()


async def test_the_cli_prints_and_reports_no_secret_and_no_escape(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    emu.faults.add(ErrorStatus(400, echo=True), operations={"create_reg_application"})
    emu.faults.add(ErrorStatus(400, message=ESCAPES), operations={"create_workflow"})
    path = write_file(tmp_path / "state.json", emu.state.managed_ids[:2])
    report = tmp_path / "report.json"
    code, out, err = await finish(
        await spawn(
            "apply",
            str(path),
            "--report",
            str(report),
            "--no-lease",
            env=cli_env(emu, NO_COLOR="1"),
        )
    )
    assert code == _exit.FAILED, err
    written = report.read_text(encoding="utf-8")
    for text in (out, err, written):
        for secret in (*ENV.values(), emu.consumer, emu.secret_key):
            assert secret not in text
        assert "\x1b" not in text
    assert REDACTED in out + written


def test_text_helpers() -> None:
    assert printable("a\tb\nc\x00d\x7f") == "a\tb\nc\\x00d\\x7f"
    assert clipped("abcdef", 3) == "abc... (6 characters)"
    assert clipped("abc", 3) == "abc"
    assert scrubbed("key abcd and abcdef", ["abcd", "abcdef", "ab"]) == (
        f"key {REDACTED} and {REDACTED}"
    )
    assert secrets_in('{"user": "u-1", "pw": ["p-2", 3]}') >= {"u-1", "p-2", "3"}


async def test_plan_meets_an_answer_nested_too_deep_without_a_traceback(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    emu.faults.add(RawAnswer("[" * 100_000 + "]" * 100_000), operations={"list_workflows"})
    path = write_file(tmp_path / "state.json", emu.state.managed_ids[:2])
    code, out, err = await finish(await spawn("plan", str(path), env=cli_env(emu)))
    assert code == _exit.FAILED, err
    assert "Traceback" not in out + err
    assert "RecursionError" not in out + err
    assert "Workflows" in out + err  # the operation that got the answer is named
