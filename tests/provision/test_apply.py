"""plan and apply against the emulator over HTTP: convergence, faults, drift, prune."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import pytest

from canvas_async import CallEvent, Canvas, Hooks, bulk, provision
from canvas_async.bulk import Progress
from canvas_async.provision import DesiredState, Status
from canvas_async.provision._plan import split_description
from canvas_async.schedule import Cron
from canvas_async.testing import CanvasEmulator, DropConnection, ErrorEnvelope, ErrorStatus
from tests.leak_check import register_secret
from tests.support import BUSY_TIMEOUT, client_of, started

TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"
ENV = {
    "QUINYX_KEY": register_secret("provision-quinyx-key"),
    "FTP_USER": "u",
    "FTP_PASSWORD": register_secret("provision-ftp-password"),
}
#: Requeue within the default attempts, with waits short enough for a test.
FAST = bulk.Requeue(backoff_initial=0.01, backoff_max=0.05)

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=12, random_seed=3)


def _document(account_ids: list[uuid.UUID], *, emails: int = 0) -> dict[str, Any]:
    accounts: list[dict[str, Any]] = []
    for n, account_id in enumerate(account_ids):
        account: dict[str, Any] = {"id": str(account_id)}
        if n % 4 == 1:
            account["workflows"] = {"Employee export": {"schedule": "0 0 6 ? * MON-FRI *"}}
        if n % 4 == 2:
            account["workflows"] = {"Employee export": {"schedule": False}}
        accounts.append(account)
    accounts.extend(
        {"email": f"new-{n}@example.org", "first_name": "New", "last_name": f"Client {n}"}
        for n in range(emails)
    )
    return {
        "defaults": {
            "applications": {
                "QUIN": {
                    "tag": "Quinyx 2024",
                    "credentials": {"apikey": "${QUINYX_KEY}", "environment": {"plain": "test"}},
                },
                "FTP": {
                    "tag": "FTP 2024",
                    "credentials": {
                        "username": "${FTP_USER}",
                        "password": "${FTP_PASSWORD}",
                        "address": {"plain": "ftp.example.org"},
                        "port": {"plain": "21"},
                    },
                },
            },
            "workflows": {
                "Employee export": {
                    "template": TEMPLATE,
                    "schedule": "0 0/15 * ? * * *",
                    "variables": {
                        "API - Get Employees": {"apiKeys": ["${QUINYX_KEY}"]},
                        "FTP Upload": {"filepath": "/exports"},
                    },
                }
            },
        },
        "accounts": accounts,
    }


def _state(emu: CanvasEmulator, count: int, *, emails: int = 0) -> DesiredState:
    ids = emu.state.managed_ids[:count]
    return provision.from_data(_document(ids, emails=emails), source="test.toml")


def assert_matches(emu: CanvasEmulator, state: DesiredState) -> None:
    """The emulator holds exactly what ``state`` declares: nothing missing, no duplicates."""
    accounts = {a.email.casefold(): a.id for a in emu.state.accounts.values()}
    for spec in state.accounts:
        account_id = spec.id or accounts[str(spec.email).casefold()]
        regs = [r for r in emu.state.reg_applications.values() if r.account_id == account_id]
        assert sorted((r.short_name, r.tag_text) for r in regs) == sorted(
            (a.application, a.tag) for a in spec.applications
        ), spec.label
        for reg in regs:
            app = next(a for a in spec.applications if a.application == reg.short_name)
            assert reg.credentials == provision.spec.resolve(app.credentials, ENV)
        flows = [w for w in emu.state.workflows.values() if w.account_id == account_id]
        assert sorted(w.name for w in flows) == sorted(w.name for w in spec.workflows), spec.label
        for flow in flows:
            wf_spec = next(w for w in spec.workflows if w.name == flow.name)
            template = next(t for t in emu.state.templates.values() if t.name == wf_spec.template)
            assert flow.workflow_template_id == template.id
            assert sorted(flow.reg_application_ids) == sorted(r.id for r in regs)
            assert split_description(flow.description)[1] is not None
            blocks = {b.block_name: b.variables for b in flow.chain}
            for block, values in (wf_spec.variables or {}).items():
                for name, value in provision.spec.resolve(values, ENV).items():
                    assert blocks[block][name] == value
            assert flow.is_scheduled == (wf_spec.schedule is not None), spec.label
            if wf_spec.schedule is not None:
                stored = json.loads(flow.scheduler_frequency or "{}")["cronSchedule"]
                assert str(Cron.parse(stored)) == wf_spec.schedule


def _writes(emu: CanvasEmulator) -> int:
    return sum(1 for r in emu.log if r.method != "GET" or "Delete" in r.path)


async def test_apply_converges_and_a_second_apply_changes_nothing(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 6, emails=2)

    made: list[provision.Change] = []
    first = await provision.apply(canvas, state, environ=ENV, on_change=made.append)

    assert first.ok, first.table()
    assert len(made) == first.summary()["changes"]
    assert {a.status for a in first.accounts} == {Status.DONE}
    assert first.summary()["changes"] == 6 * 4 - 1 + 2 * 5  # one is never scheduled
    assert_matches(emu, state)

    writes = _writes(emu)
    second = await provision.apply(canvas, state, environ=ENV)
    assert second.ok
    assert second.summary()["changes"] == 0
    assert _writes(emu) == writes

    again = await provision.plan(canvas, state)
    assert {a.status for a in again.accounts} == {Status.IN_SYNC}
    assert not again.pending


async def test_plan_writes_nothing_and_lists_every_change(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 3, emails=1)

    report = await provision.plan(canvas, state)

    assert _writes(emu) == 0
    assert [a.status for a in report.accounts] == [Status.CHANGES] * 4
    assert [str(c.change.action) for c in report.accounts[3].changes] == [
        "create-account",
        "register",
        "register",
        "create-workflow",
        "schedule",
    ]
    assert "+ create-account new-0@example.org" in report.plan_text()


async def test_two_hundred_accounts_with_ten_percent_faults_converge_in_one_run(
    emu: CanvasEmulator,
) -> None:
    async with started(CanvasEmulator(seed="empty", synthetic_accounts=200, random_seed=5)) as big:
        state = _state(big, 200)
        for fault in (
            ErrorStatus(500),
            ErrorStatus(500, after_effect=True),
            ErrorStatus(503, retry_after=None),
            DropConnection(after_effect=True),
            DropConnection(),
        ):
            big.faults.add(fault, fraction=0.02)
        async with client_of(big, timeout=BUSY_TIMEOUT) as c:
            first = await provision.apply(c, state, environ=ENV, requeue=FAST)
            assert first.ok, first.table()  # converged in one run
            assert any(r.faults for r in big.log)  # the faults did strike
            assert_matches(big, state)

            big.faults.clear()
            second = await provision.apply(c, state, environ=ENV)
            assert second.ok, second.table()
            assert second.summary()["changes"] == 0


async def test_an_unknown_create_is_resolved_by_reading_back(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 1)
    emu.faults.add(DropConnection(after_effect=True), operations={"create_workflow"}, times=1)
    emu.faults.add(
        ErrorStatus(500, after_effect=True), operations={"create_reg_application"}, times=1
    )

    report = await provision.apply(canvas, state, environ=ENV)

    assert report.ok, report.table()
    assert_matches(emu, state)


async def test_a_failed_create_that_read_back_shows_undone_is_sent_again(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 1)
    emu.faults.add(DropConnection(), operations={"create_workflow"}, times=1)

    report = await provision.apply(canvas, state, environ=ENV)

    assert report.ok, report.table()
    assert_matches(emu, state)
    assert [r.operation for r in emu.log].count("create_workflow") == 2


async def test_a_create_that_never_takes_effect_fails_when_the_budget_is_spent(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 1)
    emu.faults.add(DropConnection(), operations={"create_workflow"})

    report = await provision.apply(canvas, state, environ=ENV, requeue=bulk.Requeue(1))

    [account] = report.accounts
    assert account.status is Status.FAILED
    assert "did not take effect" in str(account.reason)
    statuses = [(str(c.change.action), str(c.status)) for c in account.changes]
    assert statuses == [
        ("register", "done"),
        ("register", "done"),
        ("create-workflow", "failed"),
        ("schedule", "skipped"),
    ]
    emu.faults.clear()
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    assert_matches(emu, state)


async def test_an_outcome_left_unknown_is_reported_as_such(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 0, emails=1)

    def break_after_prepare(progress: Progress) -> None:
        if progress.finished == 0 and not emu.faults.rules:
            # Accounts were listed already: only the read-back meets this.
            emu.faults.add(DropConnection(after_effect=True), operations={"create_account"})
            emu.faults.add(ErrorStatus(500), operations={"list_accounts"})

    report = await provision.apply(
        canvas, state, environ=ENV, on_progress=break_after_prepare, requeue=FAST
    )

    [account] = report.accounts
    assert account.status is Status.OUTCOME_UNKNOWN
    assert account.changes[0].status is Status.OUTCOME_UNKNOWN
    emu.faults.clear()
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    assert_matches(emu, state)
    assert len([a for a in emu.state.accounts.values() if a.email == "new-0@example.org"]) == 1


async def test_a_doubt_settled_by_the_next_attempt_counts_as_done(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 0, emails=1)

    def break_after_prepare(progress: Progress) -> None:
        if progress.finished == 0 and not emu.faults.rules:
            emu.faults.add(DropConnection(after_effect=True), operations={"create_account"})
            # Every read-back of the first attempt fails (3 reads of 3 tries each).
            emu.faults.add(ErrorStatus(500), operations={"list_accounts"}, times=9)

    made: list[provision.Change] = []
    report = await provision.apply(
        canvas,
        state,
        environ=ENV,
        on_progress=break_after_prepare,
        requeue=FAST,
        on_change=made.append,
    )

    [account] = report.accounts
    assert account.status is Status.DONE, report.table()
    assert account.attempts == 2
    # Told of each change the report counts as made, the settled doubt among them, once each.
    assert sorted(map(str, made)) == sorted(
        str(c.change) for c in account.changes if c.status is Status.DONE
    )
    assert len(made) == report.summary()["changes"]
    assert made[0].action == "create-account"
    assert (account.changes[0].change.action, account.changes[0].status) == (
        "create-account",
        Status.DONE,
    )
    assert len([a for a in emu.state.accounts.values() if a.email == "new-0@example.org"]) == 1
    assert_matches(emu, state)


async def test_changed_variables_need_replace(emu: CanvasEmulator, canvas: Canvas) -> None:
    state = _state(emu, 2)
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    document = _document(emu.state.managed_ids[:2])
    document["defaults"]["workflows"]["Employee export"]["variables"]["FTP Upload"] = {
        "filepath": "/elsewhere"
    }
    changed = provision.from_data(document)

    plan = await provision.plan(canvas, changed)
    assert {a.status for a in plan.accounts} == {Status.DRIFT}
    assert plan.accounts[0].drift[0].reasons == ("variables differ",)

    kept = await provision.apply(canvas, changed, environ=ENV)
    assert {a.status for a in kept.accounts} == {Status.FAILED}
    assert "--replace" in str(kept.accounts[0].reason)

    replaced = await provision.apply(canvas, changed, replace=True, environ=ENV)
    assert replaced.ok, replaced.table()
    assert_matches(emu, changed)
    assert (await provision.plan(canvas, changed)).pending is False


async def _made_by_hand(canvas: Canvas, account_id: uuid.UUID) -> uuid.UUID:
    """Register both applications and create "Employee export" as a person would: own
    variables, own description, no fingerprint, scheduled hourly."""
    view = canvas.for_account(account_id)
    quin = await view.reg_applications.create(
        "QUIN",
        tag_text="Quinyx 2024",
        credentials={"apikey": ENV["QUINYX_KEY"], "environment": "test"},
    )
    ftp = await view.reg_applications.create(
        "FTP",
        tag_text="FTP 2024",
        credentials={
            "username": ENV["FTP_USER"],
            "password": ENV["FTP_PASSWORD"],
            "address": "ftp.example.org",
            "port": "21",
        },
    )
    workflow = await view.workflows.create(
        TEMPLATE,
        name="Employee export",
        applications={"QUIN": quin, "FTP": ftp},
        variables={"FTP Upload": {"filepath": "/by-hand"}},
        description="made in the UI",
    )
    await workflow.schedule("0 0 * ? * * *")
    return workflow.id


def _adopting(account_id: uuid.UUID, **workflow: Any) -> DesiredState:
    document = _document([account_id])
    declared = document["defaults"]["workflows"]["Employee export"]
    declared.update({"variables": "as-found", "description": "made in the UI", **workflow})
    return provision.from_data(document)


def _filepath(emu: CanvasEmulator, workflow_id: uuid.UUID) -> object:
    chain = emu.state.workflows[workflow_id].chain
    return next(b.variables["filepath"] for b in chain if b.block_name == "FTP Upload")


async def test_apply_takes_a_workflow_made_by_hand_as_found(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    account_id = emu.state.managed_ids[0]
    by_hand = await _made_by_hand(canvas, account_id)
    adopting = _adopting(account_id)

    planned = await provision.plan(canvas, adopting)
    [change] = planned.accounts[0].changes
    assert (change.change.action, change.change.workflow_id) == ("schedule", by_hand)
    assert planned.accounts[0].drift == ()

    applied = await provision.apply(canvas, adopting, replace=True, environ=ENV)
    assert applied.ok, applied.table()
    assert list(emu.state.workflows) == [by_hand]  # the same workflow, not recreated
    assert _filepath(emu, by_hand) == "/by-hand"  # its variables as they were
    assert emu.state.workflows[by_hand].is_scheduled
    assert (await provision.plan(canvas, adopting)).accounts[0].status is Status.IN_SYNC


async def test_apply_leaves_an_adopted_workflow_that_drifted_even_with_replace(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    account_id = emu.state.managed_ids[0]
    by_hand = await _made_by_hand(canvas, account_id)
    renamed = _adopting(account_id, description="a new description")

    applied = await provision.apply(canvas, renamed, replace=True, environ=ENV)

    [account] = applied.accounts
    assert account.status is Status.FAILED
    assert account.unfixable
    assert account.drift[0].reasons == (
        "description differs",
        'variables are "as-found": declare them to let --replace recreate it',
    )
    assert list(emu.state.workflows) == [by_hand]
    assert _filepath(emu, by_hand) == "/by-hand"


async def test_declared_variables_replace_an_adopted_workflow_with_replace(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    account_id = emu.state.managed_ids[0]
    by_hand = await _made_by_hand(canvas, account_id)
    declared = _state(emu, 1)  # the same workflow, its variables declared

    kept = await provision.apply(canvas, declared, environ=ENV)
    assert kept.accounts[0].status is Status.FAILED
    assert list(emu.state.workflows) == [by_hand]

    replaced = await provision.apply(canvas, declared, replace=True, environ=ENV)
    assert replaced.ok, replaced.table()
    [new_id] = emu.state.workflows
    assert new_id != by_hand
    assert _filepath(emu, new_id) == "/exports"
    assert_matches(emu, declared)


async def test_a_missing_adopted_workflow_is_created_from_its_template(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    account_id = emu.state.managed_ids[0]
    adopting = _adopting(account_id, description=None)

    applied = await provision.apply(canvas, adopting, environ=ENV)

    assert applied.ok, applied.table()
    [workflow] = emu.state.workflows.values()
    assert _filepath(emu, workflow.id) == "/"  # the template's own value
    assert workflow.is_scheduled
    assert (await provision.plan(canvas, adopting)).accounts[0].status is Status.IN_SYNC


async def test_prune_deletes_what_the_file_no_longer_declares(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 1)
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    document = _document(emu.state.managed_ids[:1])
    document["defaults"]["workflows"] = {}
    smaller = provision.from_data(document)

    kept = await provision.apply(canvas, smaller, environ=ENV)
    assert kept.ok
    assert "--prune deletes it" in kept.accounts[0].notes[0]
    assert len(emu.state.workflows) == 1

    pruned = await provision.apply(canvas, smaller, prune=True, environ=ENV)
    assert pruned.ok
    assert emu.state.workflows == {}


async def test_the_organization_is_read_in_one_round_trip(emu: CanvasEmulator) -> None:
    """Applications, templates and accounts are all requested before any is answered."""
    reads = {"Applications", "WorkflowTemplates", "Accounts"}
    requested: set[str] = set()
    all_requested = asyncio.Event()
    met: list[bool] = []

    async def on_request(event: CallEvent) -> None:
        if event.operation not in reads:
            return
        requested.add(event.operation)
        if requested == reads:
            all_requested.set()
        # Reads sent one after another never all meet here: each waits, then gives up.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await all_requested.wait()
        met.append(all_requested.is_set())

    async with client_of(emu, catalogue=False, hooks=Hooks(on_request=on_request)) as canvas:
        report = await provision.apply(canvas, _state(emu, 2), environ=ENV)

    assert report.ok, report.table()
    assert met == [True, True, True]


async def test_missing_environment_is_refused_before_anything_is_sent(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    with pytest.raises(provision.MissingEnvironmentError) as info:
        await provision.apply(canvas, _state(emu, 2), environ={"FTP_USER": "u"})

    assert info.value.names == ["FTP_PASSWORD", "QUINYX_KEY"]
    assert emu.log == []


async def test_a_file_that_does_not_fit_the_catalogue_writes_nothing(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    document = _document(emu.state.managed_ids[:2])
    document["defaults"]["workflows"]["Employee export"]["template"] = "No such template"

    with pytest.raises(provision.DesiredStateError, match="unknown template"):
        await provision.apply(canvas, provision.from_data(document), environ=ENV)

    assert _writes(emu) == 0


async def test_an_unknown_account_fails_alone(emu: CanvasEmulator, canvas: Canvas) -> None:
    ids = [*emu.state.managed_ids[:1], uuid.UUID(int=99)]
    state = provision.from_data(_document(ids))

    report = await provision.apply(canvas, state, environ=ENV)

    assert [a.status for a in report.accounts] == [Status.DONE, Status.FAILED]
    assert "not among the organization's" in str(report.accounts[1].reason)


async def test_fail_fast_stops_the_other_accounts(emu: CanvasEmulator, canvas: Canvas) -> None:
    emu.faults.add(ErrorEnvelope(400, "refused"), operations={"create_reg_application"}, times=1)

    report = await provision.apply(
        canvas, _state(emu, 10), fail_fast=True, concurrency=1, environ=ENV
    )

    assert [a.status for a in report.accounts] == [Status.FAILED] + [Status.SKIPPED] * 9
    assert report.accounts[0].step is not None
    assert report.accounts[0].changes[0].error is not None


async def test_reports_never_hold_credential_values(emu: CanvasEmulator, canvas: Canvas) -> None:
    secret_env = {**ENV, "QUINYX_KEY": "s3cr3t-quinyx-value"}
    emu.faults.add(ErrorStatus(400), operations={"create_workflow"}, times=1)

    report = await provision.apply(canvas, _state(emu, 2), environ=secret_env)

    text = json.dumps(report.to_json()) + report.table() + report.plan_text() + repr(report)
    assert "s3cr3t" not in text
