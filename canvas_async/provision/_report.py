"""What a plan or an apply found and did, per account: a table for people, JSON for scripts.

A :class:`RunReport` holds one :class:`AccountReport` per account of the
file, each with a :class:`~canvas_async.bulk.Status` (the bulk run's own, so
nothing is translated). For ``apply`` each account ends ``done``, ``failed``
(with the reason) or ``outcome-unknown``; with ``fail_fast`` the accounts
stopped early are ``cancelled`` or ``skipped``. An account apply wrote to is
``done`` only once read again and found as declared, without duplicates. For
``plan`` each account is ``in-sync``, ``changes``, ``drift`` (differences
apply leaves in place) or ``failed`` (its state could not be read). Every
change carries its own status (``planned``; ``done``, ``failed``,
``outcome-unknown``, or ``skipped`` after an earlier one failed), so a report
says exactly what was written; every account, the duplicates it holds and
whether running apply again would fix it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
from cattrs.gen import make_dict_unstructure_fn, override

from canvas_async._convert import converter
from canvas_async.bulk import Status
from canvas_async.provision._plan import Action, Change, Drift, Duplicate

#: Version of the JSON report's shape (4: a change not run is ``skipped``).
REPORT_FORMAT: Final = 4


@attrs.frozen
class ChangeResult:
    """One change and what became of it."""

    change: Change
    status: Status
    error: str | None = None


@attrs.frozen
class AccountReport:
    """One account's outcome.

    Attributes:
        label: The account as the file names it (id or e-mail).
        account_id: Its id, once known.
        status: How it ended or stands.
        changes: Each change with its status.
        drift: Drift left in place (``replace`` not asked for).
        notes: Remarks that need no write.
        reason: Why it is not done, for failed and unknown outcomes.
        operation: The API operation that failed, when known.
        step: What it was doing when it failed.
        attempts: How many times it was tried (apply): more than one after a
            transient failure, or after its check found it not yet converged.
        duplicates: What it holds more than once (apply: after its last
            read); extra workflows are also deleted by ``delete-duplicate``.
        unfixable: Whether it differs in what running apply again (with the
            same options) will not fix: drift without ``replace``, duplicate
            registrations. Set on accounts that fail for nothing else.
    """

    label: str
    account_id: uuid.UUID | None
    status: Status
    changes: tuple[ChangeResult, ...] = ()
    drift: tuple[Drift, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None
    operation: str | None = None
    step: str | None = None
    attempts: int = 0
    duplicates: tuple[Duplicate, ...] = ()
    unfixable: bool = False

    def count(self, status: Status) -> int:
        """Return how many changes have ``status``."""
        return sum(1 for c in self.changes if c.status is status)

    def by_action(self) -> str:
        """Count the changes by action: ``register 2, create-workflow 1`` (``""`` if none)."""
        counts = Counter(str(c.change.action) for c in self.changes)
        return ", ".join(f"{action} {n}" for action, n in counts.items())

    @property
    def heading(self) -> str:
        """The account as a plan heads its lines: its label, and its id where that differs."""
        if self.account_id and str(self.account_id) != self.label:
            return f"{self.label} ({self.account_id})"
        return self.label

    def plan_lines(self) -> list[tuple[str, str]]:
        """Return what a plan shows under this account, ``(mark, text)`` a line.

        The mark is a change's symbol (:data:`SYMBOLS`), ``! drift``, ``! duplicate``
        (a registration apply cannot remove) or ``#`` (a note).
        """
        return [
            *((SYMBOLS[c.change.action], c.change.describe()) for c in self.changes),
            *(("! drift", d.describe()) for d in self.drift),
            *(("! duplicate", d.describe()) for d in self.duplicates if not d.removable),
            *(("#", note) for note in self.notes),
        ]


def mark_column(mark: str) -> str:
    """A plan line's mark, indented: change symbols right-aligned, the rest below them."""
    return f"  {mark:>3}" if mark in SYMBOLS.values() else f"    {mark}"


#: How a plan marks each action (Terraform's ``+``, ``~``, ``-``).
SYMBOLS: Final = {
    Action.CREATE_ACCOUNT: "+",
    Action.REGISTER: "+",
    Action.CREATE_WORKFLOW: "+",
    Action.REPLACE_WORKFLOW: "-/+",
    Action.SCHEDULE: "~",
    Action.UNSCHEDULE: "~",
    Action.DELETE_WORKFLOW: "-",
    Action.DELETE_DUPLICATE: "-",
}


#: What each action counts as in a summary (Terraform's add / change / destroy).
_KINDS: Final = {
    action: tuple({"+": "add", "~": "change", "-": "destroy"}[mark] for mark in symbol.split("/"))
    for action, symbol in SYMBOLS.items()
}


def _summary_key(status: Status) -> str:
    """Return a status's key in :meth:`RunReport.summary` (``changes`` -> ``with_changes``)."""
    if status in (Status.CHANGES, Status.DRIFT):
        return f"with_{status}"
    return str(status).replace("-", "_")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


@attrs.frozen
class RunReport:
    """Every account's outcome of one plan or apply.

    Attributes:
        mode: ``"plan"`` or ``"apply"``.
        source: The desired-state file.
        accounts: One report per account, in file order.
        replace: Whether drifted workflows were to be recreated.
        prune: Whether undeclared workflows were to be deleted.
        elapsed: Seconds the run took.
        stopped: Why the run stopped before every account was done (a
            deadline, a signal); None when it did not.
        shard: The shard converged (``I/N``), when the run was one shard.
        file_hash: The file's content hash, when it was pinned (see
            :mod:`canvas_async.provision.shard`).
    """

    mode: str
    source: str
    accounts: tuple[AccountReport, ...]
    replace: bool = False
    prune: bool = False
    elapsed: float = 0.0
    stopped: str | None = None
    shard: str | None = None
    file_hash: str | None = None

    def count(self, status: Status) -> int:
        """Return how many accounts have ``status``."""
        return sum(1 for a in self.accounts if a.status is status)

    @property
    def ok(self) -> bool:
        """Whether every account is done (apply) or readable (plan)."""
        bad = _ENDED_UNDONE | {Status.OUTCOME_UNKNOWN}
        return not any(a.status in bad for a in self.accounts)

    @property
    def pending(self) -> bool:
        """Whether a plan found anything to change, drift or a duplicate."""
        return any(a.status in (Status.CHANGES, Status.DRIFT) for a in self.accounts)

    @property
    def unfixable(self) -> int:
        """How many accounts differ in what running apply again will not fix.

        Drift without ``replace``, and duplicate registrations (the API cannot
        delete them): someone has to act (``--replace``, or remove the extra
        registrations in Canvas) before another run can converge them.
        """
        return sum(1 for a in self.accounts if a.unfixable)

    @property
    def stuck(self) -> bool:
        """Whether the run is over for good: the only accounts not done are ones
        that running apply again will not fix (see :attr:`unfixable`)."""
        failed = [a for a in self.accounts if a.status in _ENDED_UNDONE]
        return (
            bool(failed)
            and all(a.unfixable for a in failed)
            and not self.count(Status.OUTCOME_UNKNOWN)  # running again does help these
        )

    def summary(self) -> dict[str, int]:
        """Return the counts a summary shows: accounts by status, then changes by kind.

        Account counts and change totals never share a key: ``with_changes``
        and ``with_drift`` count plan's accounts, ``changes`` counts the
        changes planned (plan) or made (apply), split into ``add``,
        ``change`` and ``destroy`` (a replacement is one add and one
        destroy), and ``drifted_workflows`` counts drift left in place.
        ``duplicate_workflows`` and ``duplicate_registrations`` count the
        extra objects found (apply: left after its last read), ``unfixable``
        the accounts that running apply again will not fix.
        """
        counts = {_summary_key(s): self.count(s) for s in _STATUSES[self.mode]}
        done = Status.PLANNED if self.mode == "plan" else Status.DONE
        made = [r.change.action for a in self.accounts for r in a.changes if r.status is done]
        kinds = Counter(kind for action in made for kind in _KINDS[action])
        return {
            "accounts": len(self.accounts),
            **counts,
            "changes": len(made),
            **{kind: kinds[kind] for kind in ("add", "change", "destroy")},
            "drifted_workflows": sum(len(a.drift) for a in self.accounts),
            "duplicate_workflows": self._extra("workflow"),
            "duplicate_registrations": self._extra("registration"),
            "unfixable": self.unfixable,
        }

    def _extra(self, kind: str) -> int:
        return sum(len(d.extra) for a in self.accounts for d in a.duplicates if d.kind == kind)

    def to_json(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready data (no secret is ever in it)."""
        data: dict[str, Any] = _JSON.unstructure(self)
        return {"format": REPORT_FORMAT, **data, "summary": self.summary()}

    def summary_line(self) -> str:
        """Return one line of counts, e.g. ``50 accounts: 48 done, 2 failed; 130 changes made``."""
        summary = self.summary()
        parts = [
            f"{summary[_summary_key(s)]:,} {s}"
            for s in _STATUSES[self.mode]
            if summary[_summary_key(s)] or s in (Status.DONE, Status.FAILED)
        ]
        verb = "to make" if self.mode == "plan" else "made"
        line = f"{_plural(len(self.accounts), 'account')}: {', '.join(parts)}"
        line += f"; {_plural(summary['changes'], 'change')} {verb}"
        if self.stopped:
            left = self.count(Status.SKIPPED) + self.count(Status.CANCELLED)
            line += f"; stopped early ({self.stopped}): {_plural(left, 'account')} left"
        if summary["drifted_workflows"]:
            line += (
                f"; {_plural(summary['drifted_workflows'], 'drifted workflow')} "
                "(--replace recreates them)"
            )
        if summary["duplicate_registrations"]:
            line += (
                f"; {_plural(summary['duplicate_registrations'], 'duplicate registration')} "
                "(the API cannot delete them: remove them in Canvas)"
            )
        if self.mode == "apply" and summary["duplicate_workflows"]:
            line += f"; {_plural(summary['duplicate_workflows'], 'duplicate workflow')} left"
        return line + f" in {self.elapsed:.1f} s"

    def table(self, *, everything: bool = False) -> str:
        """Return the summary table: one row per account that changed or is not done.

        Args:
            everything: Also list the accounts with nothing to report.
        """
        shown = [a for a in self.accounts if everything or _worth_a_row(a)]
        rows = [[a.label, str(a.status), _changes_cell(a), _detail(a)] for a in shown]
        quiet = len(self.accounts) - len(shown)
        out = format_table(["account", "status", "changes", "detail"], rows) if rows else ""
        if quiet:
            what = "in sync" if self.mode == "plan" else "done, nothing to change"
            out += ("\n" if out else "") + f"({quiet} accounts {what})"
        return out

    def plan_text(self) -> str:
        """Return the plan as people read it: per account, its changes, drift and notes."""
        blocks = []
        for account in self.accounts:
            if not _worth_a_row(account) and not account.notes:
                continue
            lines = [account.heading]
            if account.status is Status.FAILED:
                lines.append(f"  failed: {account.reason}")
            lines.extend(f"{mark_column(mark)} {text}" for mark, text in account.plan_lines())
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


#: How an account ends when it was not brought to its state (outcome unknown aside).
_ENDED_UNDONE: Final = frozenset({Status.FAILED, Status.CANCELLED, Status.SKIPPED})

#: The account statuses a summary counts, per mode, in the order it shows them.
_STATUSES: Final = {
    "plan": (Status.IN_SYNC, Status.CHANGES, Status.DRIFT, Status.FAILED),
    "apply": (Status.DONE, Status.FAILED, Status.OUTCOME_UNKNOWN, Status.CANCELLED, Status.SKIPPED),
}


# The client's converter, writing field names as they are (snake_case). Ids, enums and
# datetimes convert as everywhere else; a change's specs are left out (the action, target
# and detail say what it was).
_JSON: Final = converter.copy()
_NO_SPECS: Final[dict[str, Any]] = dict.fromkeys(("application", "workflow"), override(omit=True))
_JSON.register_unstructure_hook_factory(
    attrs.has,
    lambda cls: make_dict_unstructure_fn(cls, _JSON, **(_NO_SPECS if cls is Change else {})),
)


def _worth_a_row(account: AccountReport) -> bool:
    return bool(
        account.changes or account.drift or account.duplicates or account.status not in _QUIET
    )


_QUIET: Final = frozenset({Status.DONE, Status.IN_SYNC})


def _changes_cell(account: AccountReport) -> str:
    total, done = len(account.changes), account.count(Status.DONE)
    if account.status in (Status.CHANGES, Status.DRIFT, Status.IN_SYNC) or done == total:
        return str(total)
    return f"{done}/{total}"


def _detail(account: AccountReport) -> str:
    if account.reason:
        return account.reason
    parts = [account.by_action()] if account.changes else []
    if account.drift:
        parts.append(f"drift {len(account.drift)}")
    if account.duplicates:
        parts.append(f"duplicates {sum(len(d.extra) for d in account.duplicates)}")
    return ", ".join(parts)


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, max_width: int = 60
) -> str:
    """Return ``rows`` as an aligned text table; the last column is never cut.

    Args:
        headers: Column titles.
        rows: Cells as text.
        max_width: Widest a column other than the last may get; longer cells
            are cut with an ellipsis.
    """
    body = [[" ".join(str(cell).split()) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row[:-1]):
            widths[i] = min(max(widths[i], len(cell)), max_width)
    lines = []
    for row in [list(headers), ["-" * w for w in widths[:-1]] + ["-" * len(headers[-1])], *body]:
        cells = [
            cell[: width - 1] + "…" if len(cell) > width else cell.ljust(width)
            for cell, width in zip(row[:-1], widths, strict=False)
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
