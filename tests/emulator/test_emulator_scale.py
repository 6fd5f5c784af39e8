"""The emulator's work per request does not grow with the number of accounts.

Counted, not timed: every Python call and builtin call made from the
emulator's own code (and from ``uuid``, whose ``__eq__`` a scan over ids
calls once per id) while it serves one account's requests. A scan over the
accounts or their records adds thousands of calls at 2,000 accounts; an
index adds none.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from types import FrameType
from typing import Any, Final

import aiohttp

import canvas_async.testing
from canvas_async.testing import CanvasEmulator
from canvas_async.testing._seed import provision_accounts
from tests.emulator.emulator_support import Api
from tests.support import started

_WATCHED: Final = (str(Path(canvas_async.testing.__file__).parent), str(uuid.__file__))
_CRON: Final = json.dumps({"cronSchedule": "0 0/5 * ? * * *"})


async def _one_account(api: Api, account: str, apps: dict[str, str], template: str) -> None:
    """Send one account's reads and writes, as provisioning does."""
    await api.ok("list_reg_applications", account=account)
    workflows = await api.ok("list_workflows", account=account)
    await api.ok("get_workflow", query={"id": workflows[0]["id"]}, account=account)
    regs = {}
    for name, credentials in (("QUIN", {"apikey": "k", "environment": "test"}),):
        body = {
            "applicationId": apps[name],
            "tagText": "t",
            "credentialsJson": json.dumps(credentials),
        }
        regs[name] = await api.ok("create_reg_application", body=body, account=account)
    regs["FTP"] = next(
        r["id"]
        for r in await api.ok("list_reg_applications", account=account)
        if r["shortName"] == "FTP"
    )
    workflow = await api.ok(
        "create_workflow",
        body={"workflowTemplateId": template, "applications": regs, "name": "Again"},
        account=account,
    )
    schedule = {"workflowId": workflow, "isScheduled": True, "scheduleFrequency": _CRON}
    await api.ok("workflow_scheduler", body=schedule, account=account)
    await api.ok("run_workflow", body={"workflowId": workflow}, account=account)
    person = {
        "firstName": "A",
        "lastName": "B",
        "email": f"{account}@example.org",
        "roleName": "User",
    }
    await api.ok("create_account", body=person, account=account)


async def _calls_for_one_account(session: aiohttp.ClientSession, accounts: int) -> int:
    """Count the emulator's calls while it serves one account of ``accounts``."""
    emulator = CanvasEmulator(seed="empty", synthetic_accounts=accounts, random_seed=3)
    async with started(emulator) as emu:
        provision_accounts(emu.state, list(emu.state.managed_ids))
        api = Api(session, emu)
        apps = {a["shortName"]: a["id"] for a in await api.ok("list_applications")}
        templates = await api.ok("list_workflow_templates")
        template = next(t["id"] for t in templates if t["applications"] == ["QUIN", "FTP"])
        account = str(emu.state.managed_ids[accounts // 2])
        await _one_account(api, str(emu.state.managed_ids[0]), apps, template)  # warm-up
        calls = 0

        def count(frame: FrameType, event: str, arg: Any) -> None:
            nonlocal calls
            if frame.f_code.co_filename.startswith(_WATCHED):
                calls += 1

        previous = sys.getprofile()
        sys.setprofile(count)
        try:
            await _one_account(api, account, apps, template)
        finally:
            sys.setprofile(previous)
        return calls


async def test_serving_an_account_costs_the_same_work_with_100_times_the_accounts(
    session: aiohttp.ClientSession,
) -> None:
    few = await _calls_for_one_account(session, 20)
    many = await _calls_for_one_account(session, 2_000)
    assert few > 100  # the count does see the emulator at work
    # The same requests, so about the same calls; one scan would add >= 2,000.
    assert many < few * 1.1 + 50, (few, many)


async def test_arranging_the_state_directly_keeps_its_indexes_in_step(api: Api) -> None:
    state = api.emu.state
    account = state.managed_ids[0]
    provision_accounts(state, [account])
    workflow = state.workflows_of(state.accounts[account])[0]
    del state.workflows[workflow.id]
    assert await api.ok("list_workflows", account=str(account)) == []
    state.workflows[workflow.id] = workflow
    assert [w["id"] for w in await api.ok("list_workflows", account=str(account))] == [
        str(workflow.id)
    ]
    # A plain dict assigned is indexed too (the field's converter takes any mapping).
    state.reg_applications = dict(state.reg_applications)  # type: ignore[assignment]
    assert len(await api.ok("list_reg_applications", account=str(account))) == 2
    state.managed_ids.remove(account)
    answer = await api.call("list_workflows", account=str(account))
    assert answer.status == 403
    state.managed_ids += [account]
    assert state.managed_ids[-1] == account
    assert (await api.call("list_workflows", account=str(account))).status == 200
