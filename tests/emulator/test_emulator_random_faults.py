"""RandomFaults: a share of all requests fails, of random kinds, the same under a seed."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys

import aiohttp
import pytest

from canvas_async.testing import (
    TRANSIENT_FAULTS,
    WRITES,
    CanvasEmulator,
    DropConnection,
    ErrorStatus,
    RandomFaults,
)
from tests.emulator.emulator_support import CALLER_FTP, CALLER_QUIN, MANAGED, QUINYX_TEMPLATE, Api
from tests.support import started

NEW_WORKFLOW = {
    "workflowTemplateId": QUINYX_TEMPLATE,
    "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP},
}


async def _outcomes(api: Api, count: int) -> list[tuple[str, ...]]:
    """Send ``count`` workflow creates one after another; return the faults each met."""
    for _ in range(count):
        with contextlib.suppress(aiohttp.ClientError):  # a dropped connection
            await api.call("create_workflow", body=NEW_WORKFLOW)
    return [r.faults for r in api.emu.log if r.operation == "create_workflow"]


async def test_a_fraction_of_requests_fails_with_every_kind(api: Api) -> None:
    api.emu.faults.rng.seed(5)
    rule = api.emu.faults.add(RandomFaults(), fraction=0.5)

    outcomes = await _outcomes(api, 200)

    struck = [faults for faults in outcomes if faults]
    assert 60 <= len(struck) <= 140  # about half
    assert rule.fired == len(struck)
    kinds = collections.Counter(faults[0] for faults in struck)
    assert set(kinds) == {kind.label for kind in TRANSIENT_FAULTS}
    log = [r for r in api.emu.log if r.operation == "create_workflow"]
    after = [r for r in log if r.faults and "after effect" in r.faults[0]]
    assert after
    assert all(r.took_effect for r in after)
    before = [r for r in log if r.faults and "after effect" not in r.faults[0]]
    assert not any(r.took_effect for r in before)


async def test_the_same_seed_fails_the_same_requests(
    session: aiohttp.ClientSession,
) -> None:
    runs = []
    for _ in range(2):
        async with started(CanvasEmulator(random_seed=8)) as emu:
            emu.faults.add(RandomFaults(), fraction=0.3)
            runs.append(await _outcomes(Api(session, emu), 40))
    assert runs[0] == runs[1]
    assert any(runs[0])


async def test_faults_can_be_scoped_to_accounts(api: Api) -> None:
    api.emu.faults.add(ErrorStatus(403), operations=WRITES, accounts={MANAGED.upper()})

    refused = await api.call("create_workflow", body=NEW_WORKFLOW, account=MANAGED)
    served = await api.call("create_workflow", body=NEW_WORKFLOW)
    read = await api.call("list_workflows", account=MANAGED)

    assert (refused.status, served.status, read.status) == (403, 200, 200)


def test_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="kinds"):
        RandomFaults(kinds=())
    assert RandomFaults(kinds=[DropConnection()]).kinds == (DropConnection(),)


async def test_the_emulator_command_injects_random_faults() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.testing._cli",
        "--port",
        "0",
        "--faults",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")},
    )
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        url = first.split("listening on ", 1)[1].strip()
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get(url + "/Applications") as response:
                    status: int | None = response.status
            except aiohttp.ClientError:
                status = None  # a dropped connection
        assert status != 200
    finally:
        proc.terminate()
        await proc.wait()


async def test_the_emulator_command_refuses_a_bad_fraction() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "canvas_async.testing._cli",
        "--faults",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    assert b"between 0 and 1" in err
