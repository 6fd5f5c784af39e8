"""Many accounts at once through ``for_account`` views of one client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import pytest
from aiohttp import web

from canvas_async import Application, Canvas, Workflow, WorkflowTemplate
from canvas_async.testing import CanvasEmulator
from tests.support import serve

ACCOUNTS = 200
EXPORT_TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"


def cron_of(index: int) -> str:
    """A schedule unique to each account: its own minute and hour."""
    return f"0 {index % 60} {index // 60} ? * * *"


async def provision(
    canvas: Canvas,
    account_id: uuid.UUID,
    index: int,
    *,
    quinyx: Application,
    ftp: Application,
    template: WorkflowTemplate,
    secret: Callable[[str], str],
) -> Workflow:
    acct = canvas.for_account(account_id)
    regs = await asyncio.gather(
        acct.reg_applications.create(
            quinyx,
            tag_text=f"Quinyx {index}",
            credentials={"apikey": secret(f"quinyx-key-{account_id}"), "environment": "live"},
        ),
        acct.reg_applications.create(
            ftp,
            tag_text=f"FTP {index}",
            credentials={
                "username": f"user{index}",
                "password": secret(f"ftp-password-{account_id}"),
                "port": 21,
                "address": "ftp.example.com",
            },
        ),
    )
    wf = await acct.workflows.create(
        template,
        name=f"Export {index}",
        applications={"QUIN": regs[0], "FTP": regs[1]},
        variables={"FTP Upload": {"filepath": f"/out/{index}"}},
    )
    await wf.run(till_block=index % 2 + 1)
    return await wf.schedule(cron_of(index))


@pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=ACCOUNTS)
@pytest.mark.canvas_client(timeout=30)
async def test_two_hundred_accounts_at_once(
    emu: CanvasEmulator, canvas: Canvas, secret: Callable[[str], str]
) -> None:
    """Every side effect lands on the account whose view made it."""
    ids = emu.state.managed_ids[:ACCOUNTS]
    assert len(ids) == ACCOUNTS
    quinyx = await canvas.applications.get("QUIN")
    ftp = await canvas.applications.get("FTP")
    template = await canvas.templates.get(EXPORT_TEMPLATE)

    workflows = await asyncio.gather(
        *(
            provision(canvas, account, i, quinyx=quinyx, ftp=ftp, template=template, secret=secret)
            for i, account in enumerate(ids)
        )
    )
    # Models act through the view they were loaded with, interleaved.
    listed = await asyncio.gather(*(wf.refresh() for wf in reversed(workflows)))

    state = emu.state
    assert listed == list(reversed(workflows))
    for index, (account, wf) in enumerate(zip(ids, workflows, strict=True)):
        assert wf.account_id == account
        record = state.workflows[wf.id]
        assert (record.account_id, record.name) == (account, f"Export {index}")
        assert record.is_scheduled
        assert json.loads(record.scheduler_frequency or "")["cronSchedule"] == cron_of(index)
        assert record.chain[1].variables["filepath"] == f"/out/{index}"
        regs = [state.reg_applications[r] for r in record.reg_application_ids]
        assert {r.account_id for r in regs} == {account}
        assert {r.tag_text for r in regs} == {f"Quinyx {index}", f"FTP {index}"}
        creds = {r.short_name: r.credentials for r in regs}
        assert creds["QUIN"]["apikey"] == f"quinyx-key-{account}"
        assert creds["FTP"]["username"] == f"user{index}"
    runs = {run.workflow_id: run for run in state.runs}
    assert len(runs) == ACCOUNTS
    for index, (account, wf) in enumerate(zip(ids, workflows, strict=True)):
        assert runs[wf.id].account_id == account
        assert runs[wf.id].run_till_block == index % 2 + 1
    sent_headers = {r.account_header for r in state.requests if r.operation == "run_workflow"}
    assert sent_headers == {str(a) for a in ids}


async def test_concurrency_is_bounded(secret: Callable[[str], str]) -> None:
    """No more than ``max_concurrency`` requests are in flight at once."""
    in_flight = peak = 0
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return web.json_response(True)

    app = web.Application()
    app.router.add_get("/api/Authenticate", slow)
    async with (
        serve(app) as url,
        Canvas(
            consumer="c" * 8, secret_key=secret("s3cret-key-9"), env=str(url), max_concurrency=3
        ) as canvas,
    ):
        calls = [asyncio.create_task(canvas.authenticate()) for _ in range(10)]
        for _ in range(50):
            await asyncio.sleep(0.01)
            if in_flight == 3:
                break
        release.set()
        assert all(await asyncio.gather(*calls))

    assert peak == 3
