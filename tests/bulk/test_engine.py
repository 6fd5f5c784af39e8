"""The bulk engine over plain async functions: results, limits, failures, cancellation.

The public entry points run over accounts (tests/bulk/test_accounts.py); the
engine under them is driven here directly, over plain numbers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import pytest

from canvas_async import OutcomeUnknownError, ServerError, ValidationError, bulk
from canvas_async.bulk import BulkReport, BulkRun, Progress, Status
from canvas_async.bulk._engine import collect


def _key(item: int) -> int:
    return item


def _each(
    items: Iterable[int],
    fn: Callable[[int], Awaitable[int]],
    *,
    concurrency: int = 16,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkRun[int, int, int]:
    return BulkRun(
        list(items),
        fn,
        _key,
        concurrency=concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    )


async def _run_each(
    items: Iterable[int],
    fn: Callable[[int], Awaitable[int]],
    *,
    concurrency: int = 16,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkReport[int, int]:
    return await collect(
        _each(items, fn, concurrency=concurrency, fail_fast=fail_fast, on_progress=on_progress)
    )


async def _double(item: int) -> int:
    await asyncio.sleep(0)
    return item * 2


async def test_every_item_gets_its_value_in_input_order() -> None:
    report = await _run_each(range(20), _double, concurrency=3)

    assert [r.key for r in report] == list(range(20))
    assert [r.value for r in report] == [i * 2 for i in range(20)]
    assert report.ok
    assert report.values() == {i: i * 2 for i in range(20)}


async def test_concurrency_bounds_items_in_progress() -> None:
    running = 0
    peak = 0

    async def work(item: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return item

    await _run_each(range(30), work, concurrency=4)

    assert peak == 4


async def test_one_failure_does_not_stop_the_others() -> None:
    async def work(item: int) -> int:
        if item == 3:
            raise ServerError("boom", status=500, operation="Workflow (POST)")
        return item

    report = await _run_each(range(6), work)

    assert not report.ok
    assert report.count(Status.DONE) == 5
    [failure] = report.failures()
    assert failure.key == 3
    assert failure.status is Status.FAILED
    assert failure.operation == "Workflow (POST)"
    assert isinstance(failure.error, ServerError)
    with pytest.raises(ServerError):
        failure.unwrap()


async def test_outcome_unknown_is_its_own_status() -> None:
    async def work(item: int) -> int:
        raise OutcomeUnknownError("reset after sending", operation="RegApplication")

    report = await _run_each([1], work)

    assert report.results[0].status is Status.OUTCOME_UNKNOWN
    assert report.results[0].operation == "RegApplication"


async def test_step_names_where_an_item_failed() -> None:
    async def work(item: int) -> int:
        with bulk.step("outer"):
            assert bulk.current_step() == "outer"
            with bulk.step(f"register {item}"):
                raise ValueError("bad credentials")

    report = await _run_each([7], work)

    result = report.results[0]
    assert result.step == "register 7"
    assert result.describe_error() == "register 7: bad credentials"


def test_step_outside_a_run_is_harmless() -> None:
    with bulk.step("nothing"):
        assert bulk.current_step() is None


async def test_fail_fast_cancels_running_and_skips_the_rest() -> None:
    release = asyncio.Event()

    async def work(item: int) -> int:
        if item == 0:
            raise RuntimeError("first fails")
        await release.wait()  # never set: only cancellation ends these
        return item

    report = await _run_each(range(10), work, concurrency=3, fail_fast=True)

    statuses = [r.status for r in report]
    assert statuses[0] is Status.FAILED
    assert statuses[1:3] == [Status.CANCELLED, Status.CANCELLED]
    assert statuses[3:] == [Status.SKIPPED] * 7
    assert len(report) == 10


async def test_progress_counts_reach_the_total() -> None:
    seen: list[Progress] = []

    async def work(item: int) -> int:
        if item % 4 == 0:
            raise RuntimeError("no")
        return item

    await _run_each(range(8), work, concurrency=2, on_progress=seen.append)

    assert seen[0] == Progress(total=8)
    last = seen[-1]
    assert (last.done, last.failed, last.finished, last.running) == (6, 2, 8, 0)
    assert [p.finished for p in seen] == list(range(9))


async def test_results_arrive_as_they_complete() -> None:
    gates = {i: asyncio.Event() for i in range(3)}

    async def work(item: int) -> int:
        await gates[item].wait()
        return item

    order: list[int] = []
    async with _each(range(3), work, concurrency=3) as run:
        gates[2].set()
        async for result in run:
            order.append(result.key)
            if result.key == 2:
                gates[0].set()
            elif result.key == 0:
                gates[1].set()

    assert order == [2, 0, 1]


async def test_leaving_early_cancels_everything_still_running() -> None:
    started = asyncio.Event()
    cancelled: list[int] = []

    async def work(item: int) -> int:
        if item == 0:
            return 0
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        return item

    before = asyncio.all_tasks()
    async with _each(range(5), work, concurrency=5) as run:
        async for result in run:
            assert result.key == 0
            await started.wait()
            break

    assert sorted(cancelled) == [1, 2, 3, 4]
    assert asyncio.all_tasks() == before
    assert {r.status for r in run.report() if r.key != 0} == {Status.CANCELLED}


async def test_cancelling_the_caller_leaves_no_task_running() -> None:
    inside = asyncio.Event()

    async def work(item: int) -> int:
        inside.set()
        await asyncio.Event().wait()
        return item

    before = asyncio.all_tasks()
    caller = asyncio.create_task(_run_each(range(50), work, concurrency=8))
    await inside.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller

    assert asyncio.all_tasks() == before


async def test_a_run_iterates_once() -> None:
    run = _each([1], _double)
    async with run:
        async for _ in run:
            pass
        with pytest.raises(RuntimeError, match="only once"):
            run.__aiter__()


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_concurrency_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ValidationError, match="concurrency"):
        _each([1], _double, concurrency=bad)  # type: ignore[arg-type]


async def test_empty_input_is_an_empty_report() -> None:
    report = await _run_each([], _double)

    assert len(report) == 0
    assert report.ok
