"""Instructions per request: the overhead measure that load does not move.

CPU time on 2 shared cores still drifts by a few percent between runs, enough
to blur a change of a few percent. Instructions do not: ``valgrind
--tool=callgrind`` counts those the client process executes while it sends
the same requests as ``bench_overhead`` (list, get, run; 16 at a time) to the
emulator, which runs in its own process, outside valgrind. Each contender is
run twice, with 100 and with 500 requests after the same warm-up; the
difference over 400 is the cost of one request, start-up and warm-up
cancelled out. Repeated runs agree within about 2%.

Needs ``valgrind`` (Debian: ``apt-get install valgrind``); about 3 minutes.
Run: ``python benchmarks/bench_instructions.py [--baseline DIR]``, where DIR is
another checkout (``git worktree add /tmp/base main``) measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table
from _server import EmulatorProcess, emulator_process

HERE = Path(__file__).resolve().parent

LOW, HIGH = 100, 500
CONCURRENCY = 16
CONTENDERS = ("canvas-async", "raw aiohttp")


async def _child(argv: list[str]) -> None:
    """In the process under valgrind: warm up, then send ``n`` requests."""
    import bench_overhead

    url, consumer, secret_key, pid, who, op, n = argv
    server = EmulatorProcess(url, consumer, secret_key, int(pid))
    contenders, close = await bench_overhead._contenders(server)
    try:
        send = contenders[who][op]
        await bench_overhead._drive(send, 64, CONCURRENCY, server)
        await bench_overhead._drive(send, int(n), CONCURRENCY, server)
    finally:
        await close()


def _instructions(
    server: EmulatorProcess, root: Path, who: str, op: str, n: int, *, valgrind: str
) -> int:
    """Instructions the client process executed sending ``n`` requests (and starting)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(  # noqa: S603 - our own interpreter and script
            [
                valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                # This script in every case; the package from ``root``.
                sys.executable, __file__, "--child",
                server.url, server.consumer, server.secret_key, str(server.pid), who, op, str(n),
            ],
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no total")


def measure(valgrind: str, baseline: Path | None = None) -> Table:
    """Count every contender's instructions per request; ``valgrind`` is its path."""
    import bench_overhead

    roots = {"this tree": HERE.parent}
    if baseline is not None:
        roots["baseline"] = baseline.resolve()
    table = Table(
        title="Instructions per request (callgrind, client process, concurrency 16)",
        columns=["operation", "contender", "tree", "instructions per request",
                 "canvas-async / raw aiohttp"],
    )  # fmt: skip
    with emulator_process(seed="samples", log_limit=1000) as server:
        for op in bench_overhead.OPERATIONS:
            raw = None
            for who in CONTENDERS[::-1]:  # raw aiohttp first: the ratios' denominator
                for tree, root in roots.items():
                    if who == "raw aiohttp" and tree != "this tree":
                        continue  # the same aiohttp either way
                    low = _instructions(server, root, who, op, LOW, valgrind=valgrind)
                    high = _instructions(server, root, who, op, HIGH, valgrind=valgrind)
                    per_request = (high - low) / (HIGH - LOW)
                    if raw is None:
                        raw = per_request
                    ratio = per_request / raw
                    table.add(op, who, tree, f"{per_request / 1e3:,.1f}k", f"{ratio:.3f}")
                    if who == "canvas-async":
                        table.ratios[f"instructions: canvas-async / raw aiohttp, {op} ({tree})"] = (
                            ratio,
                            None,
                            False,
                        )
    table.notes.append(
        f"The client process's instructions for {HIGH} requests minus those for {LOW}, "
        f"over {HIGH - LOW}: one request's, start-up and warm-up cancelled out; the "
        "emulator runs in its own process, outside valgrind. Counts repeat within about "
        "2%; CPU time (bench_overhead) also carries cache misses and the kernel's share."
    )
    return table


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        asyncio.run(_child(sys.argv[2:9]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alike")
    args = parser.parse_args()
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    print(measure(valgrind, args.baseline).markdown())


if __name__ == "__main__":
    main()
