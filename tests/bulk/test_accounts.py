"""for_each_account and the idempotent helpers against the emulator over HTTP."""

from __future__ import annotations

import uuid

import pytest

from canvas_async import AccountView, Canvas, ValidationError, bulk, provision
from canvas_async.bulk import Status
from canvas_async.testing import CanvasEmulator, DropConnection, ErrorStatus
from tests.leak_check import register_secret

TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"
QUIN_CREDENTIALS = {"apikey": register_secret("bulk-quinyx-key"), "environment": "test"}
FTP_CREDENTIALS = {
    "username": "u",
    "password": register_secret("bulk-ftp-password"),
    "port": "21",
    "address": "ftp.example.org",
}

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=8, random_seed=2)


async def _setup(view: AccountView) -> tuple[uuid.UUID, bool]:
    quin, _ = await bulk.ensure_registered(view, "QUIN", tag_text="Q", credentials=QUIN_CREDENTIALS)
    ftp, _ = await bulk.ensure_registered(view, "FTP", tag_text="F", credentials=FTP_CREDENTIALS)
    workflow, created = await bulk.ensure_workflow(
        view,
        name="Export",
        template=TEMPLATE,
        applications={"QUIN": quin, "FTP": ftp},
        variables={"FTP Upload": {"filepath": "/x"}},
    )
    workflow, _ = await bulk.ensure_schedule(workflow, "0 0/5 * ? * *")
    return workflow.id, created


async def test_each_account_gets_its_own_result(emu: CanvasEmulator, canvas: Canvas) -> None:
    accounts = await canvas.accounts.list()
    seen: list[bulk.Progress] = []

    report = await bulk.for_each_account(canvas, accounts, _setup, on_progress=seen.append)

    assert report.ok
    assert [r.key for r in report] == [a.id for a in accounts]
    assert all(created for _, created in report.values().values())
    assert seen[-1].done == len(accounts)
    for result in report:
        assert emu.state.workflows[result.unwrap()[0]].account_id == result.key


async def test_running_again_creates_nothing(emu: CanvasEmulator, canvas: Canvas) -> None:
    ids = emu.state.managed_ids[:3]
    await bulk.for_each_account(canvas, ids, _setup)
    counts = (len(emu.state.reg_applications), len(emu.state.workflows))
    schedules_before = sum(1 for r in emu.log if r.path.endswith("/WorkflowScheduler"))

    again = await bulk.for_each_account(canvas, ids, _setup)

    assert again.ok
    assert not any(created for _, created in again.values().values())
    assert (len(emu.state.reg_applications), len(emu.state.workflows)) == counts
    assert sum(1 for r in emu.log if r.path.endswith("/WorkflowScheduler")) == schedules_before


async def test_a_failing_account_does_not_stop_the_others(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    emu.faults.add(ErrorStatus(400), operations={"create_workflow"}, times=1)

    report = await bulk.for_each_account(canvas, emu.state.managed_ids[:4], _setup, concurrency=1)

    assert [r.status for r in report] == [Status.FAILED] + [Status.DONE] * 3
    failed = report.results[0]
    assert failed.operation == "Workflow (POST)"
    assert failed.step == "create workflow 'Export'"


async def test_an_unknown_registration_is_found_by_reading_back(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    view = canvas.for_account(emu.state.managed_ids[0])
    emu.faults.add(
        DropConnection(after_effect=True), operations={"create_reg_application"}, times=1
    )

    reg, created = await bulk.ensure_registered(
        view, "QUIN", tag_text="Q", credentials=QUIN_CREDENTIALS
    )

    assert created
    assert emu.state.reg_applications[reg].tag_text == "Q"
    assert len(emu.state.reg_applications) == 1


async def test_a_create_that_never_happened_is_sent_again(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    view = canvas.for_account(emu.state.managed_ids[0])
    emu.faults.add(DropConnection(), operations={"create_reg_application"}, times=1)

    reg, created = await bulk.ensure_registered(
        view, "QUIN", tag_text="Q", credentials=QUIN_CREDENTIALS
    )

    assert created
    assert [r.id for r in emu.state.reg_applications.values()] == [reg]


async def test_a_create_that_never_happens_says_so(emu: CanvasEmulator, canvas: Canvas) -> None:
    view = canvas.for_account(emu.state.managed_ids[0])
    emu.faults.add(DropConnection(), operations={"create_reg_application"})

    with pytest.raises(bulk.WriteNotDoneError, match="did not take effect") as info:
        await bulk.ensure_registered(view, "QUIN", tag_text="Q", credentials=QUIN_CREDENTIALS)

    assert info.value.operation == "RegApplication"
    assert emu.state.reg_applications == {}
    sent = [r.operation for r in emu.log].count("create_reg_application")
    assert sent == bulk.DEFAULT_WRITE_ATTEMPTS


async def test_accounts_are_checked_before_anything_runs(canvas: Canvas) -> None:
    async def never(view: AccountView) -> None:
        raise AssertionError("ran")

    with pytest.raises(ValidationError, match=r"account id must be a GUID, got 'nope'"):
        await bulk.for_each_account(canvas, ["nope"], never)


def _declaring(account: uuid.UUID, **tags: str) -> provision.DesiredState:
    """A file registering QUIN (and FTP) for ``account`` with these tags."""
    credentials: dict[str, dict[str, object]] = {
        "QUIN": {"apikey": "${QUIN_KEY}", "environment": {"plain": "test"}},
        "FTP": {
            "username": {"plain": "u"},
            "password": "${FTP_PASSWORD}",
            "port": {"plain": "21"},
            "address": {"plain": "ftp.example.org"},
        },
    }
    applications = {app: {"tag": tag, "credentials": credentials[app]} for app, tag in tags.items()}
    return provision.from_data({"accounts": [{"id": str(account), "applications": applications}]})


ENVIRON = {"QUIN_KEY": QUIN_CREDENTIALS["apikey"], "FTP_PASSWORD": FTP_CREDENTIALS["password"]}


async def test_the_helpers_and_apply_match_registrations_by_one_rule(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    account = emu.state.managed_ids[0]
    await bulk.for_each_account(canvas, [account], _setup)
    registrations = dict(emu.state.reg_applications)
    state = _declaring(account, QUIN="Q", FTP="F")

    plan = await provision.plan(canvas, state)
    report = await provision.apply(canvas, state, environ=ENVIRON)

    assert plan.accounts[0].status is Status.IN_SYNC
    assert plan.accounts[0].changes == ()
    assert report.accounts[0].status is Status.DONE
    assert emu.state.reg_applications == registrations  # nothing registered twice


async def test_apply_marks_undone_changes_with_the_runs_own_status(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    account = emu.state.managed_ids[0]
    emu.faults.add(ErrorStatus(400), operations={"create_reg_application"}, times=1)

    report = await provision.apply(canvas, _declaring(account, QUIN="A", FTP="B"), environ=ENVIRON)

    [result] = report.accounts
    assert result.status is Status.FAILED
    assert [c.status for c in result.changes] == [Status.FAILED, Status.SKIPPED]
    assert report.to_json()["accounts"][0]["changes"][1]["status"] == "skipped"
    assert emu.state.reg_applications == {}


async def test_a_template_is_named_by_one_rule_for_the_client_and_a_file(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    view = canvas.for_account(emu.state.managed_ids[0])
    templates = await view.templates.list()
    catalog = provision.Catalogue.of([], templates)
    wanted = next(t for t in templates if t.name == TEMPLATE)

    for ref in (TEMPLATE, f"  {TEMPLATE} ", str(wanted.id)):
        assert catalog.template(ref) == await view.templates.get(ref) == wanted
    assert catalog.template("no such template") is None
