"""Start-up: how long ``canvas-async --help`` and ``cron explain`` take, against a baseline.

The baseline is another commit of this repository (``main`` by default when
run alone; none in ``benchmarks/run.py``, whose figures must not depend on
where a branch points), extracted with ``git archive`` into a temporary
directory and run by the same interpreter with that directory first on
``PYTHONPATH``, so both use the same installed dependencies. Each round runs
every contender once, interleaved, so machine noise falls on both; the table
gives the median and the spread (fastest and slowest run) of each, and the
ratio of medians. Target: both commands under 0.15 s, and well under the
baseline.

Run: ``python benchmarks/bench_startup.py [--quick] [--baseline REF | --no-baseline]``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table, load

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "cron explain": ["cron", "explain", "0 0/5 * ? * * *"],
}
TARGET_SECONDS = 0.15


def _extract(ref: str, into: Path) -> None:
    """Write the tree of ``ref`` into ``into`` (no worktree, no checkout)."""
    archive = subprocess.run(  # noqa: S603 - our own git, our own arguments
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "canvas_async"],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _timer(path: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(path)}
    start = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "canvas_async.cli", *args],
        env=env,
        cwd=path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def run(quick: bool = False, baseline: str | None = None) -> Table:
    """Time this tree's start-up (and ``baseline``'s, interleaved); return the table."""
    runs = 5 if quick else 30
    title = "Start-up of the command" + (f": this tree against {baseline}" if baseline else "")
    table = Table(title, ["command", "tree", "median s", "fastest s", "slowest s"])
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this": ROOT}
        if baseline:
            _extract(baseline, Path(tmp))
            trees[baseline] = Path(tmp)
        for name, args in COMMANDS.items():
            samples: dict[str, list[float]] = {tree: [] for tree in trees}
            for path in trees.values():  # one untimed run each: the file cache
                _timer(path, args)
            for _ in range(runs):
                for tree, path in trees.items():
                    samples[tree].append(_timer(path, args))
            medians = {tree: statistics.median(values) for tree, values in samples.items()}
            for tree, values in samples.items():
                table.add(name, tree, medians[tree], min(values), max(values))
            mine = samples["this"]
            spread = f"median of {runs}, fastest-slowest {min(mine):.3f}-{max(mine):.3f} s"
            table.ratios[f"startup: {name}, this tree, seconds ({spread})"] = (
                medians["this"],
                TARGET_SECONDS,
                False,
            )
            if baseline:
                ratio = medians["this"] / medians[baseline]
                table.ratios[f"startup: {name}, this / {baseline}"] = (ratio, None, False)
    table.notes.append(
        f"{runs} interleaved runs each, `python -m canvas_async.cli ARGS` with the tree first "
        f"on PYTHONPATH, as a new process (interpreter start included); target under "
        f"{TARGET_SECONDS} s; load average {load()}"
    )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 30")
    parser.add_argument("--baseline", default="main", help="the commit to compare with")
    parser.add_argument("--no-baseline", action="store_true", help="time this tree alone")
    args = parser.parse_args()
    print(run(args.quick, None if args.no_baseline else args.baseline).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
