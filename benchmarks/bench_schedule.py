"""Schedules: 10,000 next fire times for each of a set of typical Quartz expressions.

Two workloads, each producing 10,000 fire times per expression:

- batch: ``next_fire_times(after, 100)`` from 100 starting instants spread over
  2024-2026 (what ``workflow.next_runs(n)`` does);
- one-off: ``next_fire_time(after)`` from 10,000 starting instants (what the
  emulator does for ``dateNextSchedule``).

Contenders: canvas-async's ``Cron`` read in UTC and in Europe/Oslo (daylight
saving checks on), and croniter (if installed) read in UTC, for the expressions
it reads the same way once written in its own syntax (Unix day numbers, seconds
last; it has no ``W``). Each pair is checked to give the same fire times before
it is timed. Target: canvas-async at least as fast as croniter.

Run: ``python benchmarks/bench_schedule.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table, interleaved_medians, median_time

from canvas_async.schedule import Cron

#: (Quartz expression, the same schedule in croniter's syntax or None).
EXPRESSIONS: list[tuple[str, str | None]] = [
    ("0 0/5 * ? * * *", "*/5 * * * *"),
    ("0 0 2,6 ? * TUE *", "0 2,6 * * 2"),
    ("0 0 * ? * *", "0 * * * *"),
    ("0/15 * * ? * *", "* * * * * */15"),
    ("0 30 9 ? * MON-FRI", "30 9 * * 1-5"),
    ("0 0 23 L * ?", "0 23 L * *"),
    ("0 0 18 LW * ?", None),
    ("0 0 9 15W * ?", None),
    ("0 0 12 ? * 6L", "0 12 * * L5"),
    ("0 0 12 ? * 2#3", "0 12 * * 1#3"),
]
OSLO = ZoneInfo("Europe/Oslo")
BATCH = 100


def starts(count: int) -> list[datetime]:
    """``count`` instants spread over 2024-2026, at odd seconds."""
    step = timedelta(days=3 * 365) / count
    base = datetime(2024, 1, 1, tzinfo=UTC)
    return [base + i * step + timedelta(seconds=i % 61) for i in range(count)]


def _croniter() -> Any:
    try:
        from croniter import croniter  # type: ignore[import-untyped]
    except ImportError:
        return None
    return croniter


def _canvas_batch(cron: Cron, afters: list[datetime], tz: Any = UTC) -> Callable[[], object]:
    return lambda: [cron.next_fire_times(a, BATCH, tz=tz) for a in afters]


def _canvas_one_off(cron: Cron, afters: list[datetime]) -> Callable[[], object]:
    return lambda: [cron.next_fire_time(a) for a in afters]


def _croniter_batch(croniter: Any, text: str, afters: list[datetime]) -> Callable[[], object]:
    def run() -> list[list[datetime]]:
        out = []
        for after in afters:
            it = croniter(text, after)
            out.append([it.get_next(datetime) for _ in range(BATCH)])
        return out

    return run


def _croniter_one_off(croniter: Any, text: str, afters: list[datetime]) -> Callable[[], object]:
    it = croniter(text, afters[0])

    def run() -> list[datetime]:
        out = []
        for after in afters:
            it.set_current(after, force=True)
            out.append(it.get_next(datetime))
        return out

    return run


def measure(quick: bool) -> dict[str, Any]:
    """Time every workload; return seconds per fire time for each contender."""
    total = 1_000 if quick else 10_000
    runs = 1 if quick else 3
    batch_starts = starts(total // BATCH)
    one_off_starts = starts(total)
    croniter = _croniter()
    results: dict[str, Any] = {"fire_times": total, "expressions": []}
    for quartz, unix in EXPRESSIONS:
        cron = Cron.parse(quartz)
        contenders: dict[str, Callable[[], object]] = {
            "canvas batch": _canvas_batch(cron, batch_starts),
            "canvas batch Oslo": _canvas_batch(cron, batch_starts, OSLO),
            "canvas one-off": _canvas_one_off(cron, one_off_starts),
        }
        if croniter is not None and unix is not None:
            same = _croniter_batch(croniter, unix, batch_starts[:3])()
            if same != [cron.next_fire_times(a, BATCH) for a in batch_starts[:3]]:
                raise AssertionError(f"croniter reads {unix!r} differently from {quartz!r}")
            contenders["croniter batch"] = _croniter_batch(croniter, unix, batch_starts)
            contenders["croniter one-off"] = _croniter_one_off(croniter, unix, one_off_starts)
        timed = interleaved_medians(
            {name: _timer(fn) for name, fn in contenders.items()}, runs=runs
        )
        results["expressions"].append(
            {"expression": quartz, **{name: seconds / total for name, seconds in timed.items()}}
        )
    return results


def _timer(fn: Callable[[], object]) -> Callable[[], float]:
    return lambda: median_time(fn, runs=1, warmup=0)


def run(quick: bool) -> Table:
    """Measure and tabulate, for ``benchmarks/run.py``."""
    results = measure(quick)
    table = Table(
        title=f"Schedules: {results['fire_times']:,} next fire times per expression",
        columns=[
            "expression",
            "batch µs/result",
            "batch results/s",
            "one-off µs/result",
            "Oslo batch µs/result",
            "croniter batch µs/result",
            "croniter one-off µs/result",
        ],
    )
    speedups = []
    for row in results["expressions"]:
        croniter_batch = row.get("croniter batch")
        croniter_one_off = row.get("croniter one-off")
        table.add(
            f"`{row['expression']}`",
            row["canvas batch"] * 1e6,
            1 / row["canvas batch"],
            row["canvas one-off"] * 1e6,
            row["canvas batch Oslo"] * 1e6,
            "n/a" if croniter_batch is None else croniter_batch * 1e6,
            "n/a" if croniter_one_off is None else croniter_one_off * 1e6,
        )
        if croniter_batch is not None and croniter_one_off is not None:
            speedups += [
                croniter_batch / row["canvas batch"],
                croniter_one_off / row["canvas one-off"],
            ]
    if speedups:
        geometric = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        table.ratios["schedule: croniter time / canvas-async time (geometric mean)"] = (
            geometric,
            1.0,
            True,
        )
    else:
        table.notes.append("croniter is not installed: no side-by-side ratio")
    table.notes.append(
        "batch: next_fire_times(after, 100) from 100 instants; one-off: next_fire_time(after)"
        " from as many instants as fire times; Oslo: the same batch read on Europe/Oslo's"
        " wall clock"
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 fire times, one run")
    args = parser.parse_args()
    print(run(args.quick).markdown())


if __name__ == "__main__":
    main()
