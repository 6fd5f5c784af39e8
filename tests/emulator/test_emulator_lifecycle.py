"""CanvasEmulator itself: options, lifecycle, seeds, synthetic accounts, clocks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from canvas_async.testing import CanvasEmulator, ManualClock
from canvas_async.testing._time import net_timestamp, offset_timestamp, token_timestamp
from tests.emulator.emulator_support import PAYLOADS, QUINYX_APP, QUINYX_TEMPLATE, Api
from tests.support import started


async def test_start_and_close() -> None:
    emu = CanvasEmulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.url
    await emu.start()
    try:
        assert emu.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError, match="already running"):
            await emu.start()
    finally:
        await emu.close()
    await emu.close()
    assert "not running" in repr(emu)


async def test_two_emulators_do_not_share_anything(session: aiohttp.ClientSession) -> None:
    async with started(CanvasEmulator()) as one, started(CanvasEmulator()) as two:
        assert one.url != two.url
        await Api(session, one).ok("delete_workflow", query={"id": PAYLOADS["Workflow"]["id"]})
        assert await Api(session, two).ok("get_workflow", query={"id": PAYLOADS["Workflow"]["id"]})
        assert (
            await Api(session, two).call("list_workflows", headers=Api(session, one).keys)
        ).status == 401


async def test_an_emulator_left_running_warns() -> None:
    emu = CanvasEmulator()
    await emu.start()
    runner = emu._runner
    assert runner is not None
    held = [emu]
    del emu
    with pytest.warns(ResourceWarning, match="unclosed <CanvasEmulator auth='keys' http://"):
        held.clear()
    await runner.cleanup()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auth": "oauth"}, "auth must be 'keys' or 'token'"),
        ({"seed": "lots"}, "seed must be 'samples' or 'empty'"),
        ({"synthetic_accounts": -1}, "must not be negative"),
        ({"access_token_lifetime": timedelta(0)}, "access_token_lifetime must be positive"),
        ({"refresh_token_lifetime": -1}, "refresh_token_lifetime must be positive"),
        ({"access_token_lifetime": float("nan")}, "a timedelta or a number of seconds"),
        ({"access_token_lifetime": True}, "a timedelta or a number of seconds"),
        ({"log_limit": -1}, "log_limit must not be negative"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CanvasEmulator(**options)


async def test_the_empty_seed_keeps_only_the_catalog(session: aiohttp.ClientSession) -> None:
    async with started(CanvasEmulator(seed="empty")) as emu:
        api = Api(session, emu)
        assert await api.ok("list_accounts") == []
        assert await api.ok("list_workflows") == []
        assert await api.ok("list_reg_applications") == []
        assert len(await api.ok("list_applications")) == 8
        assert await api.ok("list_workflow_templates") == PAYLOADS["WorkflowTemplates"]


def test_synthetic_accounts_are_repeatable_under_a_seed() -> None:
    def accounts(random_seed: int) -> list[Any]:
        emu = CanvasEmulator(seed="empty", synthetic_accounts=50, random_seed=random_seed)
        return [emu.state.accounts[account_id] for account_id in emu.state.managed_ids]

    first, again, other = accounts(1), accounts(1), accounts(2)
    assert first == again
    assert [a.id for a in first] != [a.id for a in other]
    assert len({a.email for a in first}) == 50
    assert {a.role for a in first} == {"User", "SuperPartner"}
    assert all(a.id.version == 4 for a in first)


async def test_a_synthetic_account_can_register_and_create(session: aiohttp.ClientSession) -> None:
    async with started(CanvasEmulator(synthetic_accounts=200)) as emu:
        api = Api(session, emu)
        assert len(await api.ok("list_accounts")) == 3 + 200
        account = str(emu.state.managed_ids[-1])
        quin = await api.ok(
            "create_reg_application",
            account=account,
            body={
                "applicationId": QUINYX_APP,
                "credentialsJson": '{"apikey":"k","environment":"test"}',
            },
        )
        ftp = await api.ok(
            "create_reg_application",
            account=account,
            body={
                "applicationId": "5f814909-01ea-4395-96ee-5ba7614128fc",
                "credentialsJson": '{"username":"u","password":"p","port":"21","address":"h"}',
            },
        )
        body = {"workflowTemplateId": QUINYX_TEMPLATE, "applications": {"QUIN": quin, "FTP": ftp}}
        workflow_id = await api.ok("create_workflow", account=account, body=body)
        assert await api.ok("run_workflow", account=account, body={"workflowId": workflow_id})
        assert [str(run.account_id) for run in emu.state.runs] == [account]


def test_the_manual_clock() -> None:
    start = datetime(2022, 4, 27, 10, 18, 55, tzinfo=UTC)
    clock = ManualClock(start)
    clock.advance(1.5)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == start + timedelta(seconds=61.5)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2022, 1, 1))
    clock.set(start)
    assert clock.now() == start


@pytest.mark.parametrize(
    ("moment", "net", "offset", "token"),
    [
        (
            datetime(2022, 4, 12, 10, 36, 57, 877000, tzinfo=UTC),
            "2022-04-12T10:36:57.8770000",
            "2022-04-12T10:36:57.877+00:00",
            "2022-04-12T10:36:57.8770000+00:00",
        ),
        (
            datetime(2022, 5, 3, 2, 0, tzinfo=UTC),
            "2022-05-03T02:00:00.0000000",
            "2022-05-03T02:00:00+00:00",
            "2022-05-03T02:00:00.0000000+00:00",
        ),
        (
            datetime(2021, 9, 15, 16, 59, 2, 950123, tzinfo=UTC) + timedelta(hours=-2),
            "2021-09-15T14:59:02.9501230",
            "2021-09-15T14:59:02.95+00:00",
            "2021-09-15T14:59:02.9501230+00:00",
        ),
    ],
)
def test_timestamp_forms(moment: datetime, net: str, offset: str, token: str) -> None:
    assert (net_timestamp(moment), offset_timestamp(moment), token_timestamp(moment)) == (
        net,
        offset,
        token,
    )


def test_state_repr_hides_registered_credentials() -> None:
    emu = CanvasEmulator()
    reg = next(iter(emu.state.reg_applications.values()))
    reg.credentials["password"] = "hunter2"
    assert "hunter2" not in repr(emu.state)
    assert str(uuid.UUID(str(reg.id))) in repr(emu.state)


async def test_the_log_can_be_bounded(session: aiohttp.ClientSession) -> None:
    async with started(CanvasEmulator(log_limit=2)) as emu:
        api = Api(session, emu)
        for key in ("get_metadata", "list_accounts", "list_workflows"):
            await api.ok(key)
        assert [record.operation for record in emu.log] == ["list_accounts", "list_workflows"]
