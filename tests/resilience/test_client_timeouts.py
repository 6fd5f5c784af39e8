"""A server that never answers, and closing a client whose calls all failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import yarl
from aiohttp import web

from canvas_async import Canvas, CanvasConnectionError, CanvasTimeoutError, OutcomeUnknownError
from canvas_async.testing import CanvasEmulator, DropConnection, Latency
from tests.support import client_of, started


@pytest.fixture
async def silent() -> AsyncIterator[tuple[yarl.URL, list[str]]]:
    """A server that reads every request and never answers."""
    arrived: list[str] = []
    hang = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        arrived.append(request.path)
        await hang.wait()
        raise AssertionError("unreachable")  # pragma: no cover

    app = web.Application()
    app.router.add_route("*", "/api/{tail:.*}", never)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield yarl.URL(f"http://127.0.0.1:{port}/api"), arrived
    hang.set()
    await runner.cleanup()


async def test_no_answer_raises_timeout(silent: tuple[yarl.URL, list[str]]) -> None:
    """A read times out per attempt and is retried, then CanvasTimeoutError."""
    url, arrived = silent
    async with Canvas(consumer="c", secret_key="s", env=str(url), timeout=0.1, retries=1) as c:
        with pytest.raises(CanvasTimeoutError):
            await c.workflows.list()

    assert arrived == ["/api/Workflows", "/api/Workflows"]


async def test_no_answer_to_a_post_is_outcome_unknown(silent: tuple[yarl.URL, list[str]]) -> None:
    """A create that got no answer is not sent again."""
    url, arrived = silent
    async with Canvas(consumer="c", secret_key="s", env=str(url), timeout=0.1) as c:
        with pytest.raises(OutcomeUnknownError) as info:
            await c.accounts.create(first_name="A", last_name="B", email="a@example.com")

    assert isinstance(info.value.__cause__, CanvasTimeoutError)
    assert arrived == ["/api/Account"]


async def test_per_call_timeout(silent: tuple[yarl.URL, list[str]]) -> None:
    """timeout= on the call bounds it too."""
    url, _ = silent
    async with Canvas(consumer="c", secret_key="s", env=str(url), timeout=30, retries=0) as c:
        with pytest.raises(CanvasTimeoutError):
            await c.workflows.list(timeout=0.1)


async def test_client_closes_cleanly_after_every_call_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Token mode, every call dropped: the calls raise, aclose() still
    finishes, and no unclosed session is left behind (warnings are errors)."""
    async with started(CanvasEmulator(auth="token")) as emu:
        canvas = client_of(emu, auth="token", timeout=1)
        await canvas.workflows.list()
        emu.faults.add(DropConnection())
        results = await asyncio.gather(
            *(canvas.workflows.list() for _ in range(20)), return_exceptions=True
        )
        with caplog.at_level(logging.WARNING, logger="canvas_async"):
            await canvas.aclose()

    assert all(isinstance(r, CanvasConnectionError) for r in results)
    assert canvas.state == "closed"
    assert "could not revoke" in caplog.text
    assert emu.consumer not in caplog.text


async def test_slow_server_close_is_bounded() -> None:
    """Closing against a server that stalls DeleteToken waits one timeout."""
    async with started(CanvasEmulator(auth="token")) as emu:
        async with client_of(emu, auth="token", timeout=0.1) as canvas:
            await canvas.workflows.list()
            emu.faults.add(Latency(5), operations={"delete_token"})
        assert canvas.state == "closed"
