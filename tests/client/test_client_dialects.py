"""The whole key-mode surface against every documented reading of the answers.

Where the vendor's pages and the server's own GetMetaData disagree (spec:
"Where the documentation disagrees with itself"), every reading must work:
every call succeeds, nothing runs twice, nothing is created twice.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import pytest

from canvas_async import Canvas, OutcomeUnknownError, RunStarted, Workflow
from canvas_async.testing import CanvasEmulator, Dialect, ErrorStatus
from tests.leak_check import register_secret
from tests.support import client_of, started

TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"
QUINYX_KEY = "01d6-3e54-cff2-c7d8"
FTP_PASSWORD = "correct-horse-battery"

# Each documented answer at least once, and /Clients alone twice.
DIALECTS = {
    "documented": Dialect(),
    "metadata": Dialect.metadata(),
    "bare": Dialect(run="empty", scheduler="true", delete="empty", accounts_path="accounts"),
    "mixed": Dialect(run="true", scheduler="empty", account="empty", accounts_path="clients"),
}


@pytest.fixture(params=sorted(DIALECTS))
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[CanvasEmulator]:
    async with started(CanvasEmulator(seed="samples", dialect=DIALECTS[request.param])) as emu:
        yield emu


async def _surface(canvas: Canvas, emu: CanvasEmulator) -> Workflow:
    """Call every key-mode operation once (runs twice); return the workflow run."""
    assert await canvas.authenticate()
    assert await canvas.meta.endpoints()
    assert await canvas.meta.describe("AddWorkflowApiDto")
    assert len(await canvas.accounts.list()) == 3
    new_id = await canvas.accounts.create(first_name="Ada", last_name="L", email="ada@example.org")
    view = canvas.for_account(new_id)
    quinyx = await view.applications.get("QUIN")
    ftp = await view.applications.get("FTP")
    quin_reg = await quinyx.register(
        tag_text="Quinyx", credentials={"apikey": QUINYX_KEY, "environment": "test"}
    )
    ftp_reg = await ftp.register(
        tag_text="FTP",
        credentials={"username": "u", "password": FTP_PASSWORD, "port": "22",
                     "address": "ftp.example.org"},
    )  # fmt: skip
    assert {r.id for r in await view.reg_applications.list()} == {quin_reg.id, ftp_reg.id}
    template = await view.templates.get(TEMPLATE)
    workflow = await template.create_workflow(
        name="Export", applications={"QUIN": quin_reg, "FTP": ftp_reg}
    )
    assert [w.id for w in await view.workflows.list()] == [workflow.id]

    whole = await workflow.run()
    part = await view.workflows.run(workflow.id, from_block=2, till_block=2)

    runs = emu.state.runs
    expected_ids = [r.id for r in runs] if emu.dialect.run == "guid" else [None, None]
    assert [whole, part] == [
        RunStarted(workflow.id, expected_ids[0]),
        RunStarted(workflow.id, expected_ids[1]),
    ]
    scheduled = await workflow.schedule("0 0/5 * ? * * *")
    assert scheduled.is_scheduled
    assert scheduled.cron == "0 0/5 * ? * * *"
    unscheduled = await scheduled.unschedule()
    assert not unscheduled.is_scheduled
    assert (await unscheduled.refresh()).id == workflow.id
    await unscheduled.delete()
    assert await view.workflows.list() == []
    return workflow


async def test_every_call_succeeds_once(emu: CanvasEmulator) -> None:
    register_secret(QUINYX_KEY)
    register_secret(FTP_PASSWORD)
    async with client_of(emu) as canvas:
        workflow = await _surface(canvas, emu)

    assert all(r.status is not None and r.status < 400 for r in emu.log), [
        (r.operation, r.path, r.status) for r in emu.log if r.status and r.status >= 400
    ]
    writes = collections.Counter(r.operation for r in emu.log if r.method == "POST")
    assert writes == {
        "create_account": 1,
        "create_reg_application": 2,
        "create_workflow": 1,
        "run_workflow": 2,
        "workflow_scheduler": 2,
    }
    assert [r.workflow_id for r in emu.state.runs] == [workflow.id, workflow.id]
    assert [a.email for a in emu.state.accounts.values()].count("ada@example.org") == 1
    clients_only = emu.dialect.accounts_path == "clients"
    paths = {r.path.rsplit("/", 1)[1] for r in emu.log if r.operation == "list_accounts"}
    assert paths == ({"Clients"} if clients_only else {"Accounts"})


async def test_the_catalogue_is_read_once_for_many_calls(emu: CanvasEmulator) -> None:
    async with client_of(emu) as canvas:
        at_once = await asyncio.gather(*(canvas.accounts.list() for _ in range(20)))
        await canvas.accounts.list()

    assert {len(listing) for listing in at_once} == {3}
    assert [r.operation for r in emu.log].count("get_metadata") == 1


async def test_token_mode_follows_the_catalogue_too() -> None:
    async with (
        started(CanvasEmulator(auth="token", dialect=Dialect.metadata())) as emu,
        client_of(emu, auth="token") as canvas,
    ):
        assert len(await canvas.accounts.list()) == 3
        assert (await canvas.meta.check()).ok


async def test_a_run_answered_with_a_500_after_it_started_is_not_repeated(
    emu: CanvasEmulator,
) -> None:
    emu.faults.add(ErrorStatus(500, after_effect=True), operations={"run_workflow"}, times=1)
    async with client_of(emu) as canvas:
        workflow = (await canvas.workflows.list())[0]
        with pytest.raises(OutcomeUnknownError):
            await workflow.run()

    assert len(emu.state.runs) == 1
