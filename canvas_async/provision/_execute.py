"""Plan and apply desired state against Canvas, every account concurrently.

Both start the same way, before anything is written: every environment
reference must be set (apply only), the organization's applications,
templates and accounts are read once, the three at once, the whole file is
checked against the first two and the accounts are indexed by id and e-mail.
Then each account is handled on its own (:mod:`canvas_async.bulk`): its
registrations and workflows are read (once each),
:func:`~canvas_async.provision.diff` says what it needs, and ``apply``
makes those changes in order.

Every create goes through :func:`bulk.reconcile_write`: a clear answer is
used as it is (no read-back), a doubtful one is settled by reading back, so
this run duplicates nothing. Another writer can (the API has no conditional
write), so an account apply wrote to is read again at the end and diffed
once more (verify: two reads). What that finds still to write (a duplicate
workflow, a schedule undone) is written in one more pass and read again; an
account still off target then fails (``not converged after apply``), and one
holding duplicates apply cannot delete (registrations) fails for good.
An account that fails transiently is requeued
(:func:`bulk.requeue`): read again and resumed from where it stands, with
backoff, within its budget; a permanent failure (the server refuses a
value) ends it at once with the server's reason. A :class:`bulk.Stop`
(deadline, signal) stops new work from starting; the report says what is left.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from canvas_async import _deadline, bulk
from canvas_async import _operations as op
from canvas_async._errors import APIError, CanvasError, OutcomeUnknownError, TransportError
from canvas_async._resources import send
from canvas_async.bulk import Status
from canvas_async.bulk._accounts import client_run
from canvas_async.bulk._engine import collect
from canvas_async.bulk._ensure import create_workflow_once, register_once
from canvas_async.models import Account, RegApplication, Workflow
from canvas_async.provision._load import DesiredStateError
from canvas_async.provision._plan import (
    AccountPlan,
    Action,
    Catalogue,
    Change,
    Duplicate,
    block_variables,
    check,
    diff,
    fingerprint,
    managed_description,
)
from canvas_async.provision._report import AccountReport, ChangeResult, RunReport
from canvas_async.provision.shard import Shard
from canvas_async.provision.spec import AccountSpec, DesiredState, MissingEnvironmentError, resolve

if TYPE_CHECKING:
    from canvas_async._client import AccountView, Canvas

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
        concurrency: Most accounts read at once (see :func:`bulk.each_account`).
        on_progress: Called with the progress after every account.
        shard: Read only this shard's accounts (see :mod:`.shard`).

    Raises:
        DesiredStateError: The file does not fit the organization's
            applications and templates; nothing was read per account.
    """
    started = time.monotonic()
    catalogue, index = await _read_organization(canvas, state)
    ctx = _Context(canvas, catalogue, replace, prune, environ={})
    runs = [_AccountRun(spec, index.find(spec)) for spec in _picked(state, shard)]

    async def read(run: _AccountRun) -> None:
        run.plan = await ctx.read_and_diff(run.spec, run.account_id, fresh=False)

    report = await collect(
        client_run(canvas, runs, read, _index, concurrency=concurrency, on_progress=on_progress)
    )
    accounts = tuple(_plan_report(run, result) for run, result in zip(runs, report, strict=True))
    whole = RunReport(
        "plan", state.source, accounts, replace, prune, elapsed=time.monotonic() - started
    )
    return _pinned(whole, state, shard)


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
    requeue: bulk.Requeue = bulk.DEFAULT_REQUEUE,
    deadline: float | None = None,
    stop: bulk.Stop | None = None,
    shard: Shard | None = None,
    on_change: Callable[[Change], object] | None = None,
) -> RunReport:
    """Bring every account to its desired state; return what happened to each.

    Safe to run again after any failure or interruption: each run reads the
    accounts afresh and only makes what is still missing. Each account it
    wrote to is read again at the end; it is ``done`` only when found as
    declared, without duplicates (see the module's docstring).

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
        requeue: How an account is tried again after a transient failure
            (attempts, time, backoff).
        deadline: Seconds from now after which no new work starts; what is
            left is reported. None for no deadline.
        stop: Ask it to stop (:meth:`bulk.Stop.ask`, e.g. from a signal
            handler) and no new work starts; requests in flight finish.
            It may carry a deadline of its own instead of ``deadline``.
        shard: Converge only this shard's accounts (see :mod:`.shard`).
        on_change: Called with each change as it is made (or as a write left
            in doubt is found to have taken effect): the changes the report
            counts as made, one call each, as they happen.

    Raises:
        MissingEnvironmentError: A referenced variable is not set; nothing sent.
        DesiredStateError: The file does not fit the organization's
            applications and templates; nothing written.
    """
    started = time.monotonic()
    if stop is None:
        stop = bulk.Stop.after(deadline)
    elif deadline is not None:
        stop.deadline = bulk.Stop.after(deadline).deadline
    env = os.environ if environ is None else environ
    missing = state.missing_env(env)
    if missing:
        raise MissingEnvironmentError(missing)
    # The deadline bounds every request and every wait of the run, not only
    # the start of new accounts (see canvas_async.deadline).
    with _deadline.until(stop.deadline):
        try:
            catalogue, index = await _read_organization(canvas, state, requeue, stop)
        except (TransportError, APIError) as exc:
            reason = stop.reason()
            if reason is None:
                raise
            # Stopped (the deadline, a signal) before the organization could be read:
            # every account is left (each stops before it starts), and the report says why.
            stop.ask(f"{reason} before the organization could be read ({exc})")
            catalogue, index = Catalogue.of((), ()), _AccountIndex.of(())
        ctx = _Context(canvas, catalogue, replace, prune, env, requeue, stop, on_change)
        runs = [_AccountRun(spec, index.find(spec)) for spec in _picked(state, shard)]
        report = await collect(
            client_run(
                canvas,
                runs,
                ctx.apply_account,
                _index,
                concurrency=concurrency,
                fail_fast=fail_fast,
                on_progress=on_progress,
            )
        )
    accounts = tuple(_apply_report(run, result) for run, result in zip(runs, report, strict=True))
    whole = RunReport(
        "apply",
        state.source,
        accounts,
        replace,
        prune,
        elapsed=time.monotonic() - started,
        stopped=stop.reason() if any(r.stopped for r in runs) else None,
    )
    return _pinned(whole, state, shard)


def _picked(state: DesiredState, shard: Shard | None) -> tuple[AccountSpec, ...]:
    """The accounts a run handles: the whole file, or one shard of it."""
    return state.accounts if shard is None else shard.select(state).accounts


def _pinned(report: RunReport, state: DesiredState, shard: Shard | None) -> RunReport:
    """The report, saying which shard of which file (by content hash) it converged."""
    return attrs.evolve(report, shard=None if shard is None else str(shard), file_hash=state.digest)


def _index(run: _AccountRun) -> int:
    return run.spec.index


@attrs.define
class _AccountRun:
    """One account's progress through a run."""

    spec: AccountSpec
    account_id: uuid.UUID | None
    plan: AccountPlan | None = None
    results: list[ChangeResult] = attrs.Factory(list)
    attempts: int = 0
    stopped: bool = False
    #: The last read after this run's writes (None when it wrote nothing).
    verified: AccountPlan | None = None

    @property
    def wrote(self) -> bool:
        """Whether a write of this run took effect (or may have)."""
        return any(r.status in _KEPT for r in self.results)


@attrs.frozen
class _AccountIndex:
    """The organization's accounts by id and by e-mail (folded), for finding one at once."""

    ids: frozenset[uuid.UUID]
    emails: Mapping[str, uuid.UUID]

    @classmethod
    def of(cls, accounts: Sequence[Account]) -> _AccountIndex:
        emails: dict[str, uuid.UUID] = {}
        for account in accounts:
            # The first account listed with an e-mail wins, as a scan would find it.
            emails.setdefault((account.email or "").casefold(), account.id)
        return cls(frozenset(a.id for a in accounts), emails)

    def find(self, spec: AccountSpec) -> uuid.UUID | None:
        """Return the id of the account ``spec`` names, if it exists."""
        if spec.id is not None:
            return spec.id if spec.id in self.ids else None
        return self.emails.get((spec.email or "").casefold())


async def _read_organization(
    canvas: Canvas,
    state: DesiredState,
    requeue: bulk.Requeue = bulk.DEFAULT_REQUEUE,
    stop: bulk.Stop | None = None,
) -> tuple[Catalogue, _AccountIndex]:
    """Read what every account needs (applications, templates, accounts), checked against
    the file; read again after a transient failure."""

    async def read(_: int) -> tuple[Catalogue, _AccountIndex]:
        # Three reads at once: one latency before the accounts start, not three.
        applications, templates, accounts = await _all(
            canvas.applications.list(), canvas.templates.list(), canvas.accounts.list()
        )
        catalogue = Catalogue.of(applications, templates)
        problems = check(state, catalogue)
        if problems:
            raise DesiredStateError(state.source, problems)
        return catalogue, _AccountIndex.of(accounts)

    return await bulk.requeue(read, requeue, stop=stop)


@attrs.define
class _Context:
    """What every account of one run shares: the client, the catalogue, the options."""

    canvas: Canvas
    catalogue: Catalogue
    replace: bool
    prune: bool
    environ: Mapping[str, str]
    requeue: bulk.Requeue = bulk.DEFAULT_REQUEUE
    stop: bulk.Stop = attrs.Factory(bulk.Stop)
    on_change: Callable[[Change], object] | None = None

    async def read_and_diff(
        self, spec: AccountSpec, account_id: uuid.UUID | None, *, fresh: bool, check: bool = False
    ) -> AccountPlan:
        """Read the account (once per collection) and diff it against ``spec``.

        Args:
            spec: The account's desired state.
            account_id: Its id; None when it does not exist (yet).
            fresh: The account was created by this run: it holds nothing yet,
                so nothing is read.
            check: It is read to check this run's writes: both collections at
                once (one latency, not two).
        """
        if account_id is None and spec.id is not None:
            raise AccountNotFoundError(spec.id)
        registrations: Sequence[RegApplication] = ()
        workflows: Sequence[Workflow] = ()
        if account_id is not None and not fresh:
            view = self.canvas.for_account(account_id)
            if check:
                with bulk.step("verify: read registered applications and workflows"):
                    registrations, workflows = await _all(
                        view.reg_applications.list(), view.workflows.list()
                    )
            else:
                with bulk.step("read registered applications"):
                    registrations = await view.reg_applications.list()
                with bulk.step("read workflows"):
                    workflows = await view.workflows.list()
        return diff(
            spec,
            self.catalogue,
            account_id=account_id,
            registrations=registrations,
            workflows=workflows,
            replace=self.replace,
            prune=self.prune,
        )

    # -- apply -------------------------------------------------------------------

    async def apply_account(self, run: _AccountRun) -> None:
        try:
            self.stop.check(started=False)
            await self._converge(run)
            if not run.wrote:
                return  # the first read was the check: nothing has changed since
            await self._verify(run)
            if run.verified is not None and run.verified.changes:
                # Someone else wrote meanwhile (a duplicate, a schedule undone):
                # one more pass from what was just read, then one more check.
                await self._converge(run, run.verified)
                await self._verify(run)
        except bulk.StoppedError:
            run.stopped = True
            raise

    async def _converge(self, run: _AccountRun, plan: AccountPlan | None = None) -> None:
        """Make the account's changes, requeued after transient failures.

        Args:
            plan: What a read just found, to start from instead of reading again.
        """

        async def attempt(number: int) -> None:
            await self._attempt(run, number, plan if number == 1 else None)

        await bulk.requeue(attempt, self.requeue, stop=self.stop)

    async def _verify(self, run: _AccountRun) -> None:
        """Read the account again and diff it: what this run's writes left (no write)."""
        self.stop.check(started=True)

        async def read(_: int) -> AccountPlan:
            return await self.read_and_diff(run.spec, run.account_id, fresh=False, check=True)

        run.verified = await bulk.requeue(read, self.requeue, stop=self.stop)

    async def _attempt(self, run: _AccountRun, attempt: int, plan: AccountPlan | None) -> None:
        """Bring the account to its desired state from where it stands now (or per ``plan``)."""
        run.attempts += 1
        # What an earlier attempt did stays done, and a write left in doubt
        # stays so until the state is read; the rest is planned afresh.
        run.results = [r for r in run.results if r.status in _KEPT]
        fresh = False
        if run.account_id is None and run.spec.id is None:
            if attempt > 1:  # an earlier attempt may have created it after all
                with bulk.step("read accounts"):
                    run.account_id = await self._find_account(run.spec)
                missing = run.account_id is None
                creating = [Change(Action.CREATE_ACCOUNT, run.spec.label)] if missing else []
                self._settle(run, creating)
            if run.account_id is None:
                change = Change(Action.CREATE_ACCOUNT, run.spec.label, "not found")
                run.account_id = await self._do(run, change, [], self._create_account(run.spec))
                fresh = True
        if plan is None:
            plan = await self.read_and_diff(run.spec, run.account_id, fresh=fresh)
        run.plan = plan
        self._settle(run, run.plan.changes)
        assert run.account_id is not None
        view = self.canvas.for_account(run.account_id)
        executor = _Executor(self, view, dict(run.plan.registrations))
        changes = [c for c in run.plan.changes if c.action is not Action.CREATE_ACCOUNT]
        for position, change in enumerate(changes):
            rest = changes[position:]
            if self.stop.reason() is not None:
                run.results.extend(ChangeResult(c, Status.SKIPPED) for c in rest)
                self.stop.check(started=True)
            await self._do(run, change, rest[1:], executor.execute(change))

    async def _do(self, run: _AccountRun, change: Change, rest: Sequence[Change], work: Any) -> Any:
        """Await ``work`` (one change), recording how it ended; a failure ends the attempt."""
        try:
            with bulk.step(change.describe()):
                value = await work
        except BaseException as exc:
            unknown = isinstance(exc, OutcomeUnknownError | asyncio.CancelledError)
            status = Status.OUTCOME_UNKNOWN if unknown else Status.FAILED
            cancelled = isinstance(exc, asyncio.CancelledError)
            reason = "cancelled while in flight" if cancelled else " ".join(str(exc).split())
            run.results.append(ChangeResult(change, status, reason))
            run.results.extend(ChangeResult(c, Status.SKIPPED) for c in rest)
            raise
        run.results.append(ChangeResult(change, Status.DONE))
        self._made(change)
        return value

    def _settle(self, run: _AccountRun, pending: Sequence[Change]) -> None:
        """Settle the doubts once the state is read: done unless still ``pending``.

        A change whose outcome was unknown took effect if the fresh plan holds no
        change of its kind for its target any more (``on_change`` is told); else it
        is dropped here, and made (and recorded) again.
        """
        left = {_identity(change) for change in pending}
        settled = []
        for result in run.results:
            if result.status is Status.DONE:
                settled.append(result)
            elif _identity(result.change) not in left:
                settled.append(ChangeResult(result.change, Status.DONE))
                self._made(result.change)
        run.results = settled

    def _made(self, change: Change) -> None:
        """Tell ``on_change`` that ``change`` is made (recorded ``done``)."""
        if self.on_change is not None:
            self.on_change(change)

    async def _find_account(self, spec: AccountSpec) -> uuid.UUID | None:
        return _AccountIndex.of(await self.canvas.accounts.list()).find(spec)

    async def _create_account(self, spec: AccountSpec) -> uuid.UUID:
        new = spec.new
        assert new is not None
        assert spec.email is not None
        email = spec.email

        async def send() -> uuid.UUID:
            return await self.canvas.accounts.create(
                first_name=new.first_name,
                last_name=new.last_name,
                email=email,
                role=new.role,
                phone=new.phone,
                country_key=new.country,
                activated=new.activated,
                global_notifications=new.global_notifications,
                default_notification_email=new.notification_email,
            )

        return await bulk.reconcile_write(send, functools.partial(self._find_account, spec))


async def _all(*reads: Awaitable[Any]) -> list[Any]:
    """Await ``reads`` concurrently; raise the first one's error only once all ended.

    Unlike a bare :func:`asyncio.gather`, no read is left running behind the error.
    """
    outcomes = await asyncio.gather(*reads, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


_KEPT: Final = frozenset({Status.DONE, Status.OUTCOME_UNKNOWN})


def _identity(change: Change) -> tuple[Action, str]:
    # Replacing a workflow ends in creating it: the same change, as far as doubts go.
    action = change.action
    return (Action.CREATE_WORKFLOW if action is Action.REPLACE_WORKFLOW else action, change.target)


class AccountNotFoundError(CanvasError):
    """An account named by id is not among the organization's accounts."""

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} is not among the organization's active accounts")
        self.account_id = account_id


@attrs.define
class _Executor:
    """Makes one account's changes, remembering what it registered and created.

    Each write is one request: the server answers a create with the new id,
    which is all a later change needs, so nothing is read back unless the
    outcome is in doubt (:func:`bulk.reconcile_write`, through the find-or-create
    the idempotent helpers use too).
    """

    ctx: _Context
    view: AccountView
    reg_ids: dict[str, uuid.UUID]
    created: dict[str, uuid.UUID] = attrs.Factory(dict)

    async def execute(self, change: Change) -> None:
        if change.action is Action.REGISTER:
            app = change.application
            assert app is not None
            self.reg_ids[app.key] = await register_once(
                self.view,
                self.ctx.catalogue.applications[app.application],
                tag_text=app.tag,
                credentials=resolve(app.credentials, self.ctx.environ),
            )
        elif change.action is Action.CREATE_WORKFLOW:
            await self._create_workflow(change)
        elif change.action is Action.REPLACE_WORKFLOW:
            assert change.workflow_id is not None
            await self.view.workflows.delete(change.workflow_id, missing_ok=True)
            await self._create_workflow(change)
        elif change.action in (Action.SCHEDULE, Action.UNSCHEDULE):
            # Unscheduling is planned for an existing workflow only (its cron: None).
            target = change.workflow_id or self.created[change.target]
            cron = None if change.cron is None else op.check_cron(change.cron)
            await send(self.view, op.WORKFLOW_SCHEDULER(target, cron))
        elif change.action in (Action.DELETE_WORKFLOW, Action.DELETE_DUPLICATE):
            assert change.workflow_id is not None
            await self.view.workflows.delete(change.workflow_id, missing_ok=True)
        else:  # pragma: no cover - CREATE_ACCOUNT is made before the plan
            raise AssertionError(change.action)

    async def _create_workflow(self, change: Change) -> None:
        spec = change.workflow
        assert spec is not None
        template = self.ctx.catalogue.template(spec.template)
        assert template is not None
        self.created[spec.name] = await create_workflow_once(
            self.view,
            template,
            name=spec.name,
            applications={
                short: self.reg_ids[spec.applications.get(short, short)]
                for short in template.applications
            },
            variables=resolve(block_variables(spec, template), self.ctx.environ),
            description=managed_description(spec.description, fingerprint(spec, template)),
        )


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
    status = Status.CHANGES if plan.changes else Status.IN_SYNC if plan.converged else Status.DRIFT
    return AccountReport(
        run.spec.label,
        plan.account_id,
        status,
        tuple(ChangeResult(c, Status.PLANNED) for c in plan.changes),
        plan.drift,
        plan.notes,
        duplicates=plan.duplicates,
        unfixable=plan.unfixable,
    )


def _apply_report(run: _AccountRun, result: bulk.ItemResult[int, None]) -> AccountReport:
    status = result.status
    reason = result.describe_error() or None
    last = run.verified or run.plan  # the account as last read: after the writes, else before
    drift = last.drift if last is not None else ()
    duplicates = _left(last.duplicates, run.results) if last is not None else ()
    unfixable = False
    if status is Status.DONE and last is not None and not last.converged:
        status = Status.FAILED
        reason, unfixable = _not_converged(last)
    elif isinstance(result.error, bulk.StoppedError):
        stopped = result.error  # the run's status already says cancelled or skipped
        left = sum(1 for r in run.results if r.status is Status.SKIPPED)
        reason = f"not started: {stopped.reason}"
        if stopped.started:
            reason = f"stopped ({stopped.reason}) with {left} changes left"
            if not left and run.wrote:
                reason = f"stopped ({stopped.reason}) before its writes were read back"
    elif any(r.status is Status.OUTCOME_UNKNOWN for r in run.results):
        # Cancelled with a write in flight: it may or may not have taken effect.
        status = Status.OUTCOME_UNKNOWN
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
        attempts=run.attempts,
        duplicates=duplicates,
        unfixable=unfixable,
    )


def _left(
    duplicates: Sequence[Duplicate], results: Sequence[ChangeResult]
) -> tuple[Duplicate, ...]:
    """``duplicates`` without the extra workflows deleted since they were read."""
    gone = {
        r.change.workflow_id
        for r in results
        if r.change.action is Action.DELETE_DUPLICATE and r.status is Status.DONE
    }
    left = (attrs.evolve(d, extra=tuple(i for i in d.extra if i not in gone)) for d in duplicates)
    return tuple(d for d in left if d.extra)


def _not_converged(last: AccountPlan) -> tuple[str, bool]:
    """Why an account whose changes were all made is not as declared, and whether
    running apply again would fix it (not when all that is left is drift or
    duplicate registrations)."""
    parts = []
    if last.changes:
        what = "; ".join(c.describe() for c in last.changes)
        parts.append(f"not converged after apply: still to do {what}")
    kept = [d for d in last.duplicates if not d.removable]
    if kept:
        parts.append("duplicates: " + "; ".join(d.describe() for d in kept))
    if last.drift:
        parts.append(
            "drift left in place (apply with --replace to recreate): "
            + "; ".join(d.describe() for d in last.drift)
        )
    return " | ".join(parts), not last.changes
