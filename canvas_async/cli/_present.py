"""How a plan and an apply read on screen.

A plan reads like Terraform's: one ``+ ~ -`` line per distinct change, the
same change on many accounts grouped into one line, and a last line
``Plan: N to add, M to change, K to destroy, across A of B accounts.``
(followed by one about duplicates apply cannot remove, if any). An apply
ends with its summary and then every account that needs attention (failed or
outcome unknown) with its reason, so the end of the output is what needs
reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from rich.markup import escape

from canvas_async.bulk import Status
from canvas_async.cli._output import Out, grouped, named
from canvas_async.provision._plan import Action
from canvas_async.provision._report import (
    SYMBOLS,
    AccountReport,
    RunReport,
    mark_column,
)

#: The colour of each symbol of :data:`~canvas_async.provision._report.SYMBOLS`.
_COLOURS: Final = {"+": "green", "-/+": "yellow", "~": "yellow", "-": "red"}
#: The colour of each mark of :meth:`AccountReport.plan_lines` (a note's line is dim).
_MARK_COLOURS: Final = {**_COLOURS, "! drift": "yellow", "! duplicate": "red"}


def plan_lines(report: RunReport, *, verbose: bool = False) -> Iterator[str]:
    """Yield the plan as rich markup lines, grouped across accounts unless ``verbose``."""
    if verbose:
        for account in report.accounts:
            lines = account.plan_lines()
            if lines:
                yield f"[bold]{escape(account.heading)}[/]"
            for mark, text in lines:
                if mark == "#":  # a note: dim, all of it
                    yield f"[dim]{mark_column(mark)} {escape(text)}[/]"
                else:
                    yield f"[{_MARK_COLOURS[mark]}]{mark_column(mark)}[/] {escape(text)}"
    else:
        changes = grouped(
            (f"{c.change.action}\0{c.change.describe()}", a.label)
            for a in report.accounts
            for c in a.changes
        )
        for key, labels in changes.items():
            action, text = key.split("\0")
            symbol = SYMBOLS[Action(action)]
            on = "" if action == "create-account" else f" on {named(labels)}"
            yield f"[{_COLOURS[symbol]}]{symbol:>3}[/] {escape(text)}{on}"
        drift = grouped((d.describe(), a.label) for a in report.accounts for d in a.drift)
        for text, labels in drift.items():
            yield f"[yellow]  ![/] drift {escape(text)} on {named(labels)}"
        kept = grouped(
            (d.describe(), a.label)
            for a in report.accounts
            for d in a.duplicates
            if not d.removable
        )
        for text, labels in kept.items():
            yield f"[red]  ![/] duplicate {escape(text)} on {named(labels)}"
        notes = grouped((n, a.label) for a in report.accounts for n in a.notes)
        for text, labels in notes.items():
            yield f"[dim]  # {escape(text)} on {named(labels)}[/]"
    failed = [a for a in report.accounts if a.status is Status.FAILED]
    if failed:
        yield ""
        yield f"[red]could not read {len(failed):,} of {len(report.accounts):,} accounts:[/]"
        yield from (_attention(a) for a in failed)
    if any(a.drift for a in report.accounts) and not report.replace:
        yield ""
        yield (
            "drift is left in place by apply (and the account counts as failed); "
            "apply --replace deletes and recreates those workflows"
        )


def touched(report: RunReport) -> int:
    """Return how many accounts a plan would change."""
    return sum(1 for a in report.accounts if a.changes)


def show_plan(report: RunReport, out: Out, *, verbose: bool) -> None:
    """Print the plan and its last line (and one about duplicates apply cannot remove)."""
    for line in plan_lines(report, verbose=verbose):
        out.styled(line)
    if any(a.changes or a.drift or a.duplicates or a.notes for a in report.accounts):
        out.line()
    summary = report.summary()
    line = (
        f"Plan: {summary['add']:,} to add, {summary['change']:,} to change, "
        f"{summary['destroy']:,} to destroy, across {touched(report):,} of "
        f"{len(report.accounts):,} accounts"
    )
    if report.unfixable:
        # Counted here, not only above: "0 to change" must not read as "in sync".
        line += f"; {report.unfixable:,} more that apply will not fix (see above)"
    out.styled(f"[bold]{line}.[/]")
    kept = summary["duplicate_registrations"]
    if kept:
        accounts = sum(1 for a in report.accounts if any(not d.removable for d in a.duplicates))
        noun = "registration" if kept == 1 else "registrations"
        where = "account" if accounts == 1 else "accounts"
        out.styled(
            f"[bold red]Not fixed by apply: {kept:,} duplicate {noun} on {accounts:,} {where} "
            "(the API cannot delete registrations: remove them in Canvas).[/]"
        )


def _attention(account: AccountReport) -> str:
    """One line for an account that needs attention: who, how it ended, and why."""
    mark = "[red]  x[/]" if account.status is Status.FAILED else "[yellow]  ?[/]"
    where = ""
    if account.operation or account.step:
        where = " (" + ", ".join(p for p in (account.step, account.operation) if p) + ")"
    reason = account.reason or str(account.status)
    return f"{mark} {escape(account.label)}: {account.status}{where}: {escape(reason)}"


def attention_lines(report: RunReport) -> Iterator[str]:
    """Yield every failed and outcome-unknown account, then a count of those not started."""
    needs = [a for a in report.accounts if a.status in (Status.FAILED, Status.OUTCOME_UNKNOWN)]
    stopped = [a for a in report.accounts if a.status in (Status.CANCELLED, Status.SKIPPED)]
    if needs:
        noun = "account needs" if len(needs) == 1 else "accounts need"
        yield f"[bold]{len(needs):,} {noun} attention:[/]"
        yield from (_attention(a) for a in needs)
    if stopped:
        why = report.stopped or "--fail-fast"
        yield (
            f"[yellow]{len(stopped):,} accounts were not finished[/] (stopped early: {why}); "
            "apply again to converge them"
        )
    if any(a.status is Status.OUTCOME_UNKNOWN for a in report.accounts):
        yield "outcome unknown: the write may or may not have happened; apply again to settle it"
    if any(a.drift for a in needs):
        yield "drift left in place: apply --replace recreates those workflows"
    if any(not d.removable for a in needs for d in a.duplicates):
        yield (
            "duplicate registrations: the API cannot delete them; remove the extra ones in "
            "Canvas (ids above), then apply again"
        )


def show_apply(report: RunReport, out: Out, *, verbose: bool) -> None:
    """Print an apply's outcome: (every account with --verbose,) the summary, what needs care."""
    if verbose:
        out.table(
            ["account", "status", "changes", "detail"],
            [
                [
                    a.label,
                    str(a.status),
                    str(len(a.changes)),
                    a.reason or a.by_action() or "nothing to change",
                ]
                for a in report.accounts
            ],
        )
        out.line()
    out.styled(f"[bold]Apply: {escape(report.summary_line())}[/]")
    for line in attention_lines(report):
        out.styled(line)
