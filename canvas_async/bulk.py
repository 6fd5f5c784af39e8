"""Fan out over many managed accounts: one result per account, never one for all.

:func:`for_each_account` runs an async function once per account, each through
its own :meth:`Canvas.for_account <canvas_async.Canvas.for_account>` view, a
bounded number at a time; the client's own limits (connections, rate) still
apply underneath. Every account gets an :class:`ItemResult`: the value, or the
exception with the API operation and the caller's :func:`step` that failed.
One account's failure never stops the others unless ``fail_fast`` is asked
for, and leaving early (an exception, a cancellation, a ``break``) cancels and
awaits everything still running.

The idempotent helpers (:func:`ensure_registered`, :func:`ensure_workflow`,
:func:`ensure_schedule`) make a function safe to run again after any failure:
they look before they write, and resolve an :class:`OutcomeUnknownError` by
reading the state back once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import time
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import attrs

from ._errors import (
    CanvasError,
    OutcomeUnknownError,
    ServerError,
    TransportError,
    ValidationError,
)

if TYPE_CHECKING:
    from ._client import AccountView, Canvas
    from .models import Account, Application, RegApplication, Workflow, WorkflowTemplate

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DOUBTFUL",
    "BulkReport",
    "BulkRun",
    "ItemResult",
    "Outcome",
    "Progress",
    "WriteNotDoneError",
    "concurrency_of",
    "current_step",
    "each",
    "each_account",
    "ensure_registered",
    "ensure_schedule",
    "ensure_workflow",
    "for_each_account",
    "read_back",
    "run_each",
    "step",
]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - the item type, as in Iterable[I]
K = TypeVar("K", bound=Hashable)

#: How many items run at once when neither the call nor the client says.
DEFAULT_CONCURRENCY: Final = 16


class Outcome(enum.StrEnum):
    """How one item ended."""

    DONE = "done"
    """The function returned."""
    FAILED = "failed"
    """The function raised; :attr:`ItemResult.error` says what."""
    OUTCOME_UNKNOWN = "outcome-unknown"
    """A write may or may not have taken effect (:class:`OutcomeUnknownError`)."""
    CANCELLED = "cancelled"
    """Started, then cancelled because another item failed (``fail_fast``)."""
    SKIPPED = "skipped"
    """Never started because another item failed (``fail_fast``)."""


@attrs.frozen
class ItemResult(Generic[K, T]):
    """What happened to one item (one account).

    Attributes:
        key: The item's key: the account id for :func:`for_each_account`.
        index: The item's position in the input.
        outcome: How it ended.
        value: The function's return value when :attr:`outcome` is ``DONE``.
        error: The exception it raised, if any.
        operation: The API operation that failed (e.g. ``"Workflow (POST)"``),
            when the error names one.
        step: The innermost :func:`step` label that was active when it failed.
        elapsed: Seconds the function ran (0 when skipped).
    """

    key: K
    index: int
    outcome: Outcome
    value: T | None = None
    error: BaseException | None = attrs.field(default=None, eq=False)
    operation: str | None = None
    step: str | None = None
    elapsed: float = attrs.field(default=0.0, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the function returned."""
        return self.outcome is Outcome.DONE

    def unwrap(self) -> T:
        """Return the value, or raise what the function raised.

        Raises:
            CanvasError: For a cancelled or skipped item, which has neither.
        """
        if self.error is not None:
            raise self.error
        if self.outcome is not Outcome.DONE:
            raise CanvasError(f"{self.key}: {self.outcome}")
        return self.value  # type: ignore[return-value]  # DONE carries the value

    def describe_error(self) -> str:
        """Return a one-line reason for a result that is not ``DONE``."""
        if self.outcome is Outcome.DONE:
            return ""
        if self.error is None:
            return str(self.outcome)
        text = str(self.error) or type(self.error).__name__
        prefix = f"{self.step}: " if self.step else ""
        return prefix + " ".join(text.split())


@attrs.frozen
class Progress:
    """Counts at one moment of a bulk run, for progress displays.

    Attributes:
        total: Items in the run.
        done: Items whose function returned.
        failed: Items whose function raised.
        unknown: Items that ended with an unknown outcome.
        cancelled: Items cancelled or skipped after a failure (``fail_fast``).
        running: Items started and not yet finished.
    """

    total: int
    done: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    running: int = 0

    @property
    def finished(self) -> int:
        """Items that ended, whichever way."""
        return self.done + self.failed + self.unknown + self.cancelled


@attrs.frozen
class BulkReport(Generic[K, T]):
    """Every item's result, in input order."""

    results: tuple[ItemResult[K, T], ...]

    def __iter__(self) -> Iterator[ItemResult[K, T]]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        """Whether every item is ``DONE``."""
        return all(r.ok for r in self.results)

    def count(self, outcome: Outcome) -> int:
        """Return how many items ended with ``outcome``."""
        return sum(1 for r in self.results if r.outcome is outcome)

    def failures(self) -> list[ItemResult[K, T]]:
        """Return the results that are not ``DONE``."""
        return [r for r in self.results if not r.ok]

    def values(self) -> dict[K, T]:
        """Return the value of every ``DONE`` item by key."""
        return {r.key: r.value for r in self.results if r.ok}  # type: ignore[misc]


# -- steps: the caller's own names for what an item was doing -------------------


@attrs.define
class _Trace:
    stack: list[str] = attrs.Factory(list)
    failed_step: str | None = None


_TRACE: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar(
    "canvas_async_bulk_trace", default=None
)


@contextlib.contextmanager
def step(label: str) -> Iterator[None]:
    """Name what the current item is doing, for its result if it fails.

    Outside a bulk run this does nothing. Steps nest; the innermost one active
    when the exception was raised is reported.

    Args:
        label: A short description, e.g. ``"register QUIN"``.
    """
    trace = _TRACE.get()
    if trace is None:
        yield
        return
    trace.stack.append(label)
    try:
        yield
    except BaseException:
        if trace.failed_step is None:
            trace.failed_step = label
        raise
    finally:
        trace.stack.pop()


def current_step() -> str | None:
    """Return the innermost active :func:`step` label of the current item."""
    trace = _TRACE.get()
    return trace.stack[-1] if trace is not None and trace.stack else None


# -- the engine ------------------------------------------------------------------


def _check_concurrency(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"concurrency must be a positive integer, not {value!r}")
    return value


@attrs.define
class BulkRun(Generic[I, K, T]):
    """A bulk run whose results arrive as they complete.

    Use it as an async context manager and iterate it; leaving the block, by
    any path, cancels and awaits whatever is still running::

        async with each(items, fn) as run:
            async for result in run:
                print(result.key, result.outcome)
        report = run.report()

    Attributes:
        concurrency: Most items running at once.
        fail_fast: Stop at the first item that does not end ``DONE``: running
            items are cancelled and the rest skipped, each still reported.
    """

    _items: list[I]
    _fn: Callable[[I], Awaitable[T]]
    _key: Callable[[I], K]
    concurrency: int = attrs.field(converter=_check_concurrency)
    fail_fast: bool = False
    _on_progress: Callable[[Progress], object] | None = None
    _results: dict[int, ItemResult[K, T]] = attrs.Factory(dict)
    _running: dict[asyncio.Task[ItemResult[K, T]], int] = attrs.Factory(dict)
    _started: bool = False
    _gen: AsyncGenerator[ItemResult[K, T], None] | None = None

    async def __aenter__(self) -> BulkRun[I, K, T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[ItemResult[K, T]]:
        if self._started:
            raise RuntimeError("a BulkRun can be iterated only once")
        self._started = True
        self._gen = self._iterate()
        return self._gen

    async def aclose(self) -> None:
        """Cancel and await every item still running."""
        gen, self._gen = self._gen, None
        if gen is not None:
            await gen.aclose()
        await self._cancel_running()

    def report(self) -> BulkReport[K, T]:
        """Return the results so far, in input order."""
        return BulkReport(tuple(self._results[i] for i in sorted(self._results)))

    def progress(self) -> Progress:
        """Return the counts so far."""
        counts = dict.fromkeys(Outcome, 0)
        for result in self._results.values():
            counts[result.outcome] += 1
        return Progress(
            total=len(self._items),
            done=counts[Outcome.DONE],
            failed=counts[Outcome.FAILED],
            unknown=counts[Outcome.OUTCOME_UNKNOWN],
            cancelled=counts[Outcome.CANCELLED] + counts[Outcome.SKIPPED],
            running=len(self._running),
        )

    async def _iterate(self) -> AsyncGenerator[ItemResult[K, T], None]:
        pending = iter(enumerate(self._items))
        stopping = False
        try:
            self._report_progress()
            while True:
                while not stopping and len(self._running) < self.concurrency:
                    nxt = next(pending, None)
                    if nxt is None:
                        break
                    index, item = nxt
                    task = asyncio.create_task(self._call(index, item))
                    self._running[task] = index
                if not self._running:
                    break
                finished, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                # Yield in input order among those that finished together, so
                # runs are reproducible when items finish in the same tick.
                for task in sorted(finished, key=self._running.__getitem__):
                    index = self._running.pop(task)
                    result = self._settle(task, index)
                    self._results[index] = result
                    self._report_progress()
                    yield result
                    if self.fail_fast and not result.ok and not stopping:
                        stopping = True
                        for other in self._running:
                            other.cancel()
            if stopping:
                for index, item in pending:
                    skipped: ItemResult[K, T] = ItemResult(self._key(item), index, Outcome.SKIPPED)
                    self._results[index] = skipped
                    self._report_progress()
                    yield skipped
        finally:
            await self._cancel_running()

    def _settle(self, task: asyncio.Task[ItemResult[K, T]], index: int) -> ItemResult[K, T]:
        if task.cancelled():
            return ItemResult(self._key(self._items[index]), index, Outcome.CANCELLED)
        return task.result()  # _call never raises anything but CancelledError

    async def _call(self, index: int, item: I) -> ItemResult[K, T]:
        # Runs in its own task, so the trace lives in that task's context only.
        trace = _Trace()
        _TRACE.set(trace)
        key = self._key(item)
        start = time.monotonic()
        try:
            value = await self._fn(item)
        except Exception as exc:  # one item's failure must not stop the others
            outcome = (
                Outcome.OUTCOME_UNKNOWN if isinstance(exc, OutcomeUnknownError) else Outcome.FAILED
            )
            operation = getattr(exc, "operation", None)
            return ItemResult(
                key,
                index,
                outcome,
                error=exc,
                operation=operation if isinstance(operation, str) else None,
                step=trace.failed_step,
                elapsed=time.monotonic() - start,
            )
        return ItemResult(key, index, Outcome.DONE, value, elapsed=time.monotonic() - start)

    async def _cancel_running(self) -> None:
        if not self._running:
            return
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        # Wait even if we are being cancelled ourselves: no task may outlive
        # the run. A second cancellation of this wait is passed on at the end.
        cancelled_here = False
        while True:
            try:
                await asyncio.wait(tasks)
                break
            except asyncio.CancelledError:
                cancelled_here = True
        for task, index in list(self._running.items()):
            if task.done() and index not in self._results:
                self._results[index] = self._settle(task, index)
        self._running.clear()
        if cancelled_here:
            raise asyncio.CancelledError

    def _report_progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress())


def each(
    items: Iterable[I],
    fn: Callable[[I], Awaitable[T]],
    *,
    key: Callable[[I], K],
    concurrency: int = DEFAULT_CONCURRENCY,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkRun[I, K, T]:
    """Return a :class:`BulkRun` of ``fn`` over ``items``, to iterate as they complete.

    Args:
        items: The items; consumed at once.
        fn: The async function to run once per item.
        key: Names an item in its result (e.g. its account id).
        concurrency: Most items running at once.
        fail_fast: Stop at the first item that does not end ``DONE``.
        on_progress: Called with a :class:`Progress` at the start and after
            every result.
    """
    return BulkRun(
        list(items),
        fn,
        key,
        concurrency=concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    )


async def run_each(
    items: Iterable[I],
    fn: Callable[[I], Awaitable[T]],
    *,
    key: Callable[[I], K],
    concurrency: int = DEFAULT_CONCURRENCY,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkReport[K, T]:
    """Run ``fn`` once per item and return every result; see :func:`each`."""
    async with each(
        items,
        fn,
        key=key,
        concurrency=concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    ) as run:
        async for _ in run:
            pass
    return run.report()


# -- accounts ----------------------------------------------------------------------


def _account_id(account: Account | uuid.UUID | str) -> uuid.UUID:
    if isinstance(account, uuid.UUID):
        return account
    if isinstance(account, str):
        try:
            return uuid.UUID(account)
        except ValueError:
            raise ValidationError(f"not an account id: {account!r}") from None
    return account.id


def concurrency_of(canvas: Canvas) -> int:
    """Return how many accounts to handle at once: the client's ``max_concurrency``."""
    return canvas.max_concurrency


def each_account(
    canvas: Canvas,
    accounts: Iterable[Account | uuid.UUID | str],
    fn: Callable[[AccountView], Awaitable[T]],
    *,
    concurrency: int | None = None,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkRun[uuid.UUID, uuid.UUID, T]:
    """Return a :class:`BulkRun` of ``fn`` over ``accounts``' views.

    Args:
        canvas: The client; every view shares its session and limits.
        accounts: Accounts, account ids or their text; checked before anything
            runs.
        fn: Called with ``canvas.for_account(id)`` once per account.
        concurrency: Most accounts in progress at once; the client's
            ``max_concurrency`` when omitted.
        fail_fast: Stop at the first account that does not end ``DONE``.
        on_progress: Called with a :class:`Progress` after every account.
    """
    ids = [_account_id(a) for a in accounts]

    async def call(account_id: uuid.UUID) -> T:
        return await fn(canvas.for_account(account_id))

    return BulkRun(
        ids,
        call,
        _identity,
        concurrency=concurrency_of(canvas) if concurrency is None else concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    )


def _identity(value: uuid.UUID) -> uuid.UUID:
    return value


async def for_each_account(
    canvas: Canvas,
    accounts: Iterable[Account | uuid.UUID | str],
    fn: Callable[[AccountView], Awaitable[T]],
    *,
    concurrency: int | None = None,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkReport[uuid.UUID, T]:
    """Run ``fn`` once per account, concurrently; return every account's result.

    See :func:`each_account` for the arguments. Nothing ``fn`` raises escapes:
    read it from the report (:meth:`BulkReport.failures`).
    """
    async with each_account(
        canvas,
        accounts,
        fn,
        concurrency=concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    ) as run:
        async for _ in run:
            pass
    return run.report()


# -- idempotent helpers --------------------------------------------------------

#: Failures of a create after which it may have taken effect: read back first.
DOUBTFUL: Final = (OutcomeUnknownError, TransportError, ServerError)


class WriteNotDoneError(CanvasError):
    """A write whose outcome was in doubt did not take effect: reading back showed so.

    Attributes:
        operation: The operation of the write that failed.
    """

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{cause} (read back: it did not take effect)")
        operation = getattr(cause, "operation", None)
        self.operation = operation if isinstance(operation, str) else None


async def read_back(exc: Exception, read: Callable[[], Awaitable[list[T]]]) -> list[T]:
    """Read once to settle a create that failed with ``exc`` (one of :data:`DOUBTFUL`).

    A server error that leaves no doubt (a 501, say) is raised again at once.
    When the read fails too, the outcome stays unknown, and that is raised
    as an :class:`OutcomeUnknownError`.
    """
    if isinstance(exc, ServerError) and exc.status not in (500, 502, 504):
        raise exc
    try:
        with step("read back after an unknown outcome"):
            return await read()
    except CanvasError as read_error:
        if isinstance(exc, OutcomeUnknownError):
            raise exc from read_error
        unknown = OutcomeUnknownError(
            f"{exc}; reading back failed too, so it may or may not have taken effect",
            operation=str(getattr(exc, "operation", "write")),
            account_id=getattr(exc, "account_id", None),
        )
        raise unknown from exc


def _matches_app(reg: RegApplication, app: Application, tag_text: str) -> bool:
    return reg.application_id == app.id and reg.tag_text == tag_text


async def ensure_registered(
    view: AccountView,
    application: Application | str,
    *,
    tag_text: str,
    credentials: Mapping[str, object],
) -> tuple[RegApplication, bool]:
    """Find the account's registration of ``application`` tagged ``tag_text``, or make it.

    The tag text is the registration's identity: credentials cannot be read
    back, so a changed credential needs a new tag text to be registered.

    Args:
        view: The account's view.
        application: The application, or its short name.
        tag_text: The registration's tag text.
        credentials: The credential values, sent only when registering.

    Returns:
        The registration, and whether this call created it.
    """
    app = await view.applications.get(application) if isinstance(application, str) else application
    with step(f"find {app.short_name} {tag_text!r}"):
        existing = await view.reg_applications.list()
    found = _first(r for r in existing if _matches_app(r, app, tag_text))
    if found is not None:
        return found, False
    with step(f"register {app.short_name} {tag_text!r}"):
        try:
            created = await view.reg_applications.create(
                app, tag_text=tag_text, credentials=credentials
            )
        except DOUBTFUL as exc:
            # The request may have registered it: look once before giving up.
            again = await read_back(exc, view.reg_applications.list)
            found = _first(r for r in again if _matches_app(r, app, tag_text))
            if found is None:
                raise WriteNotDoneError(exc) from exc
            return found, True
    return created, True


async def ensure_workflow(
    view: AccountView,
    *,
    name: str,
    template: WorkflowTemplate | uuid.UUID | str,
    applications: Mapping[str, RegApplication | uuid.UUID | str],
    variables: Mapping[str, Mapping[str, Any]] | None = None,
    description: str | None = None,
) -> tuple[Workflow, bool]:
    """Find the account's workflow called ``name``, or create it from ``template``.

    An existing workflow is returned as it is: its variables cannot be read
    back, so to change them, delete it and call again (or use
    :mod:`canvas_async.provision`, which tracks them).

    Returns:
        The workflow, and whether this call created it.
    """
    with step(f"find workflow {name!r}"):
        existing = await view.workflows.list()
    found = _first(w for w in existing if w.name == name)
    if found is not None:
        return found, False
    with step(f"create workflow {name!r}"):
        if isinstance(template, uuid.UUID | str):
            tpl = await view.templates.get(template)
        else:
            tpl = template
        try:
            created = await view.workflows.create(
                tpl,
                name=name,
                applications=applications,
                variables=variables,
                description=description,
            )
        except DOUBTFUL as exc:
            again = await read_back(exc, view.workflows.list)
            found = _first(w for w in again if w.name == name)
            if found is None:
                raise WriteNotDoneError(exc) from exc
            return found, True
    return created, True


async def ensure_schedule(workflow: Workflow, cron: str | None) -> tuple[Workflow, bool]:
    """Schedule ``workflow`` on ``cron``, or unschedule it for None, only if that changes it.

    Crons are compared in their canonical form, so ``0 0/5 * ? * *`` and
    ``0 0/5 * ? * * *`` are the same schedule.

    Returns:
        The workflow as it now is, and whether this call changed it.
    """
    from .schedule import Cron  # noqa: PLC0415 - bulk is importable without it

    if cron is None:
        if not workflow.is_scheduled:
            return workflow, False
        with step(f"unschedule {workflow.name!r}"):
            return await workflow.unschedule(), True
    wanted = str(Cron.parse(cron))
    if workflow.is_scheduled and workflow.cron and _canonical(workflow.cron) == wanted:
        return workflow, False
    with step(f"schedule {workflow.name!r}"):
        return await workflow.schedule(wanted), True


def _canonical(cron: str) -> str | None:
    from .schedule import Cron, CronError  # noqa: PLC0415

    try:
        return str(Cron.parse(cron))
    except CronError:
        return None  # a schedule the server holds that we cannot read differs


def _first(values: Iterable[T]) -> T | None:
    return next(iter(values), None)
