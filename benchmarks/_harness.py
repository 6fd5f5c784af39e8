"""Shared pieces of the benchmarks: timing, medians, the machine's description.

Every benchmark measures its contenders side by side in one run and reports
ratios, because absolute times on a shared machine are not stable.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata


@dataclass
class Table:
    """One benchmark's results, rendered as a Markdown table by the runner."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # name -> (value, target, higher_is_better): drawn in the chart and judged.
    ratios: dict[str, tuple[float, float | None, bool]] = field(default_factory=dict)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(c) for c in cells])

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.ratios:
            lines += ["", "| ratio | value | target | met |", "| --- | --- | --- | --- |"]
            for name, (value, target, higher) in self.ratios.items():
                met = "" if target is None else ("yes" if _met(value, target, higher) else "**no**")
                sign = ">=" if higher else "<="
                shown = "" if target is None else f"{sign} {target:g}"
                lines.append(f"| {name} | {value:.3f} | {shown} | {met} |")
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _met(value: float, target: float, higher: bool) -> bool:
    return value >= target if higher else value <= target


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def median_time(
    fn: Callable[[], object],
    *,
    runs: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median time of ``fn()`` over ``runs`` runs, after ``warmup`` runs.

    Args:
        fn: What to time.
        runs: How many timed runs.
        warmup: How many untimed runs first.
        clock: ``time.perf_counter`` (wall time), or ``time.process_time``
            for CPU-bound work on a shared machine: the time this process
            spent on a core, not the time others' processes held it.
    """
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        gc.collect()
        start = clock()
        fn()
        samples.append(clock() - start)
    return statistics.median(samples)


async def median_time_async(
    fn: Callable[[], Awaitable[object]], *, runs: int, warmup: int = 1
) -> float:
    """Median wall time of ``await fn()`` over ``runs`` runs, after warm-up."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def interleaved_medians(
    contenders: dict[str, Callable[[], float]], *, runs: int
) -> dict[str, float]:
    """Run each contender once per round, ``runs`` rounds, and return the median
    of what each returned; interleaving spreads machine noise fairly."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, fn in contenders.items():
            samples[name].append(fn())
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> list[str]:
    """Describe the machine and the versions that matter, a line each."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines = [
        f"CPU: {cpu}, {os.cpu_count()} logical cores",
        f"OS: {platform.system()} {platform.release()}",
        f"Python: {platform.python_implementation()} {platform.python_version()}",
    ]
    versions = []
    for dist in (
        "canvas-async", "aiohttp", "yarl", "attrs", "cattrs", "httpx", "pydantic", "msgspec",
        "croniter",
    ):  # fmt: skip
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    lines.append("Versions: " + ", ".join(versions))
    return lines


def load() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())
