"""The bulk engine: bounded fan-out with one result per item, steps, progress.

:func:`~canvas_async.bulk.each_account` and
:func:`~canvas_async.bulk.for_each_account` are its public entry points; the
provisioning executor drives a :class:`BulkRun` over its own items (accounts
that may not exist yet) and :func:`collect` s it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import itertools
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterator,
)
from typing import Generic, TypeVar

import attrs

from canvas_async._checks import count
from canvas_async._errors import CanvasError, OutcomeUnknownError

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - the item type, as in Iterable[I]
K = TypeVar("K", bound=Hashable)


class Status(enum.StrEnum):
    """How an item ended, or how a plan found it: one vocabulary from a bulk run
    to a provisioning report (an account, and each of its changes).

    A bulk run's items, an apply's accounts and their changes end in one of
    the first five; a plan's accounts are ``in-sync``, ``changes``, ``drift``
    or ``failed``, and its changes ``planned``.
    """

    DONE = "done"
    """The function returned; the account is as declared; the change was made."""
    FAILED = "failed"
    """The function raised; :attr:`ItemResult.error` says what."""
    OUTCOME_UNKNOWN = "outcome-unknown"
    """A write may or may not have taken effect (:class:`OutcomeUnknownError`)."""
    CANCELLED = "cancelled"
    """Started, then cancelled because another item failed (``fail_fast``) or
    the run stopped (:class:`StoppedError`)."""
    SKIPPED = "skipped"
    """Never started because another item failed (``fail_fast``) or the run
    stopped (:class:`StoppedError`); a change, because an earlier change of its
    account failed."""
    PLANNED = "planned"
    """A change a plan found to make."""
    IN_SYNC = "in-sync"
    """A plan found the account as declared."""
    CHANGES = "changes"
    """A plan found changes to make."""
    DRIFT = "drift"
    """Nothing to write, but differences apply leaves in place: drift, or
    duplicates it cannot delete."""


class StoppedError(CanvasError):
    """The run stopped (deadline passed, or asked to stop) before this item finished.

    An item that raises it ends ``CANCELLED`` if it had started its work,
    else ``SKIPPED``.

    Attributes:
        reason: Why the run stopped, e.g. ``"deadline passed"``.
        started: Whether the item had started its work.
    """

    def __init__(self, reason: str, *, started: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.started = started


@attrs.frozen
class ItemResult(Generic[K, T]):
    """What happened to one item (one account).

    Attributes:
        key: The item's key: the account id for :func:`for_each_account`.
        index: The item's position in the input.
        status: How it ended.
        value: The function's return value when :attr:`status` is ``DONE``.
        error: The exception it raised, if any.
        operation: The API operation that failed (e.g. ``"Workflow (POST)"``),
            when the error names one.
        step: The innermost :func:`step` label that was active when it failed.
        elapsed: Seconds the function ran (0 when skipped).
    """

    key: K
    index: int
    status: Status
    value: T | None = None
    error: BaseException | None = attrs.field(default=None, eq=False)
    operation: str | None = None
    step: str | None = None
    elapsed: float = attrs.field(default=0.0, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the function returned."""
        return self.status is Status.DONE

    def unwrap(self) -> T:
        """Return the value, or raise what the function raised.

        Raises:
            CanvasError: For a cancelled or skipped item, which has neither.
        """
        if self.error is not None:
            raise self.error
        if self.status is not Status.DONE:
            raise CanvasError(f"{self.key}: {self.status}")
        return self.value  # type: ignore[return-value]  # DONE carries the value

    def describe_error(self) -> str:
        """Return a one-line reason for a result that is not ``DONE``."""
        if self.status is Status.DONE:
            return ""
        if self.error is None:
            return str(self.status)
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

    def count(self, status: Status) -> int:
        """Return how many items ended with ``status``."""
        return sum(1 for r in self.results if r.status is status)

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


@attrs.define
class BulkRun(Generic[I, K, T]):
    """A bulk run whose results arrive as they complete.

    Use it as an async context manager and iterate it; leaving the block, by
    any path, cancels and awaits whatever is still running::

        async with bulk.each_account(canvas, accounts, fn) as run:
            async for result in run:
                print(result.key, result.status)
        report = run.report()

    Attributes:
        concurrency: Most items running at once.
        fail_fast: Stop at the first item that does not end ``DONE``: running
            items are cancelled and the rest skipped, each still reported.
    """

    _items: list[I]
    _fn: Callable[[I], Awaitable[T]]
    _key: Callable[[I], K]
    concurrency: int = attrs.field(validator=count(minimum=1))
    fail_fast: bool = False
    _on_progress: Callable[[Progress], object] | None = None
    _results: dict[int, ItemResult[K, T]] = attrs.Factory(dict)
    # Kept as results arrive, so progress costs the same at any size.
    _counts: dict[Status, int] = attrs.Factory(lambda: dict.fromkeys(Status, 0))
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
        counts = self._counts
        return Progress(
            total=len(self._items),
            done=counts[Status.DONE],
            failed=counts[Status.FAILED],
            unknown=counts[Status.OUTCOME_UNKNOWN],
            cancelled=counts[Status.CANCELLED] + counts[Status.SKIPPED],
            running=len(self._running),
        )

    async def _iterate(self) -> AsyncGenerator[ItemResult[K, T], None]:
        pending = iter(enumerate(self._items))
        stopping = False
        try:
            self._report_progress()
            while True:
                room = 0 if stopping else self.concurrency - len(self._running)
                for index, item in itertools.islice(pending, room):
                    self._running[asyncio.create_task(self._call(index, item))] = index
                if not self._running:
                    break
                finished, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                # Yield in input order among those that finished together, so
                # runs are reproducible when items finish in the same tick.
                for task in sorted(finished, key=self._running.__getitem__):
                    index = self._running.pop(task)
                    result = self._result_of(task, index)
                    self._store(index, result)
                    self._report_progress()
                    yield result
                    if self.fail_fast and not result.ok and not stopping:
                        stopping = True
                        for other in self._running:
                            other.cancel()
            if stopping:
                for index, item in pending:
                    skipped: ItemResult[K, T] = ItemResult(self._key(item), index, Status.SKIPPED)
                    self._store(index, skipped)
                    self._report_progress()
                    yield skipped
        finally:
            await self._cancel_running()

    def _store(self, index: int, result: ItemResult[K, T]) -> None:
        self._results[index] = result
        self._counts[result.status] += 1

    def _result_of(self, task: asyncio.Task[ItemResult[K, T]], index: int) -> ItemResult[K, T]:
        if task.cancelled():
            return ItemResult(self._key(self._items[index]), index, Status.CANCELLED)
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
            return ItemResult(
                key,
                index,
                _status_of(exc),
                error=exc,
                operation=operation_of(exc),
                step=trace.failed_step,
                elapsed=time.monotonic() - start,
            )
        return ItemResult(key, index, Status.DONE, value, elapsed=time.monotonic() - start)

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
                self._store(index, self._result_of(task, index))
        self._running.clear()
        if cancelled_here:
            raise asyncio.CancelledError

    def _report_progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress())


def _status_of(exc: Exception) -> Status:
    if isinstance(exc, StoppedError):
        return Status.CANCELLED if exc.started else Status.SKIPPED
    return Status.OUTCOME_UNKNOWN if isinstance(exc, OutcomeUnknownError) else Status.FAILED


def operation_of(exc: BaseException) -> str | None:
    """Return the API operation ``exc`` names (e.g. ``"Workflow (POST)"``), if any."""
    operation = getattr(exc, "operation", None)
    return operation if isinstance(operation, str) else None


async def collect(run: BulkRun[I, K, T]) -> BulkReport[K, T]:
    """Run ``run`` to its end and return every result."""
    async with run:
        async for _ in run:
            pass
    return run.report()
