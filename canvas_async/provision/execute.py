"""Plan and apply desired state against Canvas, every account concurrently.

Both start the same way, before anything is written: every environment
reference must be set (apply only), the organization's applications and
templates are read once and the whole file is checked against them, and the
account list is read once to find accounts by id or e-mail. Then each account
is handled on its own (:mod:`canvas_async.bulk`): its registrations and
workflows are read, :func:`~canvas_async.provision.plan.diff` says what it
needs, and ``apply`` makes those changes in order, stopping that account at
its first failure. A create whose outcome is unknown is resolved by reading
the account back once, so a second ``apply`` never duplicates anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from canvas_async import bulk
from canvas_async._errors import CanvasError, NotFoundError, OutcomeUnknownError
from canvas_async.provision.load import DesiredStateError
from canvas_async.provision.plan import (
    AccountPlan,
    Action,
    Catalog,
    Change,
    block_variables,
    check,
    diff,
    find_registration,
    fingerprint,
    managed_description,
)
from canvas_async.provision.report import (
    AccountReport,
    ChangeResult,
    ChangeStatus,
    RunReport,
    Status,
)
from canvas_async.provision.shard import Shard
from canvas_async.provision.spec import AccountSpec, DesiredState, MissingEnvironmentError, resolve

if TYPE_CHECKING:
    from canvas_async._client import AccountView, Canvas
    from canvas_async.models import Account, Workflow

__all__ = ["AccountNotFoundError", "apply", "plan"]

ProgressCallback = Callable[[bulk.Progress], object]


async def plan(
    canvas: Canvas,
    state: DesiredState,
    *,
    replace: bool = False,
    prune: bool = False,
    concurrency: int | None = None,
    on_progress: ProgressCallback | None = None,
    shard: Shard | None = None,
) -> RunReport:
    """Read every account's state and return what ``apply`` would change; write nothing.

    Args:
        canvas: The client.
        state: The desired state.
        replace: Plan to recreate workflows that drifted.
        prune: Plan to delete workflows created here that are no longer declared.
        concurrency: Most accounts read at once (see :func:`bulk.each`).
        on_progress: Called with the progress after every account.
        shard: Read only this shard's accounts (see :mod:`.shard`).

    Raises:
        DesiredStateError: The file does not fit the organization's
            applications and templates; nothing was read per account.
    """
    started = time.monotonic()
    ctx = await _Context.prepare(canvas, state, replace=replace, prune=prune, environ={})
    runs = [ctx.account_run(spec) for spec in _picked(state, shard)]

    async def read(run: _AccountRun) -> None:
        run.plan = await ctx.read_and_diff(run.spec, run.account_id)

    report = await _run(
        canvas, runs, read, concurrency=concurrency, fail_fast=False, on_progress=on_progress
    )
    accounts = tuple(_plan_report(run, result) for run, result in zip(runs, report, strict=True))
    return RunReport(
        "plan",
        state.source,
        accounts,
        replace,
        prune,
        time.monotonic() - started,
        *_pinned(state, shard),
    )


async def apply(
    canvas: Canvas,
    state: DesiredState,
    *,
    replace: bool = False,
    prune: bool = False,
    fail_fast: bool = False,
    concurrency: int | None = None,
    on_progress: ProgressCallback | None = None,
    environ: Mapping[str, str] | None = None,
    shard: Shard | None = None,
) -> RunReport:
    """Bring every account to its desired state; return what happened to each.

    Safe to run again after any failure or interruption: each run reads the
    accounts afresh and only makes what is still missing.

    Args:
        canvas: The client; its limits bound the requests.
        state: The desired state.
        replace: Recreate (delete, then create) workflows that drifted in
            what the API cannot update in place.
        prune: Delete workflows created here that the file no longer declares.
        fail_fast: Stop at the first account that fails.
        concurrency: Most accounts in progress at once.
        on_progress: Called with the progress after every account.
        environ: Where ``${NAME}`` references are looked up; ``os.environ``
            when omitted.
        shard: Converge only this shard's accounts (see :mod:`.shard`).

    Raises:
        MissingEnvironmentError: A referenced variable is not set; nothing sent.
        DesiredStateError: The file does not fit the organization's
            applications and templates; nothing written.
    """
    started = time.monotonic()
    env = os.environ if environ is None else environ
    missing = state.missing_env(env)
    if missing:
        raise MissingEnvironmentError(missing)
    ctx = await _Context.prepare(canvas, state, replace=replace, prune=prune, environ=env)
    runs = [ctx.account_run(spec) for spec in _picked(state, shard)]
    report = await _run(
        canvas,
        runs,
        ctx.apply_account,
        concurrency=concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    )
    accounts = tuple(_apply_report(run, result) for run, result in zip(runs, report, strict=True))
    return RunReport(
        "apply",
        state.source,
        accounts,
        replace,
        prune,
        time.monotonic() - started,
        *_pinned(state, shard),
    )


def _picked(state: DesiredState, shard: Shard | None) -> tuple[AccountSpec, ...]:
    """The accounts a run handles: the whole file, or one shard of it."""
    return state.accounts if shard is None else shard.select(state).accounts


def _pinned(state: DesiredState, shard: Shard | None) -> tuple[str | None, str | None]:
    """The report's shard and file hash."""
    return (None if shard is None else str(shard)), state.digest


async def _run(
    canvas: Canvas,
    runs: list[_AccountRun],
    fn: Callable[[_AccountRun], Awaitable[None]],
    *,
    concurrency: int | None,
    fail_fast: bool,
    on_progress: ProgressCallback | None,
) -> bulk.BulkReport[int, None]:
    return await bulk.run_each(
        runs,
        fn,
        key=_index,
        concurrency=bulk.concurrency_of(canvas) if concurrency is None else concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    )


def _index(run: _AccountRun) -> int:
    return run.spec.index


@attrs.define
class _AccountRun:
    """One account's progress through a run."""

    spec: AccountSpec
    account_id: uuid.UUID | None
    plan: AccountPlan | None = None
    results: list[ChangeResult] = attrs.Factory(list)


@attrs.define
class _Context:
    """What every account of one run shares: the client, the catalog, the options."""

    canvas: Canvas
    catalog: Catalog
    accounts: Sequence[Account]
    replace: bool
    prune: bool
    environ: Mapping[str, str]

    @classmethod
    async def prepare(
        cls,
        canvas: Canvas,
        state: DesiredState,
        *,
        replace: bool,
        prune: bool,
        environ: Mapping[str, str],
    ) -> _Context:
        applications = await canvas.applications.list()
        templates = await canvas.templates.list()
        catalog = Catalog.of(applications, templates)
        problems = check(state, catalog)
        if problems:
            raise DesiredStateError(state.source, problems)
        accounts = await canvas.accounts.list()
        return cls(canvas, catalog, accounts, replace, prune, environ)

    def account_run(self, spec: AccountSpec) -> _AccountRun:
        return _AccountRun(spec, self._find_account(spec, self.accounts))

    @staticmethod
    def _find_account(spec: AccountSpec, accounts: Sequence[Account]) -> uuid.UUID | None:
        if spec.id is not None:
            return spec.id if any(a.id == spec.id for a in accounts) else None
        email = (spec.email or "").casefold()
        return next((a.id for a in accounts if (a.email or "").casefold() == email), None)

    async def read_and_diff(self, spec: AccountSpec, account_id: uuid.UUID | None) -> AccountPlan:
        if account_id is None and spec.id is not None:
            raise AccountNotFoundError(spec.id)
        if account_id is None:
            return diff(spec, self.catalog, account_id=None, replace=self.replace, prune=self.prune)
        view = self.canvas.for_account(account_id)
        with bulk.step("read registered applications"):
            registrations = await view.reg_applications.list()
        with bulk.step("read workflows"):
            workflows = await view.workflows.list()
        return diff(
            spec,
            self.catalog,
            account_id=account_id,
            registrations=registrations,
            workflows=workflows,
            replace=self.replace,
            prune=self.prune,
        )

    # -- apply -------------------------------------------------------------------

    async def apply_account(self, run: _AccountRun) -> None:
        if run.account_id is None and run.spec.id is None:
            change = Change(Action.CREATE_ACCOUNT, run.spec.label, "not found")
            run.account_id = await self._do(run, change, [], self._create_account(run.spec))
        run.plan = await self.read_and_diff(run.spec, run.account_id)
        assert run.account_id is not None
        view = self.canvas.for_account(run.account_id)
        executor = _Executor(self, view, dict(run.plan.registrations))
        changes = list(run.plan.changes)
        for position, change in enumerate(changes):
            await self._do(run, change, changes[position + 1 :], executor.execute(change))

    async def _do(self, run: _AccountRun, change: Change, rest: Sequence[Change], work: Any) -> Any:
        """Await ``work`` (one change), recording how it ended; a failure ends the account."""
        try:
            with bulk.step(change.describe()):
                value = await work
        except BaseException as exc:
            if isinstance(exc, OutcomeUnknownError | asyncio.CancelledError):
                status = ChangeStatus.OUTCOME_UNKNOWN
            else:
                status = ChangeStatus.FAILED
            reason = (
                "cancelled while in flight" if isinstance(exc, asyncio.CancelledError) else str(exc)
            )
            run.results.append(ChangeResult(change, status, " ".join(reason.split())))
            run.results.extend(ChangeResult(c, ChangeStatus.NOT_RUN) for c in rest)
            raise
        run.results.append(ChangeResult(change, ChangeStatus.DONE))
        return value

    async def _create_account(self, spec: AccountSpec) -> uuid.UUID:
        new = spec.new
        assert new is not None
        assert spec.email is not None
        try:
            return await self.canvas.accounts.create(
                first_name=new.first_name,
                last_name=new.last_name,
                email=spec.email,
                role=new.role,
                phone=new.phone,
                country_key=new.country,
                activated=new.activated,
                global_notifications=new.global_notifications,
                default_notification_email=new.notification_email,
            )
        except bulk.DOUBTFUL as exc:
            found = await bulk.read_back(exc, self.canvas.accounts.list)
            account_id = self._find_account(spec, found)
            if account_id is None:
                raise bulk.WriteNotDoneError(exc) from exc
            return account_id


class AccountNotFoundError(CanvasError):
    """An account named by id is not among the organization's accounts."""

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} is not among the organization's active accounts")
        self.account_id = account_id


@attrs.define
class _Executor:
    """Makes one account's changes, remembering what it registered and created."""

    ctx: _Context
    view: AccountView
    reg_ids: dict[str, uuid.UUID]
    created: dict[str, Workflow] = attrs.Factory(dict)

    async def execute(self, change: Change) -> None:
        if change.action is Action.REGISTER:
            await self._register(change)
        elif change.action is Action.CREATE_WORKFLOW:
            await self._create_workflow(change)
        elif change.action is Action.REPLACE_WORKFLOW:
            assert change.workflow_id is not None
            await self._delete(change.workflow_id)
            await self._create_workflow(change)
        elif change.action is Action.SCHEDULE:
            await self._schedule(change)
        elif change.action is Action.UNSCHEDULE:
            assert change.workflow_id is not None
            await self.view.workflows.unschedule(change.workflow_id)
        elif change.action is Action.DELETE_WORKFLOW:
            assert change.workflow_id is not None
            await self._delete(change.workflow_id)
        else:  # pragma: no cover - CREATE_ACCOUNT is made before the plan
            raise AssertionError(change.action)

    async def _register(self, change: Change) -> None:
        app_spec = change.application
        assert app_spec is not None
        application = self.ctx.catalog.applications[app_spec.application]
        credentials = resolve(app_spec.credentials, self.ctx.environ)
        try:
            reg = await self.view.reg_applications.create(
                application, tag_text=app_spec.tag, credentials=credentials
            )
        except bulk.DOUBTFUL as exc:
            regs = await bulk.read_back(exc, self.view.reg_applications.list)
            found = find_registration(regs, application, app_spec.tag)
            if not found:
                raise bulk.WriteNotDoneError(exc) from exc
            reg = found[0]
        self.reg_ids[app_spec.key] = reg.id

    async def _create_workflow(self, change: Change) -> None:
        spec = change.workflow
        assert spec is not None
        template = self.ctx.catalog.template(spec.template)
        assert template is not None
        bindings = {
            short: self.reg_ids[spec.applications.get(short, short)]
            for short in template.applications
        }
        variables = resolve(block_variables(spec, template), self.ctx.environ)
        description = managed_description(spec.description, fingerprint(spec, template))
        try:
            workflow = await self.view.workflows.create(
                template,
                name=spec.name,
                applications=bindings,
                variables=variables,
                description=description,
            )
        except bulk.DOUBTFUL as exc:
            workflows = await bulk.read_back(exc, self.view.workflows.list)
            found = [w for w in workflows if w.name == spec.name and w.description == description]
            if not found:
                raise bulk.WriteNotDoneError(exc) from exc
            workflow = found[0]
        self.created[spec.name] = workflow

    async def _schedule(self, change: Change) -> None:
        assert change.cron is not None
        target = change.workflow_id or self.created[change.target].id
        await self.view.workflows.schedule(target, change.cron)

    async def _delete(self, workflow_id: uuid.UUID) -> None:
        with contextlib.suppress(NotFoundError):  # already gone: what was wanted
            await self.view.workflows.delete(workflow_id, missing_ok=True)


# -- reports -------------------------------------------------------------------------


def _plan_report(run: _AccountRun, result: bulk.ItemResult[int, None]) -> AccountReport:
    if not result.ok or run.plan is None:
        return AccountReport(
            run.spec.label,
            run.account_id,
            Status.FAILED,
            reason=result.describe_error(),
            operation=result.operation,
            step=result.step,
        )
    plan = run.plan
    if plan.changes:
        status = Status.CHANGES
    elif plan.drift:
        status = Status.DRIFT
    else:
        status = Status.IN_SYNC
    return AccountReport(
        run.spec.label,
        plan.account_id,
        status,
        tuple(ChangeResult(c, ChangeStatus.PLANNED) for c in plan.changes),
        plan.drift,
        plan.notes,
    )


_OUTCOMES = {
    bulk.Outcome.DONE: Status.DONE,
    bulk.Outcome.FAILED: Status.FAILED,
    bulk.Outcome.OUTCOME_UNKNOWN: Status.OUTCOME_UNKNOWN,
    bulk.Outcome.CANCELLED: Status.CANCELLED,
    bulk.Outcome.SKIPPED: Status.SKIPPED,
}


def _apply_report(run: _AccountRun, result: bulk.ItemResult[int, None]) -> AccountReport:
    status = _OUTCOMES[result.outcome]
    reason = result.describe_error() or None
    drift = run.plan.drift if run.plan is not None else ()
    if status is Status.DONE and drift:
        status = Status.FAILED
        reason = "drift left in place (apply with --replace to recreate): " + "; ".join(
            d.describe() for d in drift
        )
    elif status in (Status.CANCELLED, Status.SKIPPED):
        reason = f"{status} after another account failed (--fail-fast)"
    return AccountReport(
        run.spec.label,
        run.account_id,
        status,
        tuple(run.results),
        drift,
        run.plan.notes if run.plan is not None else (),
        reason=reason,
        operation=result.operation,
        step=result.step,
    )
