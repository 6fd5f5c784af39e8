"""Shards: the wall time of one desired-state file on 1, 2 and 4 worker processes.

One emulator process delays every answer by a fixed latency. The same file
(N accounts; each gets two registrations and one scheduled workflow) is
applied by ``canvas-async apply`` in one process, and by 1, 2 and 4 worker
processes started at once, each ``apply --shard I/W`` holding its shard's
lease: what an Indexed Job with W pods does. The clock runs from starting the
processes until the last exits (interpreter start-up included, as in a Job).
Every run gets a fresh emulator; contenders alternate round by round;
reported: the median and the range of the rounds, and one process's median
wall over each contender's.

Run: ``python benchmarks/bench_shards.py [--accounts 4000] [--latency 0.05]
[--rounds 3] [--concurrency 64]`` (``--quick``: 400 accounts, 1 round;
``--concurrency``: accounts at once in every process, the client's pool raised
to match). Not part of
``benchmarks/run.py``: a full run takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table, load, machine
from _server import EmulatorProcess, emulator_process
from bench_overhead import _rotated

from canvas_async import Canvas

CONTENDERS = {"one process": None, "1 worker": 1, "2 workers": 2, "4 workers": 4}
ENV = {"QUINYX_KEY": "bench-key", "FTP_USER": "u", "FTP_PASSWORD": "p"}


def _document(ids: list[str]) -> dict[str, object]:
    quinyx = {
        "tag": "Quinyx",
        "credentials": {"apikey": "${QUINYX_KEY}", "environment": {"plain": "test"}},
    }
    ftp = {
        "tag": "FTP",
        "credentials": {
            "username": "${FTP_USER}", "password": "${FTP_PASSWORD}",
            "address": {"plain": "ftp.example.org"}, "port": {"plain": "21"},
        },
    }  # fmt: skip
    workflow = {
        "template": "Quinyx Employee Export Into FTP(CSV)",
        "schedule": "0 0/15 * ? * * *",
        "variables": {"API - Get Employees": {"apiKeys": ["${QUINYX_KEY}"]}},
    }
    return {
        "defaults": {
            "applications": {"QUIN": quinyx, "FTP": ftp},
            "workflows": {"Employee export": workflow},
        },
        "accounts": [{"id": i} for i in ids],
    }


async def _ids(server: EmulatorProcess) -> list[str]:
    async with Canvas(consumer=server.consumer, secret_key=server.secret_key, env=server.url) as c:
        return [str(a.id) for a in await c.accounts.list()]  # the managed accounts


def _once(
    workers: int | None, accounts: int, latency: float, scratch: Path, concurrency: int
) -> tuple[float, float, float]:
    """Apply the file once, on a fresh emulator.

    Return the wall, the emulator's CPU time and the workers' CPU time together.
    """
    with emulator_process(
        seed="empty", synthetic_accounts=accounts, latency=latency, log_limit=0
    ) as server:
        ids = asyncio.run(_ids(server))[:accounts]
        path = scratch / "accounts.json"
        path.write_text(json.dumps(_document(ids)), encoding="utf-8")
        env = {
            **os.environ, **ENV, "CANVAS_ENV": server.url,
            "CANVAS_CONSUMER": server.consumer, "CANVAS_SECRET_KEY": server.secret_key,
        }  # fmt: skip
        base = [
            sys.executable, "-m", "canvas_async.cli", "--json", "apply", str(path),
            "--concurrency", str(concurrency),
        ]  # fmt: skip
        commands = (
            [base]
            if workers is None
            else [
                [*base, "--shard", f"{i}/{workers}", "--lease-dir", str(scratch / "leases")]
                for i in range(workers)
            ]
        )
        cpu_before = _children_cpu()
        start = time.perf_counter()
        procs = [
            subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: S603
            for c in commands
        ]
        outputs = [p.communicate()[0] for p in procs]
        wall = time.perf_counter() - start
        server_cpu = server.cpu_seconds()
        workers_cpu = _children_cpu() - cpu_before  # the emulator is not waited for yet
    changes = 0
    for proc, out in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"a worker exited {proc.returncode}")
        changes += json.loads(out)["summary"]["changes"]
    if changes != 4 * accounts:
        raise RuntimeError(f"{changes} changes made, {4 * accounts} expected")
    return wall, server_cpu, workers_cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    accounts: int, latency: float, rounds: int, concurrency: int
) -> dict[str, list[tuple[float, float, float]]]:
    """Every contender once per round, the order rotating between rounds."""
    walls: dict[str, list[tuple[float, float, float]]] = {name: [] for name in CONTENDERS}
    names = list(CONTENDERS)
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(rounds):
            for name in _rotated(names, round_):
                run = _once(CONTENDERS[name], accounts, latency, Path(scratch), concurrency)
                walls[name].append(run)
    return walls


def run(accounts: int, latency: float, rounds: int, concurrency: int) -> Table:
    """Measure and tabulate."""
    before = load()
    measured = measure(accounts, latency, rounds, concurrency)
    table = Table(
        title=f"{accounts:,} accounts at {latency * 1e3:.0f} ms: one process against W workers",
        columns=["contender", "processes", "wall s (median)", "wall s, min-max",
                 "one process / this", "emulator CPU s", "workers' CPU s",
                 "cores busy (CPU / wall)"],
    )  # fmt: skip
    one = statistics.median(run[0] for run in measured["one process"])
    for name, runs in measured.items():
        walls = [run[0] for run in runs]
        median = statistics.median(walls)
        server = statistics.median(run[1] for run in runs)
        client = statistics.median(run[2] for run in runs)
        table.add(
            name, CONTENDERS[name] or 1, median, f"{min(walls):.2f}-{max(walls):.2f}",
            f"{one / median:.2f}", server, client, f"{(server + client) / median:.2f}",
        )  # fmt: skip
    table.notes.append(
        f"{rounds} rounds, contenders alternating, each run on a fresh emulator (one "
        f"process); every process handles {concurrency} accounts at once (--concurrency, "
        "the client's pool as large). "
        f"Load average before: {before}; after: {load()}."
    )
    table.notes.append(
        "CPU columns are medians: the emulator's (one process) and all workers' together "
        "(interpreter start-up included). When the cores busy near the cores free (2 here, "
        "shared), the run is CPU-bound, not latency-bound, and more workers cannot shorten it."
    )
    table.notes += machine()
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=4000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="400 accounts, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.rounds = 400, 1
    print(run(args.accounts, args.latency, args.rounds, args.concurrency).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
