"""The console command: starts, prints where and how to connect, stops on a signal."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from canvas_async._routes import CONSUMER_HEADER, SECRET_KEY_HEADER
from canvas_async.cli._parser import build_parser
from canvas_async.testing import _cli as _emulator_cli

# The console script the package installs, next to this interpreter.
COMMAND = [str(Path(sys.executable).with_name("canvas-async-emulator"))]


async def started(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    process = await asyncio.create_subprocess_exec(
        *COMMAND, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    lines = [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(4)]
    url = re.fullmatch(r"Canvas emulator \((\w+) mode\) listening on (\S+)\n", lines[0])
    assert url is not None, lines
    consumer = re.fullmatch(r"Consumer:  ([0-9A-F]{64})\n", lines[1])
    secret = re.fullmatch(r"SecretKey: ([0-9a-f-]{36})\n", lines[2])
    assert consumer is not None
    assert secret is not None
    assert lines[3] == "Press Ctrl-C to stop.\n"
    return process, {
        "mode": url[1],
        "url": url[2],
        CONSUMER_HEADER: consumer[1],
        SECRET_KEY_HEADER: secret[1],
    }


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_the_command_serves_until_stopped(
    session: aiohttp.ClientSession, stop: signal.Signals
) -> None:
    process, printed = await started("--port", "0", "--accounts", "3")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api", printed["url"])
        assert printed["mode"] == "keys"
        async with session.get(printed["url"] + "/GetMetaData") as response:
            assert response.status == 200
            assert len(await response.json()) == 15
        keys = {name: printed[name] for name in (CONSUMER_HEADER, SECRET_KEY_HEADER)}
        async with session.get(printed["url"] + "/Accounts", headers=keys) as response:
            assert len(await response.json()) == 3 + 3  # the samples and the synthetic
    finally:
        process.send_signal(stop)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert stderr == b""


async def test_token_mode_and_an_empty_seed(session: aiohttp.ClientSession) -> None:
    process, printed = await started("--port", "0", "--auth", "token", "--seed", "empty")
    try:
        assert printed["mode"] == "token"
        keys = {name: printed[name] for name in (CONSUMER_HEADER, SECRET_KEY_HEADER)}
        async with session.get(printed["url"] + "/Authenticate", headers=keys) as response:
            token = await response.json()
        bearer = {"Authorization": token["access_token"]}
        async with session.get(printed["url"] + "/Workflows", headers=bearer) as response:
            assert await response.json() == []
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0


async def test_bad_arguments_are_refused() -> None:
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "--accounts", "-1", stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"--accounts: must be 0 or more" in stderr


async def test_a_taken_port_is_reported() -> None:
    process, printed = await started("--port", "0")
    port = printed["url"].split(":")[2].split("/")[0]
    try:
        other = await asyncio.create_subprocess_exec(
            *COMMAND, "--port", port, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        stdout, stderr = await asyncio.wait_for(other.communicate(), 30)
        assert other.returncode == 1
        assert stdout == b""
        assert stderr.startswith(b"canvas-async-emulator: ")
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 30)


@pytest.mark.parametrize(
    ("prefix", "parse"),
    [
        ((), lambda argv: _emulator_cli._parser().parse_args(argv)),
        (("emulator",), lambda argv: build_parser().parse_args(argv)),
    ],
    ids=["canvas-async-emulator", "canvas-async emulator"],
)
@pytest.mark.parametrize(
    ("flags", "finish"),
    [((), True), (("--no-finish-abandoned",), False), (("--finish-abandoned",), True)],
)
def test_finish_abandoned_is_the_default_and_can_be_turned_off(
    prefix: tuple[str, ...],
    parse: Callable[[list[str]], argparse.Namespace],
    flags: tuple[str, ...],
    finish: bool,
) -> None:
    emulator = _emulator_cli.emulator_of(parse([*prefix, *flags]))
    assert emulator.finish_abandoned is finish
