"""A client that hangs up before the answer: by default its write is still stored, as on a
real server (a "stale write"); with ``finish_abandoned=False`` the request stops unserved."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from canvas_async.testing import CanvasEmulator, FaultRule, Latency, RequestRecord
from tests.emulator.emulator_support import (
    NEW_WORKFLOW,
    PAYLOADS,
    Api,
    snapshot,
)
from tests.shards.shard_support import until

#: How long the emulator holds the answer when it serves to the end: far longer
#: than the client takes to hang up once the request has arrived.
HOLD = 2.0
#: How long it would hold a request it stops at the hang-up: the test ends long
#: before, unless the request is not stopped.
LONG_HOLD = 60.0
#: The clients' read timeout: it starts once the whole request is sent.
READ_TIMEOUT = 0.2


def held(emu: CanvasEmulator, operation: str, seconds: float) -> FaultRule:
    """Delay the next ``operation`` by ``seconds``; return the rule (``fired``: it arrived)."""
    return emu.faults.add(Latency(seconds), operations={operation}, times=1)


async def timed_out(emu: CanvasEmulator, operation: str, body: Any) -> None:
    """Send ``operation`` from a client that gives up waiting after :data:`READ_TIMEOUT`."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=READ_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(TimeoutError):
            await Api(session, emu).call(operation, body=body)


async def cancelled(emu: CanvasEmulator, operation: str, body: Any, rule: FaultRule) -> None:
    """Send ``operation`` and cancel the call once the emulator holds it."""
    async with aiohttp.ClientSession() as session:
        call = asyncio.create_task(Api(session, emu).call(operation, body=body))
        await until(lambda: rule.fired == 1 or call.done())
        assert not call.done()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call


async def logged(emu: CanvasEmulator, operation: str) -> RequestRecord:
    """Wait until the emulator is done with ``operation``; return its log entry."""
    await until(lambda: any(record.operation == operation for record in emu.log))
    [record] = [record for record in emu.log if record.operation == operation]
    return record


async def test_a_workflow_whose_client_timed_out_is_created(emu: CanvasEmulator) -> None:
    rule = held(emu, "create_workflow", HOLD)
    count = len(emu.state.workflows)

    await timed_out(emu, "create_workflow", NEW_WORKFLOW)

    record = await logged(emu, "create_workflow")
    assert rule.fired == 1
    assert len(emu.state.workflows) == count + 1
    assert (record.status, record.faults, record.took_effect, record.hung_up) == (
        200,
        ("latency",),
        True,
        True,
    )


async def test_a_registration_whose_client_was_cancelled_is_stored(
    emu: CanvasEmulator,
) -> None:
    rule = held(emu, "create_reg_application", HOLD)
    before = set(emu.state.reg_applications)

    await cancelled(emu, "create_reg_application", PAYLOADS["RegApplication:body1"], rule)

    record = await logged(emu, "create_reg_application")
    [stored] = set(emu.state.reg_applications) - before
    assert (record.status, record.took_effect, record.hung_up) == (200, True, True)
    # The emulator serves on, and lists what the client never heard of.
    async with aiohttp.ClientSession() as session:
        listed = await Api(session, emu).ok("list_reg_applications")
    assert str(stored) in {registration["id"] for registration in listed}


@pytest.mark.canvas_emulator(finish_abandoned=False)
@pytest.mark.parametrize("hang_up", ["timeout", "cancel"])
async def test_without_finish_abandoned_a_hung_up_write_takes_no_effect(
    canvas_emulator: CanvasEmulator, hang_up: str
) -> None:
    emu = canvas_emulator
    assert not emu.finish_abandoned
    rule = held(emu, "create_workflow", LONG_HOLD)
    before = snapshot(emu)

    if hang_up == "timeout":
        await timed_out(emu, "create_workflow", NEW_WORKFLOW)
    else:
        await cancelled(emu, "create_workflow", NEW_WORKFLOW, rule)

    record = await logged(emu, "create_workflow")
    assert rule.fired == 1
    assert snapshot(emu) == before
    assert (record.status, record.took_effect, record.hung_up) == (None, False, True)
    # A request whose client waits is still served.
    async with aiohttp.ClientSession() as session:
        assert await Api(session, emu).ok("create_workflow", body=NEW_WORKFLOW)
    assert len(emu.state.workflows) == len(before[3]) + 1


async def test_an_answered_request_is_not_hung_up(emu: CanvasEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        assert await Api(session, emu).ok("create_workflow", body=NEW_WORKFLOW)
    [record] = emu.log
    assert (record.status, record.took_effect, record.hung_up) == (200, True, False)
