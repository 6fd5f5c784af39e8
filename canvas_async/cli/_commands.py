"""The commands: each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canvas_async import bulk, provision
from canvas_async._client import AccountView, Canvas
from canvas_async.cli import _exit, _shards
from canvas_async.cli._connect import UsageError, connect, environ_for
from canvas_async.cli._output import Out, ProgressDisplay
from canvas_async.models import Workflow
from canvas_async.provision.report import RunReport
from canvas_async.schedule import Cron

__all__ = [
    "accounts",
    "applications",
    "apply",
    "auth",
    "cron_explain",
    "doctor",
    "emulator",
    "plan",
    "registered",
    "run",
    "schedule",
    "templates",
    "unschedule",
    "workflows",
]


# -- helpers -------------------------------------------------------------------------


def _tz(args: argparse.Namespace) -> ZoneInfo | None:
    name = getattr(args, "tz", None)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {name!r} (use an IANA name, e.g. Europe/Oslo)"
        ) from None


def _fire_times(cron: Cron, args: argparse.Namespace) -> list[datetime]:
    zone = _tz(args)
    now = datetime.now(zone or UTC)
    return cron.next_fire_times(now, count=args.count, tz=zone or UTC)


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


async def _scope(canvas: Canvas, args: argparse.Namespace) -> Canvas | AccountView:
    ref = getattr(args, "account", None)
    return canvas if not ref else await _account(canvas, ref)


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
    """Check that the keys are accepted."""
    async with connect(args, out) as conn:
        ok = await conn.canvas.authenticate()
    if out.json:
        out.data({"authenticated": ok, "server": conn.where})
    elif ok:
        out.line(f"authenticated: the keys are accepted by {conn.where}")
    else:
        out.error(f"the keys are refused by {conn.where} (401 Unauthorized)")
    return _exit.OK if ok else _exit.FAILED


async def accounts(args: argparse.Namespace, out: Out) -> int:
    """List the organization's accounts."""
    async with connect(args, out) as conn:
        found = await conn.canvas.accounts.list()
    out.listing(
        found,
        ["id", "email", "name", "role", "created"],
        lambda a: [a.id, a.email, f"{a.first_name} {a.last_name}", a.role, _date(a.date_created)],
    )
    return _exit.OK


async def applications(args: argparse.Namespace, out: Out) -> int:
    """List the applications Canvas supports."""
    async with connect(args, out) as conn:
        found = await (await _scope(conn.canvas, args)).applications.list()
    out.listing(
        found,
        ["short name", "name", "credentials", "tags"],
        lambda a: [
            a.short_name,
            a.name,
            ", ".join(f.short_name + ("" if not f.optional else "?") for f in a.credential_fields),
            a.tag,
        ],
    )
    return _exit.OK


async def registered(args: argparse.Namespace, out: Out) -> int:
    """List an account's registered applications."""
    async with connect(args, out) as conn:
        found = await (await _scope(conn.canvas, args)).reg_applications.list()
    out.listing(
        found,
        ["id", "app", "tag text", "authenticated", "modified"],
        lambda r: (
            [r.id, r.short_name, r.tag_text, _yes(r.is_authenticated), _date(r.date_modified)]
        ),
    )
    return _exit.OK


async def templates(args: argparse.Namespace, out: Out) -> int:
    """List workflow templates."""
    async with connect(args, out) as conn:
        found = await (await _scope(conn.canvas, args)).templates.list()
    out.listing(
        found,
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
    return _exit.OK


async def workflows(args: argparse.Namespace, out: Out) -> int:
    """List an account's workflows."""
    async with connect(args, out) as conn:
        found = await (await _scope(conn.canvas, args)).workflows.list()
    out.listing(
        found,
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
    return _exit.OK


async def doctor(args: argparse.Namespace, out: Out) -> int:
    """Compare the server's own catalogue with what this SDK sends; fail on breaking drift."""
    async with connect(args, out) as conn:
        report = await conn.canvas.meta.check()
    if out.json:
        out.data(
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
            }
        )
    else:
        out.line(f"{conn.where}: {report}")
    return _exit.OK if report.ok else _exit.FAILED


# -- acting on one workflow ----------------------------------------------------------------


async def run(args: argparse.Namespace, out: Out) -> int:
    """Run a workflow, whole or a block range."""
    async with connect(args, out) as conn:
        view = await _account(conn.canvas, args.account)
        workflow = await _workflow(view, args.workflow)
        await workflow.run(from_block=args.from_block, till_block=args.till_block)
    blocks = ""
    if args.from_block or args.till_block:
        blocks = f" (blocks {args.from_block or 1} to {args.till_block or 'the last'})"
    if out.json:
        out.data(
            {
                "workflow_id": workflow.id,
                "started": True,
                "from_block": args.from_block,
                "till_block": args.till_block,
            }
        )
    else:
        out.line(f"started {workflow.name!r} ({workflow.id}){blocks}")
    return _exit.OK


async def schedule(args: argparse.Namespace, out: Out) -> int:
    """Schedule a workflow on a Quartz cron, showing the next fire times."""
    cron = Cron.parse(args.cron)  # checked before connecting
    _tz(args)
    async with connect(args, out) as conn:
        view = await _account(conn.canvas, args.account)
        workflow = await (await _workflow(view, args.workflow)).schedule(str(cron))
    times = _fire_times(cron, args)
    if out.json:
        out.data(
            {
                "workflow": workflow,
                "cron": str(cron),
                "description": cron.describe(),
                "next_fire_times": times,
            }
        )
        return _exit.OK
    out.line(f"scheduled {workflow.name!r} ({workflow.id}) on {cron}: {cron.describe()}")
    _print_times(out, times, args)
    return _exit.OK


async def unschedule(args: argparse.Namespace, out: Out) -> int:
    """Turn a workflow's scheduler off."""
    async with connect(args, out) as conn:
        view = await _account(conn.canvas, args.account)
        workflow = await (await _workflow(view, args.workflow)).unschedule()
    if out.json:
        out.data({"workflow": workflow})
    else:
        out.line(f"unscheduled {workflow.name!r} ({workflow.id})")
    return _exit.OK


async def cron_explain(args: argparse.Namespace, out: Out) -> int:
    """Explain a cron expression; no connection is made."""
    cron = Cron.from_unix(args.expression) if args.unix else Cron.parse(args.expression)
    times = _fire_times(cron, args)
    if out.json:
        out.data(
            {
                "expression": args.expression,
                "canonical": str(cron),
                "description": cron.describe(),
                "next_fire_times": times,
            }
        )
        return _exit.OK
    out.line(f"{cron}: {cron.describe()}")
    _print_times(out, times, args)
    return _exit.OK


def _print_times(out: Out, times: list[datetime], args: argparse.Namespace) -> None:
    zone = args.tz or "UTC"
    if not times:
        out.line("it never fires again")
        return
    out.line(f"next {len(times)} fire times ({zone}):")
    for when in times:
        out.line(f"  {when:%Y-%m-%d %H:%M:%S %a}")


# -- desired state ----------------------------------------------------------------------


async def plan(args: argparse.Namespace, out: Out) -> int:
    """Show what apply would change; write nothing."""
    state = _shards.load(args)
    shard = _shards.shard(args)
    async with connect(args, out) as conn:
        display = ProgressDisplay("plan", stream=out.stderr)
        try:
            report = await provision.plan(
                conn.canvas,
                state,
                replace=args.replace,
                prune=args.prune,
                concurrency=args.concurrency,
                on_progress=display,
                shard=shard,
            )
        finally:
            display.close()
    _write_report(report, args, out)
    if out.json:
        out.data(report.to_json())
    else:
        text = report.plan_text()
        if text:
            out.line(text)
            out.line()
        out.line("Plan: " + report.summary_line())
    if not report.ok:
        return _exit.FAILED
    if args.detailed_exitcode and report.pending:
        return _exit.PENDING
    return _exit.OK


async def apply(args: argparse.Namespace, out: Out) -> int:
    """Bring every account of the file (or of one shard) to its declared state."""
    state = _shards.load(args)
    shard = _shards.shard(args)
    requeue = bulk.Requeue(max_attempts=args.max_attempts, timeout=args.account_timeout)
    stop = bulk.Stop.after(args.deadline)
    async with (
        _shards.leased(args, shard, state, out) as session,
        connect(args, out, session=session) as conn,
    ):
        environ = environ_for(state.env_names(), conn, out)
        display = ProgressDisplay("apply", stream=out.stderr)
        try:
            with _stop_on_signals(stop, out) as signalled:
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
        finally:
            display.close()
    _write_report(report, args, out)
    if out.json:
        out.data(report.to_json())
    else:
        table = report.table()
        if table:
            out.line(table)
            out.line()
        out.line("Apply: " + report.summary_line())
    if signalled:
        return _exit.INTERRUPTED if signalled[0] == signal.SIGINT else _exit.TERMINATED
    return _exit.for_report(report)


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


def _write_report(report: RunReport, args: argparse.Namespace, out: Out) -> None:
    if not args.report:
        return
    import json  # noqa: PLC0415

    path = Path(args.report)
    try:
        path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        out.error(f"cannot write the report to {path}: {exc.strerror}")
        return
    out.info(f"report written to {path}")


# -- the emulator --------------------------------------------------------------------------


async def emulator(args: argparse.Namespace, out: Out) -> int:
    """Serve the bundled emulator until interrupted."""
    from canvas_async.testing import CanvasEmulator  # noqa: PLC0415

    async with CanvasEmulator(
        seed="samples", synthetic_accounts=args.accounts, auth=args.auth, port=args.port
    ) as emu:
        out.line(f"Canvas emulator listening at {emu.url} ({args.accounts} demo accounts)")
        out.line("Point canvas-async at it with (keys valid for this run only):")
        out.line(f"  export {_connect_var('ENV')}={emu.url}")
        out.line(f"  export {_connect_var('CONSUMER')}={emu.consumer}")
        out.line(f"  export {_connect_var('SECRET_KEY')}={emu.secret_key}")
        out.line("Press Ctrl-C to stop.")
        out.stdout.flush()
        await asyncio.Event().wait()
    return _exit.OK  # pragma: no cover - only Ctrl-C ends it


def _connect_var(name: str) -> str:
    return f"CANVAS_{name}"


# -- cells ----------------------------------------------------------------------------------


def _date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _time(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _yes(value: bool | None) -> str:
    return "yes" if value else "no"
