"""Exit statuses scripts can rely on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from canvas_async.provision._report import RunReport

OK: Final = 0
"""Everything asked for is done (apply: every account done)."""
FAILED: Final = 1
"""Something failed: an API error, refused keys, an account that failed (or
was found not converged after apply) for a reason another run may not meet."""
USAGE: Final = 2
"""Bad input, refused before anything was sent: arguments, the desired-state
file, a cron expression, an unset environment reference, missing keys."""
UNKNOWN: Final = 3
"""No failure, but a write's outcome is unknown: run ``apply`` again."""
PENDING: Final = 4
"""``plan --detailed-exitcode``: there are changes, drift or duplicates."""
UNFIXABLE: Final = 5
"""``apply``: the only accounts that failed differ in what running apply
again will not fix: drift without ``--replace``, or duplicate registrations
(the API cannot delete them; remove the extra ones in Canvas). Nothing to
retry until someone acts: a Kubernetes Job's ``podFailurePolicy`` can
``FailIndex`` on it."""
INTERRUPTED: Final = 130
"""Interrupted (Ctrl-C, SIGINT): ``apply`` started no new work, let what was
in flight finish and reported what was done; a second Ctrl-C cancels it."""
TERMINATED: Final = 143
"""Terminated (SIGTERM): as for :data:`INTERRUPTED`."""
LEASE_PASSED: Final = 142
"""Ended by the kernel (128 + SIGALRM): the process was paused while a write
under a Kubernetes or Temporal lease was under way, and resumed after the
lease had passed to another run; it sent nothing more (see
:func:`canvas_async.provision.lease.watchdog`). Retry: the other run holds or
finished the work."""
PIPE_CLOSED: Final = 141
"""The reader of stdout went away (``canvas-async plan FILE | head -2``): 128 +
SIGPIPE, what a Unix tool killed by it reports; quietly, with ``--report``
written if it was asked for."""


def for_report(report: RunReport) -> int:
    """Return the exit status of an apply (:attr:`UNFIXABLE` when ``report.stuck``)."""
    from canvas_async.bulk import Status  # noqa: PLC0415 - keeps --help light

    failed = [
        a for a in report.accounts if a.status in (Status.FAILED, Status.CANCELLED, Status.SKIPPED)
    ]
    if any(not a.unfixable for a in failed):
        return FAILED
    if report.count(Status.OUTCOME_UNKNOWN):
        return UNKNOWN  # running again does help these
    return UNFIXABLE if failed else OK
