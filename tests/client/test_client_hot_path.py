"""The request path's details: query strings as the server reads them, the
concurrency slots' order, and timeouts that arm no timer for a phase that
cannot run out before the whole.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import yarl
from aiohttp import web

from canvas_async import Canvas, Timeout
from canvas_async._limits import ClientPausedError, Limits, PauseGate
from canvas_async.testing import CanvasEmulator
from tests.support import serve

WORKFLOW_ID = uuid.UUID("ef7a56e6-448f-4787-b58d-47b063d6e983")  # a sample workflow


@pytest.fixture
async def echo() -> AsyncIterator[tuple[yarl.URL, list[web.Request]]]:
    """A server answering every request with its raw query string."""
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response({"query": request.query_string, "raw": request.raw_path})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with serve(app) as url:
        yield url, seen


class TestQuery:
    @pytest.mark.parametrize(
        ("params", "query"),
        [
            ({"id": str(WORKFLOW_ID)}, f"id={WORKFLOW_ID}"),
            ({"a": "x_y.z~1-2", "b": ""}, "a=x_y.z~1-2&b="),
            # Values that need encoding go through yarl, as they always did.
            ({"name": "Work flow & co"}, "name=Work+flow+%26+co"),
            ({"name": "ÆØÅ/?#"}, "name=%C3%86%C3%98%C3%85/?%23"),
        ],
    )
    async def test_the_server_reads_the_parameters_sent(
        self,
        echo: tuple[yarl.URL, list[web.Request]],
        params: dict[str, str],
        query: str,
    ) -> None:
        url, seen = echo
        async with Canvas(
            consumer="c" * 8, secret_key="s" * 8, env=str(url), catalogue=False
        ) as canvas:
            await canvas.request("GET", "/Anything", params=params)

        assert dict(seen[0].query) == params
        assert seen[0].raw_path.partition("?")[2] == query

    async def test_a_typed_get_by_id(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        workflow = await canvas.workflows.get(str(WORKFLOW_ID).upper())
        again = await canvas.workflows.get(workflow)

        assert workflow.id == again.id == WORKFLOW_ID
        assert [r.status for r in emu.log] == [200, 200]


class TestSlots:
    async def test_waiters_are_served_in_order(self) -> None:
        limits = Limits(max_concurrency=1)
        await limits.acquire()
        order: list[int] = []

        async def wait_then_note(index: int) -> None:
            await limits.acquire()
            order.append(index)
            limits.release()

        tasks = [asyncio.create_task(wait_then_note(i)) for i in range(3)]
        await asyncio.sleep(0)
        late = asyncio.create_task(wait_then_note(3))  # behind those in line
        limits.release()
        await asyncio.gather(*tasks, late)

        assert order == [0, 1, 2, 3]

    async def test_a_waiter_cancelled_before_its_turn_leaves_the_line(self) -> None:
        limits = Limits(max_concurrency=1)
        await limits.acquire()
        gone = asyncio.create_task(limits.acquire())
        stays = asyncio.create_task(limits.acquire())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        limits.release()
        await stays

        assert gone.cancelled()
        limits.release()
        async with asyncio.timeout(5):
            await limits.acquire()

    async def test_a_waiter_cancelled_as_it_is_served_passes_the_slot_on(self) -> None:
        limits = Limits(max_concurrency=1)
        await limits.acquire()
        first = asyncio.create_task(limits.acquire())
        second = asyncio.create_task(limits.acquire())
        await asyncio.sleep(0)
        limits.release()  # handed to the first waiter...
        first.cancel()  # ...which is cancelled before it runs again
        await asyncio.gather(first, return_exceptions=True)
        async with asyncio.timeout(5):
            await second

        assert first.cancelled()

    async def test_no_slot_is_taken_while_paused(self) -> None:
        now = [0.0]
        limits = Limits(max_concurrency=1, gate=PauseGate(clock=lambda: now[0]))
        limits.gate.pause(60)

        with pytest.raises(ClientPausedError):
            await limits.acquire(max_wait=1)
        now[0] = 61.0  # the pause is over
        async with asyncio.timeout(5):
            await limits.acquire()  # the refused wait gave its slot back


class TestTimeouts:
    def test_no_read_limit_by_default(self) -> None:
        client_timeout = Timeout().to_aiohttp()

        assert Timeout().read is None
        assert (client_timeout.total, client_timeout.sock_connect, client_timeout.sock_read) == (
            60.0,
            10.0,
            None,
        )

    @pytest.mark.parametrize(
        ("timeout", "connect", "read"),
        [
            (Timeout.of(5), None, None),  # as long as the whole: they never end first
            (Timeout(total=5, connect=9, read=7), None, None),
            (Timeout(total=5, connect=1, read=2), 1, 2),
            (Timeout(total=None, connect=1, read=2), 1, 2),
        ],
    )
    def test_a_phase_no_shorter_than_the_whole_arms_no_timer(
        self, timeout: Timeout, connect: float | None, read: float | None
    ) -> None:
        client_timeout = timeout.to_aiohttp()

        assert (client_timeout.sock_connect, client_timeout.sock_read) == (connect, read)
        assert client_timeout.total == timeout.total
