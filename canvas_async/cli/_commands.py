"""The commands: each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final, TypeVar

from canvas_async import bulk, provision
from canvas_async._client import AccountView, Canvas
from canvas_async._operations import check_block_range
from canvas_async.cli import _exit, _shards
from canvas_async.cli._connect import Connection, connect, refusal
from canvas_async.cli._offline import parse_cron, show_times, zone
from canvas_async.cli._output import Out, ProgressDisplay, grouped, named
from canvas_async.cli._run import UsageError
from canvas_async.models import Workflow
from canvas_async.provision._load import DesiredStateError, locate, read
from canvas_async.provision._report import RunReport
from canvas_async.provision.shard import Shard
from canvas_async.provision.spec import DesiredState, EnvRef, iter_refs

T = TypeVar("T")

#: The value ``--emulator`` gives unset ``${NAME}`` references (the emulator
#: accepts any credential).
PLACEHOLDER: Final = "emulator-placeholder"

# -- helpers -------------------------------------------------------------------------


async def _account(canvas: Canvas, ref: str) -> AccountView:
    """Return the view of the account ``ref`` names by id or e-mail."""
    try:
        return canvas.for_account(uuid.UUID(ref))
    except ValueError:
        pass
    wanted = ref.strip().casefold()
    found = [a for a in await canvas.accounts.list() if (a.email or "").casefold() == wanted]
    if not found:
        raise UsageError(f"no account with the id or e-mail {ref!r}")
    return canvas.for_account(found[0].id)


async def _workflow(view: Canvas | AccountView, ref: str) -> Workflow:
    """Return the workflow ``ref`` names by id or by its unique name."""
    try:
        return await view.workflows.get(uuid.UUID(ref))
    except ValueError:
        pass
    found = [w for w in await view.workflows.list() if w.name == ref]
    if len(found) != 1:
        what = "no workflow" if not found else f"{len(found)} workflows"
        raise UsageError(f"{what} named {ref!r} in this account; name it by id")
    return found[0]


# -- reading -------------------------------------------------------------------------


async def auth(args: argparse.Namespace, out: Out) -> int:
    """Check that the keys are accepted, and say in which mode."""
    async with connect(args, out) as conn:
        ok = await conn.canvas.authenticate()
        mode = conn.canvas.auth_mode
    if out.json:
        out.data({"authenticated": ok, "server": conn.where, "mode": mode})
    elif ok:
        out.line(
            f"authenticated: the keys are accepted by {conn.where}, {conn.auth.describe(mode)}"
        )
    else:
        out.error(
            f"{conn.where} answered 401 Unauthorized\n{refusal('Authenticate', conn.auth, mode)}"
        )
    return _exit.OK if ok else _exit.FAILED


def _listing(
    read: Callable[[Canvas | AccountView], Awaitable[Sequence[T]]],
    headers: Sequence[str],
    row: Callable[[T], Sequence[object]],
) -> Callable[[argparse.Namespace, Out], Awaitable[int]]:
    """Return a command listing what ``read`` returns for the scope (``--account``, else
    the organization): a ``row`` under ``headers`` for each."""

    async def command(args: argparse.Namespace, out: Out) -> int:
        ref = getattr(args, "account", None)
        async with connect(args, out) as conn:
            found = await read(await _account(conn.canvas, ref) if ref else conn.canvas)
        if out.json:
            out.data(found)
        else:
            out.table(headers, [row(item) for item in found])
        return _exit.OK

    return command


accounts = _listing(
    lambda scope: scope.accounts.list(),
    ["id", "email", "name", "role", "created"],
    lambda a: [a.id, a.email, f"{a.first_name} {a.last_name}", a.role, _date(a.date_created)],
)

applications = _listing(
    lambda scope: scope.applications.list(),
    ["short name", "name", "credentials", "tags"],
    lambda a: [
        a.short_name,
        a.name,
        ", ".join(f.short_name + ("" if not f.optional else "?") for f in a.credential_fields),
        a.tag,
    ],
)

registered = _listing(
    lambda scope: scope.reg_applications.list(),
    ["id", "app", "tag text", "authenticated", "modified"],
    lambda r: [r.id, r.short_name, r.tag_text, _yes(r.is_authenticated), _date(r.date_modified)],
)

templates = _listing(
    lambda scope: scope.templates.list(),
    ["id", "name", "state", "version", "applications", "blocks"],
    lambda t: [
        t.id,
        t.name,
        t.state,
        t.version,
        ", ".join(t.applications),
        " > ".join(b.block_name for b in t.chain),
    ],
)

workflows = _listing(
    lambda scope: scope.workflows.list(),
    ["id", "name", "status", "scheduled", "cron", "next run"],
    lambda w: [
        w.id,
        w.name,
        w.status,
        _yes(w.is_scheduled),
        w.cron if w.is_scheduled else "",
        _time(w.date_next_schedule) if w.is_scheduled else "",
    ],
)


async def doctor(args: argparse.Namespace, out: Out) -> int:
    """Compare the server's own catalogue with what this SDK sends; fail on breaking drift."""
    async with connect(args, out) as conn:
        report = await conn.canvas.meta.check()
    out.say(
        {
            "server": conn.where,
            "ok": report.ok,
            "differences": [
                {
                    "kind": d.kind.text,
                    "subject": d.subject,
                    "detail": d.detail,
                    "breaking": d.breaking,
                }
                for d in report.differences
            ],
        },
        f"{conn.where}: {report}",
    )
    return _exit.OK if report.ok else _exit.FAILED


# -- acting on one workflow ----------------------------------------------------------------


async def run(args: argparse.Namespace, out: Out) -> int:
    """Run a workflow, whole or a block range."""
    async with connect(args, out) as conn:
        view = await _account(conn.canvas, args.account)
        workflow = await _workflow(view, args.workflow)
        if (args.from_block or args.till_block) and workflow.workflow_template_id is not None:
            template = await view.templates.get(workflow.workflow_template_id)
            # Refused here, naming the chain's length, rather than by the server.
            check_block_range(args.from_block, args.till_block, chain_length=len(template.chain))
        await workflow.run(from_block=args.from_block, till_block=args.till_block)
    blocks = ""
    if args.from_block or args.till_block:
        blocks = f" (blocks {args.from_block or 1} to {args.till_block or 'the last'})"
    out.say(
        {
            "workflow_id": workflow.id,
            "started": True,
            "from_block": args.from_block,
            "till_block": args.till_block,
        },
        f"started {workflow.name!r} ({workflow.id}){blocks}",
    )
    return _exit.OK


async def schedule(args: argparse.Namespace, out: Out) -> int:
    """Schedule a workflow on a Quartz cron, showing the next fire times."""
    cron = parse_cron(args.cron, unix=args.unix)  # checked before connecting
    zone(args)
    async with connect(args, out) as conn:
        view = await _account(conn.canvas, args.account)
        workflow = await (await _workflow(view, args.workflow)).schedule(str(cron))
    data = {"workflow": workflow, "cron": str(cron)}
    show_times(out, cron, args, data, f"scheduled {workflow.name!r} ({workflow.id}) on {cron}")
    return _exit.OK


async def unschedule(args: argparse.Namespace, out: Out) -> int:
    """Turn a workflow's scheduler off."""
    async with connect(args, out) as conn:
        view = await _account(conn.canvas, args.account)
        workflow = await (await _workflow(view, args.workflow)).unschedule()
    out.say({"workflow": workflow}, f"unscheduled {workflow.name!r} ({workflow.id})")
    return _exit.OK


# -- desired state ----------------------------------------------------------------------


async def plan(args: argparse.Namespace, out: Out) -> int:
    """Show what apply would change; write nothing."""
    state = _shards.load(args)
    shard = _shards.shard(args)
    async with connect(args, out) as conn:
        _environ(state, conn, out)
        report = await _plan(conn, state, args, out, shard)
    status = _exit.OK
    if not report.ok:
        status = _exit.FAILED
    elif args.detailed_exitcode and report.pending:
        status = _exit.PENDING
    return _finish(report, args, out, status)


async def apply(args: argparse.Namespace, out: Out) -> int:
    """Bring every account of the file (or of one shard) to its state, after a yes on a terminal."""
    state = _shards.load(args)
    shard = _shards.shard(args)
    requeue = bulk.Requeue(max_attempts=args.max_attempts, timeout=args.account_timeout)
    stop = bulk.Stop.after(args.deadline)
    asks = _asks(args, out)
    async with connect(args, out, writes=_shards.Writes(state, shard)) as conn:
        environ = _environ(state, conn, out)
        if asks:
            from canvas_async.cli._present import show_plan, touched  # noqa: PLC0415 - rich

            # The plan and the question on stderr: stdout may be a file or --json's.
            person = Out(stdout=out.stderr, stderr=out.stderr)
            planned = await _plan(conn, state, args, out, shard)
            show_plan(planned, person, verbose=args.verbose)
            if not touched(planned):
                person.line("Nothing to apply.")
                status = _exit.UNFIXABLE if planned.unfixable else _exit.OK
                status = status if planned.ok else _exit.FAILED
                return _finish(planned, args, out, status, show=False)  # shown above
            if not _confirmed(person, touched(planned)):
                person.line("Apply cancelled; nothing was written.")
                return _exit.FAILED
        with ProgressDisplay("apply", stream=out.stderr) as display:
            try:
                with _checked(args), _stop_on_signals(stop, out) as signalled:
                    report = await provision.apply(
                        conn.canvas,
                        state,
                        replace=args.replace,
                        prune=args.prune,
                        fail_fast=args.fail_fast,
                        concurrency=args.concurrency,
                        on_progress=display,
                        environ=environ,
                        requeue=requeue,
                        stop=stop,
                        shard=shard,
                    )
            except (KeyboardInterrupt, asyncio.CancelledError):
                display.close()
                if (last := display.last) is not None:
                    out.info(
                        f"interrupted after {last.finished:,} of {last.total:,} accounts "
                        f"(done {last.done:,}, failed {last.failed:,}); accounts in flight were "
                        "stopped between writes: apply again to converge"
                    )
                raise KeyboardInterrupt from None
    status = _exit.for_report(report)
    if signalled:
        status = _exit.INTERRUPTED if signalled[0] == signal.SIGINT else _exit.TERMINATED
    return _finish(report, args, out, status)


@contextlib.contextmanager
def _checked(args: argparse.Namespace) -> Iterator[None]:
    """Report the file's problems against the catalogue once each, where they are written."""
    try:
        yield
    except DesiredStateError as exc:
        try:
            data = read(args.file)
        except DesiredStateError:  # changed since it was loaded: report it as found
            raise exc from None
        raise DesiredStateError(exc.source, locate(exc.problems, data)) from None


async def _plan(
    conn: Connection,
    state: DesiredState,
    args: argparse.Namespace,
    out: Out,
    shard: Shard | None,
) -> RunReport:
    with ProgressDisplay("plan", stream=out.stderr) as display, _checked(args):
        return await provision.plan(
            conn.canvas,
            state,
            replace=args.replace,
            prune=args.prune,
            concurrency=args.concurrency,
            on_progress=display,
            shard=shard,
        )


def _asks(args: argparse.Namespace, out: Out) -> bool:
    """Whether apply shows the plan and asks first: on a terminal, unless ``--yes``.

    The question is asked on stderr, so neither ``--json`` nor a redirected
    stdout skips it. Standard input on a terminal with stderr elsewhere
    cannot be asked and is refused, rather than written without a question.
    """
    if args.yes or args.emulator or not sys.stdin.isatty():
        return False
    if not out.stderr.isatty():
        raise UsageError(
            "apply asks before writing when standard input is a terminal, but standard "
            "error, where it asks, is not one: pass --yes to apply without asking"
        )
    return True


def _confirmed(out: Out, accounts: int) -> bool:
    out.line()
    out.line(f"Apply these changes to {accounts:,} accounts? Only 'yes' goes ahead.")
    out.stdout.write("Enter a value: ")  # out writes to stderr here (see apply)
    out.stdout.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    return answer.strip() == "yes"


def _environ(state: DesiredState, conn: Connection, out: Out) -> Mapping[str, str]:
    """Return where ``${NAME}`` is looked up; refuse unset names, saying where each is used.

    On the emulator, unset names get :data:`PLACEHOLDER` instead, said out loud.
    """
    environ = dict(os.environ)
    unset = state.missing_env(environ)
    if unset and conn.emulator:
        out.info(
            f"--emulator: {len(unset)} credential references are not set "
            f"({', '.join(unset)}); using the placeholder value {PLACEHOLDER!r}, "
            "which the emulator accepts"
        )
        environ.update(dict.fromkeys(unset, PLACEHOLDER))
    elif unset:
        are = (
            "variable the file refers to is"
            if len(unset) == 1
            else "variables the file refers to are"
        )
        lines = [
            f"{len(unset)} environment {are} not set:",
            *(f"  {name}: {_uses(state, name)}" for name in unset),
            "set them (the file must never hold the values), or try it all with --emulator",
        ]
        raise UsageError("\n".join(lines))
    return environ


def _uses(state: DesiredState, name: str) -> str:
    """Say where ``${name}`` is used: each place, with the accounts, or how many."""
    places = grouped((where, a.label) for a in state.accounts for where in _refs_of(a, name))
    total = len(state.accounts)
    parts = []
    for where, labels in places.items():
        who = f"all {total:,} accounts" if total > 1 and len(labels) == total else named(labels)
        parts.append(f"{where} ({who})")
    return "; ".join(parts)


def _refs_of(account: provision.AccountSpec, name: str) -> Iterator[str]:
    for app in account.applications:
        for field, value in app.credentials.items():
            if isinstance(value, EnvRef) and value.name == name:
                yield f"applications.{app.key}.credentials.{field}"
    for workflow in account.workflows:
        for block, values in (workflow.variables or {}).items():
            for variable, value in values.items():
                if any(ref.name == name for ref in iter_refs(value)):
                    yield f'workflows."{workflow.name}".variables."{block}".{variable}'


@contextlib.contextmanager
def _stop_on_signals(stop: bulk.Stop, out: Out) -> Iterator[list[int]]:
    """On SIGINT or SIGTERM, ask ``stop`` to stop; yield the signals received.

    The first signal lets the requests in flight finish, so the summary and
    the report can say what was done; a second one is handled as usual
    (Ctrl-C cancels what is in flight).
    """
    loop = asyncio.get_running_loop()
    received: list[int] = []
    handled: list[int] = []

    def handle(signum: int) -> None:
        received.append(signum)
        for other in handled:
            loop.remove_signal_handler(other)
        name = signal.Signals(signum).name
        stop.ask(f"interrupted ({name})")
        out.info(f"{name}: starting nothing new; letting requests in flight finish")

    for wanted in (signal.SIGINT, signal.SIGTERM):
        # Not on Windows: there Ctrl-C arrives as KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(wanted, handle, int(wanted))
            handled.append(wanted)
    try:
        yield received
    finally:
        if not received:
            for signum in handled:
                loop.remove_signal_handler(signum)


def _finish(
    report: RunReport,
    args: argparse.Namespace,
    out: Out,
    status: int,
    *,
    show: bool = True,
) -> int:
    """Write ``--report`` whole (see :mod:`~canvas_async.cli._files`), print ``report`` (as JSON
    with ``--json``, else drawn unless not ``show``), and return ``status``.

    A report that could not be written is said last, the line an operator
    sees, and turns a success into exit status 1.
    """
    failure = None
    if args.report:
        import json  # noqa: PLC0415

        from canvas_async.cli._files import write_whole  # noqa: PLC0415

        try:
            write_whole(args.report, json.dumps(report.to_json(), indent=2) + "\n")
        except OSError as exc:
            failure = (
                f"cannot write the report to {args.report}: {exc.strerror or exc}; "
                "the file there, if any, is unchanged"
            )
        else:
            out.info(f"report written to {args.report}")
    if out.json:
        out.data(report.to_json())
    elif show:
        from canvas_async.cli._present import show_apply, show_plan  # noqa: PLC0415 - rich

        (show_plan if report.mode == "plan" else show_apply)(report, out, verbose=args.verbose)
    if failure is None:
        return status
    out.error(failure)
    return _exit.FAILED if status in (_exit.OK, _exit.PENDING) else status


# -- cells ----------------------------------------------------------------------------------


def _date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _time(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _yes(value: bool | None) -> str:
    return "yes" if value else "no"
