"""Duplicates against the emulator: plan counts them, apply deletes its own, a run checks itself.

Duplicates are seeded straight into the emulator's state, as a second writer
(another apply, a resumed worker) would have left them; "behind apply's back"
means from a client hook while the run goes, after apply's own writes and
before it reads the account again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from canvas_async import CallEvent, Canvas, Hooks, provision
from canvas_async.provision import Action, Status
from canvas_async.provision._plan import split_description
from canvas_async.testing import CanvasEmulator
from canvas_async.testing._records import RegApplicationRecord, WorkflowRecord
from tests.provision.test_apply import ENV, _state, _writes, assert_matches
from tests.support import client_of

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=12, random_seed=3)

OLD = "2000-01-01T00:00:00.0000000"
NEW = "2999-01-01T00:00:00.0000000"


def _workflows(emu: CanvasEmulator, account_id: uuid.UUID) -> list[WorkflowRecord]:
    return [w for w in emu.state.workflows.values() if w.account_id == account_id]


def _copy_workflow(emu: CanvasEmulator, workflow: WorkflowRecord, **changes: Any) -> uuid.UUID:
    """Store a copy of ``workflow`` under a new id, as another writer would have made it."""
    copy = attrs.evolve(workflow, id=uuid.uuid4(), **changes)
    emu.state.workflows[copy.id] = copy
    return copy.id


def _copy_registration(emu: CanvasEmulator, account_id: uuid.UUID, short: str) -> uuid.UUID:
    [reg] = [
        r
        for r in emu.state.reg_applications.values()
        if r.account_id == account_id and r.short_name == short
    ]
    copy: RegApplicationRecord = attrs.evolve(reg, id=uuid.uuid4())
    emu.state.reg_applications[copy.id] = copy
    return copy.id


async def test_plan_counts_duplicate_workflows_and_apply_deletes_its_own_keeping_the_scheduled(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 2)
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    account = emu.state.managed_ids[0]
    [original] = _workflows(emu, account)
    cron = original.scheduler_frequency
    # Older but unscheduled, and newer: both lose to the one scheduled as declared.
    older = _copy_workflow(emu, original, date_created=OLD, is_scheduled=False)
    newer = _copy_workflow(emu, original, date_created=NEW)
    by_hand = _copy_workflow(emu, original, description="made in the UI", date_created=OLD)

    plan = await provision.plan(canvas, state)

    assert [a.status for a in plan.accounts] == [Status.CHANGES, Status.IN_SYNC]
    [account_plan, _] = plan.accounts
    assert {(c.change.action, c.change.workflow_id) for c in account_plan.changes} == {
        (Action.DELETE_DUPLICATE, older),
        (Action.DELETE_DUPLICATE, newer),
    }
    assert plan.summary()["destroy"] == 2
    assert plan.summary()["duplicate_workflows"] == 2
    assert plan.pending
    assert f"- delete-duplicate Employee export (duplicate of {original.id})" in plan.plan_text()
    assert f"({by_hand}) was not created here; left alone" in plan.plan_text()

    applied = await provision.apply(canvas, state, environ=ENV)

    assert applied.ok, applied.table()
    assert applied.summary()["destroy"] == 2
    assert applied.accounts[0].duplicates == ()  # none left after the check
    assert {w.id for w in _workflows(emu, account)} == {original.id, by_hand}
    kept = emu.state.workflows[original.id]
    assert kept.is_scheduled
    assert kept.scheduler_frequency == cron

    writes = _writes(emu)
    again = await provision.apply(canvas, state, environ=ENV)
    assert again.ok
    assert again.summary()["changes"] == 0
    assert _writes(emu) == writes


async def test_a_duplicate_registration_fails_apply_for_good_and_is_named(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 2)
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    account = emu.state.managed_ids[1]
    duplicate = _copy_registration(emu, account, "QUIN")

    plan = await provision.plan(canvas, state)

    assert [a.status for a in plan.accounts] == [Status.IN_SYNC, Status.DRIFT]
    assert plan.pending
    assert plan.unfixable == 1
    assert plan.summary()["duplicate_registrations"] == 1
    assert "! duplicate 2 registrations of QUIN tagged 'Quinyx 2024'" in plan.plan_text()

    writes = _writes(emu)
    applied = await provision.apply(canvas, state, environ=ENV)

    assert not applied.ok
    assert applied.unfixable == 1
    assert _writes(emu) == writes  # nothing apply could do
    [done, failed] = applied.accounts
    assert done.status is Status.DONE
    assert (failed.status, failed.unfixable) == (Status.FAILED, True)
    assert str(duplicate) in str(failed.reason)
    assert "remove the extra ones in Canvas, then run apply again" in str(failed.reason)
    data = applied.to_json()
    [listed] = data["accounts"][1]["duplicates"]
    assert (listed["kind"], listed["target"], listed["extra"]) == (
        "registration",
        "QUIN",
        [str(duplicate)],
    )
    assert data["summary"]["unfixable"] == 1
    assert "1 duplicate registration" in applied.summary_line()


def _after_scheduling(emu: CanvasEmulator, account: uuid.UUID, act: Callable[[], object]) -> Hooks:
    """Hooks that call ``act`` once, when ``account``'s schedule (apply's last write) is set."""
    acted: list[bool] = []

    async def on_response(event: CallEvent) -> None:
        scheduled = event.call.operation == "WorkflowScheduler"
        if scheduled and event.call.account_id == account and not acted:
            acted.append(True)
            act()

    return Hooks(on_response=on_response)


async def test_verify_removes_a_duplicate_workflow_made_during_the_run(
    emu: CanvasEmulator,
) -> None:
    state = _state(emu, 2)
    account = emu.state.managed_ids[0]
    made: list[uuid.UUID] = []
    own: list[uuid.UUID] = []

    def another_writer() -> None:
        [mine] = _workflows(emu, account)
        own.append(mine.id)
        made.append(_copy_workflow(emu, mine, date_created=NEW, is_scheduled=False))

    async with client_of(emu, hooks=_after_scheduling(emu, account, another_writer)) as canvas:
        report = await provision.apply(canvas, state, environ=ENV)

    assert made, "the other writer never ran"
    assert report.ok, report.table()
    [first, _] = report.accounts
    deletions = [c for c in first.changes if c.change.action is Action.DELETE_DUPLICATE]
    assert [(c.change.workflow_id, c.status) for c in deletions] == [(made[0], Status.DONE)]
    assert [w.id for w in _workflows(emu, account)] == own  # apply's own workflow is kept
    assert_matches(emu, state)
    deleted = [r for r in emu.log if r.operation == "delete_workflow"]
    assert len(deleted) == 1


async def test_verify_fails_an_account_whose_duplicates_keep_coming_back(
    emu: CanvasEmulator,
) -> None:
    state = _state(emu, 1)
    account = emu.state.managed_ids[0]

    async def on_response(event: CallEvent) -> None:
        # Another writer that recreates what apply deletes, and makes one to start with.
        if event.call.account_id == account and event.call.operation in (
            "WorkflowScheduler",
            "DeleteWorkflow",
        ):
            [mine] = [w for w in _workflows(emu, account) if w.date_created != NEW]
            _copy_workflow(emu, mine, date_created=NEW, is_scheduled=False)

    async with client_of(emu, hooks=Hooks(on_response=on_response)) as canvas:
        report = await provision.apply(canvas, state, environ=ENV)

    assert not report.ok
    [failed] = report.accounts
    assert failed.status is Status.FAILED
    assert str(failed.reason).startswith("not converged after apply: still to do delete-duplicate")
    assert not failed.unfixable  # another run may well converge it
    assert report.unfixable == 0
    assert [d.kind for d in failed.duplicates] == ["workflow"]
    # One pass, one check, one more pass (a delete), one more check: then it stops.
    assert len([r for r in emu.log if r.operation == "delete_workflow"]) == 1
    assert len([r for r in emu.log if r.operation == "list_workflows"]) == 3


async def test_verify_catches_a_duplicate_registration_made_during_the_run(
    emu: CanvasEmulator,
) -> None:
    state = _state(emu, 2)
    account = emu.state.managed_ids[1]
    made: list[uuid.UUID] = []

    def another_writer() -> None:
        made.append(_copy_registration(emu, account, "FTP"))

    async with client_of(emu, hooks=_after_scheduling(emu, account, another_writer)) as canvas:
        report = await provision.apply(canvas, state, environ=ENV)

    assert made, "the other writer never ran"
    assert not report.ok
    [done, failed] = report.accounts
    assert done.status is Status.DONE
    assert failed.status is Status.FAILED
    assert str(failed.reason).startswith("duplicates: 2 registrations of FTP tagged 'FTP 2024'")
    assert str(made[0]) in str(failed.reason)
    assert failed.unfixable
    assert report.unfixable == 1
    # The workflow apply made is bound to its own registration, which is the one kept.
    [flow] = _workflows(emu, account)
    assert failed.duplicates[0].kept in flow.reg_application_ids
    assert split_description(flow.description)[1] is not None


async def test_an_account_apply_did_not_write_to_is_not_read_again(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    state = _state(emu, 3)
    assert (await provision.apply(canvas, state, environ=ENV)).ok
    before = len(emu.log)

    again = await provision.apply(canvas, state, environ=ENV)

    assert again.ok
    reads = [str(r.operation) for r in emu.log[before:] if r.account_header is not None]
    assert sorted(reads) == ["list_reg_applications"] * 3 + ["list_workflows"] * 3


async def test_the_check_reads_both_collections_at_once(emu: CanvasEmulator) -> None:
    """After its writes, an account's registrations and workflows are read in one latency."""
    account = emu.state.managed_ids[0]
    reads = {"RegApplications", "Workflows"}
    wrote = asyncio.Event()
    requested: set[str] = set()
    both = asyncio.Event()
    met: list[bool] = []

    async def on_request(event: CallEvent) -> None:
        if event.call.account_id != account:
            return
        if event.call.operation == "WorkflowScheduler":
            wrote.set()
        if not wrote.is_set() or event.call.operation not in reads:
            return
        requested.add(event.call.operation)
        if requested == reads:
            both.set()
        # Reads sent one after another never both get here: the first gives up waiting.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await both.wait()
        met.append(both.is_set())

    async with client_of(emu, hooks=Hooks(on_request=on_request)) as canvas:
        report = await provision.apply(canvas, _state(emu, 1), environ=ENV)

    assert report.ok, report.table()
    assert met == [True, True]
