"""Run every benchmark and write ``benchmarks/results.md`` and ``results.png``.

Usage::

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # small sizes: checks that it all works
    python benchmarks/run.py --only parse,schedule
    python benchmarks/run.py --quick --only scale --scale-sizes 100,1000,20000

Each benchmark module exposes ``run(quick: bool) -> Table | list[Table]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Table, load, machine  # noqa: E402

BENCHMARKS = {
    "overhead": "bench_overhead",
    "bulk": "bench_bulk",
    "parse": "bench_parse",
    "schedule": "bench_schedule",
    "scale": "bench_scale",
    "hooks": "bench_hooks",
    "startup": "bench_startup",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer runs")
    parser.add_argument(
        "--only", default="", help="comma-separated subset of: " + ", ".join(BENCHMARKS)
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where results.md/.png go")
    parser.add_argument(
        "--scale-sizes",
        default="",
        help="accounts for the scaling benchmark, e.g. 100,1000,5000,20000 "
        "(default: 100,1000 with --quick, all four otherwise)",
    )
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    tables: list[Table] = []
    load_before = load()
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        options = {}
        if name == "scale" and args.scale_sizes:
            options["sizes"] = tuple(int(size) for size in args.scale_sizes.split(","))
        result = module.run(args.quick, **options)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        produced = result if isinstance(result, list) else [result]
        for table in produced:
            print(table.markdown(), flush=True)
        tables += produced
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    loads = (load_before, load())
    write_markdown(args.out / "results.md", tables, quick=args.quick, loads=loads)
    print(f"wrote {args.out / 'results.md'}")
    if write_chart(args.out / "results.png", tables):
        print(f"wrote {args.out / 'results.png'}")
    return 0


def write_markdown(path: Path, tables: list[Table], *, quick: bool, loads: tuple[str, str]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick (small sizes; times not judged)" if quick else "full"
    head = [
        "# canvas-async benchmarks",
        "",
        f"Run {stamp}, mode: {mode}. Reproduce with `python benchmarks/run.py`.",
        "Contenders run side by side in the same run, interleaved. Figures are medians",
        "over runs or rounds, with their min-max where the table gives one; the ratios,",
        "measured within one run, are what to read. On a shared machine CPU time per",
        "request is stable where requests/s is not: the overhead headline is CPU.",
        "",
        *[f"- {line}" for line in machine()],
        f"- Load average (1, 5, 15 min) at the start: {loads[0]}; at the end: {loads[1]}. "
        "Other work on the machine (2 cores, shared) moves absolute figures by tens of "
        "percent between runs; the min-max ranges in the tables show it.",
        "",
    ]
    path.write_text("\n".join(head) + "\n" + "\n".join(t.markdown() for t in tables))


#: Bars are drawn up to this ratio; a larger value is written next to its bar.
_CHART_LIMIT = 2.5


def write_chart(path: Path, tables: list[Table]) -> bool:
    """Draw every ratio against its target; return whether the chart was written."""
    # Each ratio's name starts with its benchmark ("parse: ..."): enough of a label.
    ratios = [(name, *v) for t in tables for name, v in t.ratios.items()]
    if not ratios:
        return False
    try:
        import matplotlib
    except ImportError:  # the bench extra is not installed
        print(f"matplotlib is not installed: no {path.name} (pip install -e . --group bench)")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(13, 0.42 * len(ratios) + 1.6))
    labels = [_wrap(r[0]) for r in ratios]
    values = [min(r[1], _CHART_LIMIT) for r in ratios]
    colors = []
    for _, value, target, higher in ratios:
        if target is None:
            colors.append("tab:blue")
        elif (value >= target) if higher else (value <= target):
            colors.append("tab:green")
        else:
            colors.append("tab:red")
    ax.barh(labels, values, color=colors)
    for i, (_, value, target, _) in enumerate(ratios):
        shown = f"{value:.2f}" if value <= _CHART_LIMIT else f"{value:.1f} (bar cut)"
        ax.annotate(
            shown, (min(value, _CHART_LIMIT), i), xytext=(3, 0), textcoords="offset points",
            va="center", fontsize=8,
        )  # fmt: skip
        if target is not None:
            ax.plot([target, target], [i - 0.4, i + 0.4], color="black", linewidth=2)
    ax.set_xlim(0, _CHART_LIMIT * 1.18)
    ax.tick_params(axis="y", labelsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(
        "ratio (black line: target; green: met, red: missed, blue: no target; "
        "see results.md for which way is better)"
    )
    ax.set_title("canvas-async benchmark ratios")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _wrap(label: str, width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, width))


if __name__ == "__main__":
    raise SystemExit(main())
