"""``--max-requests``: the client's pool, raised to ``--concurrency`` unless given, checked."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from canvas_async import DEFAULT_MAX_CONCURRENCY
from canvas_async.cli import _exit, _shards
from canvas_async.cli._connect import connect, pool_size
from canvas_async.cli._output import Out
from canvas_async.cli._parser import build_parser
from tests.cli.test_cli import DEMO, cli


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def _out() -> tuple[Out, io.StringIO]:
    err = io.StringIO()
    return Out(stdout=io.StringIO(), stderr=err), err


@pytest.mark.parametrize(
    ("argv", "pool"),
    [
        (("plan", "f"), DEFAULT_MAX_CONCURRENCY),
        (("plan", "f", "--concurrency", "8"), DEFAULT_MAX_CONCURRENCY),
        (("apply", "f", "--concurrency", "200"), 200),
        (("apply", "f", "--max-requests", "16"), 16),
        (("apply", "f", "--concurrency", "200", "--max-requests", "100"), 100),
        (("--max-requests", "32", "apply", "f"), 32),  # before the command too
        (("accounts", "--max-requests", "5"), 5),  # any command that connects
        (("accounts",), DEFAULT_MAX_CONCURRENCY),
    ],
)
def test_the_pool_is_max_requests_else_the_default_raised_to_concurrency(
    argv: tuple[str, ...], pool: int
) -> None:
    assert pool_size(_args(*argv)) == pool


async def test_the_client_is_made_with_the_pool() -> None:
    out, err = _out()
    async with connect(_args("apply", "f", "--emulator", "--concurrency", "150"), out) as conn:
        assert conn.canvas.max_concurrency == 150
    assert "--max-requests" not in err.getvalue()


async def test_a_max_requests_below_concurrency_is_kept_and_said() -> None:
    out, err = _out()
    args = _args("apply", "f", "--emulator", "--concurrency", "150", "--max-requests", "10")
    async with connect(args, out) as conn:
        assert conn.canvas.max_concurrency == 10
    assert "--concurrency 150 is above --max-requests 10" in err.getvalue()


async def test_a_shards_lease_session_holds_as_many_connections(tmp_path: Path) -> None:
    out, _ = _out()
    args = _args(
        "apply",
        str(DEMO),
        "--emulator",
        "--shard",
        "0/2",
        "--lease-dir",
        str(tmp_path),
        "--concurrency",
        "150",
    )
    state = _shards.load(args)
    # A pool smaller than the client's would draw a UserWarning (an error here).
    async with connect(args, out, writes=_shards.Writes(state, _shards.shard(args))) as conn:
        session = conn.canvas._transport.open()  # the lease's session
        assert session.connector is not None
        assert session.connector.limit == conn.canvas.max_concurrency == 150


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be at least 1, not 0"),
        ("-3", "must be at least 1, not -3"),
        ("many", "not a whole number"),
    ],
)
async def test_a_bad_max_requests_is_refused_before_connecting(value: str, message: str) -> None:
    result = await cli("plan", str(DEMO), "--emulator", "--max-requests", value)

    assert result.code == _exit.USAGE
    assert f"--max-requests: {message}" in result.err
    assert result.out == ""


async def test_max_requests_is_refused_where_nothing_connects() -> None:
    result = await cli("--max-requests", "8", "cron", "explain", "0 0 * ? * *")

    assert result.code == _exit.USAGE
    assert "--max-requests does nothing here" in result.err
