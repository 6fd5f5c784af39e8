"""Scaling: does the cost per account stay flat from 100 to 20,000 accounts?

Two parts, each with the emulator in its own process:

- **Provisioning through the CLI**, as an operator runs it: a desired-state
  file declares N synthetic accounts (two applications and a scheduled
  workflow each, from shared defaults); ``canvas-async apply``, then
  ``canvas-async plan``, then ``canvas-async apply`` again, each in a process
  of its own. Reported per step: wall time, wall per account, the CPU of each
  side (the CLI process from ``wait4``, the emulator from its scheduler
  counters), the requests the emulator received (its own log) and per
  account, and the CLI process's peak RSS. Targets, ratios within one run:
  wall per account at 20,000 within 1.3x of that at 1,000 for each step;
  peak RSS at 20,000 below 100 MB.
- **The emulator's CPU per request** against a state where every account
  already holds two registrations and a workflow (arranged before serving):
  raw aiohttp sends one account's worth of reads and writes for a sample of
  accounts. What it shows: the emulator's cost per request does not grow with
  the number of accounts (target: the ratio at the largest size to 100
  accounts <= 1.3).

Run alone with other sizes::

    python benchmarks/bench_scale.py --sizes 100,1000,5000,20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table
from _server import EmulatorProcess, emulator_process

from canvas_async import _routes

FULL_SIZES: Final = (100, 1_000, 5_000, 20_000)
QUICK_SIZES: Final = (100, 1_000)
STEPS: Final = ("apply", "plan", "apply again")
#: The step's wall per account at the largest size over that at 1,000: target.
PER_ACCOUNT_TARGET: Final = 1.3
RSS_TARGET_MB: Final = 100.0

DEFAULTS: Final = """version = 1
[defaults.applications.QUIN]
tag = "Quinyx"
credentials = { apikey = "${QUINYX_KEY}", environment = { plain = "test" } }
[defaults.applications.FTP]
tag = "FTP"
credentials.username = "${FTP_USER}"
credentials.password = "${FTP_PASSWORD}"
credentials.address = { plain = "ftp.example.org" }
credentials.port = { plain = "21" }
[defaults.workflows.Export]
template = "Quinyx Employee Export Into FTP(CSV)"
schedule = "0 0/5 * ? * * *"
variables."FTP Upload".filepath = "/exports"
variables."API - Get Employees".apiKeys = ["${QUINYX_KEY}"]
"""
CREDENTIALS: Final = {
    "QUIN": {"apikey": "bench-key", "environment": "test"},
    "FTP": {"username": "u", "password": "p", "port": "21", "address": "ftp.example.org"},
}
SECRETS: Final = {"QUINYX_KEY": "bench-key", "FTP_USER": "bench", "FTP_PASSWORD": "bench"}


@dataclass
class Step:
    """One CLI command's run."""

    wall: float  # seconds
    client_cpu: float  # seconds, the CLI process
    server_cpu: float  # seconds, the emulator process
    requests: int
    peak_rss: float  # bytes, the CLI process


# ``python -m canvas_async.cli`` that writes its own peak RSS (VmHWM) to a file
# as it exits. ``wait4``'s ru_maxrss cannot tell it: Linux carries the parent's
# peak into a child's across fork and exec.
LAUNCH: Final = """
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status", encoding="ascii") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["CANVAS_BENCH_PEAK_FILE"], "w", encoding="ascii") as out:
        out.write(kb)
atexit.register(peak)
sys.argv[0] = "canvas-async"
runpy.run_module("canvas_async.cli", run_name="__main__", alter_sys=True)
"""


def _cli(args: list[str], env: dict[str, str], server: EmulatorProcess) -> tuple[Step, float]:
    """Run ``canvas-async ARGS`` in a process of its own; measure it as it ends."""
    with tempfile.NamedTemporaryFile("r", encoding="ascii", suffix=".kb") as peak:
        server_cpu = server.cpu_seconds()
        start = time.monotonic()
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", LAUNCH, *args],
            env={**env, "CANVAS_BENCH_PEAK_FILE": peak.name},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert child.stderr is not None
        errors = child.stderr.read().decode(errors="replace")
        # wait4, not wait: this child's own CPU, not every child's so far.
        _, status, usage = os.wait4(child.pid, 0)
        end = time.monotonic()
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stderr.close()
        if child.returncode != 0:
            raise RuntimeError(
                f"canvas-async {args[0]} exited {child.returncode}: {errors[-2000:]}"
            )
        peak_kb = int(peak.read() or 0)
    step = Step(
        wall=end - start,
        client_cpu=usage.ru_utime + usage.ru_stime,
        server_cpu=server.cpu_seconds() - server_cpu,
        requests=0,  # counted from the emulator's log once it exits
        peak_rss=peak_kb * 1024.0,
    )
    return step, start


def provision_steps(n: int) -> dict[str, Step]:
    """Apply, plan and apply again for ``n`` accounts against a fresh emulator."""
    windows: dict[str, tuple[Step, float]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator_process(seed="empty", synthetic_accounts=n, random_seed=13) as server,
    ):
        path = Path(tmp) / "accounts.toml"
        ids = asyncio.run(_account_ids(server))
        path.write_text(_file_text(ids))
        env = {
            **os.environ,
            **SECRETS,
            "CANVAS_ENV": server.url,
            "CANVAS_CONSUMER": server.consumer,
            "CANVAS_SECRET_KEY": server.secret_key,
        }
        for name in STEPS:
            command = "plan" if name == "plan" else "apply"
            windows[name] = _cli([command, str(path)], env, server)
    steps = {}
    for name, (step, start) in windows.items():
        step.requests = server.requests_between(start, start + step.wall)
        steps[name] = step
    return steps


async def _account_ids(server: EmulatorProcess) -> list[str]:
    import aiohttp

    keys = {_routes.CONSUMER_HEADER: server.consumer, _routes.SECRET_KEY_HEADER: server.secret_key}
    url = server.url + _routes.ROUTES["list_accounts"].path
    async with aiohttp.ClientSession(headers=keys) as session, session.get(url) as response:
        accounts = await response.json()
    return [account["id"] for account in accounts]


# -- the emulator's CPU per request ------------------------------------------------


async def _emulator_cpu(server: EmulatorProcess, sample: list[str]) -> float:
    """Send one account's reads and writes for each account of ``sample``;
    return the emulator's CPU seconds per request."""
    import aiohttp

    keys = {_routes.CONSUMER_HEADER: server.consumer, _routes.SECRET_KEY_HEADER: server.secret_key}
    paths = {key: server.url + route.path for key, route in _routes.ROUTES.items()}
    async with aiohttp.ClientSession(headers=keys) as session:

        async def call(key: str, account: str | None, body: object = None, **query: str) -> Any:
            headers = {} if account is None else {_routes.ACCOUNT_HEADER: account}
            method = _routes.ROUTES[key].method
            async with session.request(
                method, paths[key], params=query or None, json=body, headers=headers
            ) as response:
                raw = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{key}: {response.status} {raw[:200]!r}")
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode()

        apps = {app["shortName"]: app["id"] for app in await call("list_applications", None)}
        templates = await call("list_workflow_templates", None)
        template = next(t["id"] for t in templates if t["applications"] == ["QUIN", "FTP"])
        sent = 0

        async def one(account: str) -> None:
            nonlocal sent
            regs = await call("list_reg_applications", account)
            await call("list_workflows", account)
            await call("get_workflow", account, id=(await call("list_workflows", account))[0]["id"])
            new = {}
            for name, credentials in CREDENTIALS.items():
                body = {
                    "applicationId": apps[name],
                    "tagText": "again",
                    "credentialsJson": json.dumps(credentials),
                }
                new[name] = await call("create_reg_application", account, body)
            body = {"workflowTemplateId": template, "applications": new, "name": "Again"}
            workflow = await call("create_workflow", account, body)
            schedule = {
                "workflowId": workflow,
                "isScheduled": True,
                "scheduleFrequency": json.dumps({"cronSchedule": "0 0/5 * ? * * *"}),
            }
            await call("workflow_scheduler", account, schedule)
            email = f"new.{account}.{len(regs)}@example.org"
            person = {"firstName": "N", "lastName": "N", "email": email, "roleName": "User"}
            await call("create_account", account, person)
            sent += 9

        before = server.cpu_seconds()
        for start in range(0, len(sample), 8):  # 8 accounts at a time
            await asyncio.gather(*(one(a) for a in sample[start : start + 8]))
        return (server.cpu_seconds() - before) / sent


def emulator_cpu(sizes: tuple[int, ...], *, accounts: int, rounds: int) -> dict[int, list[float]]:
    """Emulator CPU seconds per request, ``rounds`` samples per size."""
    found: dict[int, list[float]] = {}
    for n in sizes:
        with emulator_process(
            seed="empty", synthetic_accounts=n, random_seed=13, provisioned=True, log_limit=1
        ) as server:
            # The accounts seeded (the ones created while measuring hold nothing).
            seeded = asyncio.run(_account_ids(server))
            rng = random.Random(n)
            found[n] = [
                asyncio.run(_emulator_cpu(server, rng.sample(seeded, min(accounts, n))))
                for _ in range(rounds)
            ]
    return found


# -- reading the file ------------------------------------------------------------


def _file_text(ids: list[str]) -> str:
    return DEFAULTS + "".join(f'[[accounts]]\nid = "{a}"\n' for a in ids)


def read_file(n: int) -> tuple[float, float]:
    """Read an ``n``-account file: (bytes it keeps per account, CPU s per account)."""
    import gc
    import tracemalloc
    import uuid

    from canvas_async.provision._load import loads

    text = _file_text([str(uuid.UUID(int=number, version=4)) for number in range(1, n + 1)])
    loads(_file_text([str(uuid.UUID(int=0, version=4))]))  # imports and caches warm
    gc.collect()
    cpu = time.process_time()
    loads(text)
    cpu = time.process_time() - cpu
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        state = loads(text)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(state.accounts) == n
    return kept / n, cpu / n


def load_table(sizes: tuple[int, ...], *, runs: int) -> Table:
    table = Table(
        title="Scaling: reading the desired-state file",
        columns=["accounts", "desired state kept, bytes per account", "CPU µs per account"],
    )
    for n in sizes:
        samples = [read_file(n) for _ in range(runs)]
        table.add(
            f"{n:,}",
            _spread([kept for kept, _ in samples], 1, ""),
            _spread([cpu for _, cpu in samples], 1e6, ""),
        )
    table.notes.append(
        "`canvas_async.provision._load.loads` on the same file as the CLI steps, in this "
        "process: bytes still allocated (tracemalloc) once the parsed document is freed, "
        f"and CPU time without tracemalloc; median (min-max) of {runs} runs."
    )
    return table


# -- tables --------------------------------------------------------------------------


def _spread(values: list[float], scale: float, unit: str) -> str:
    low, mid, high = (
        _fmt(v * scale) for v in (min(values), statistics.median(values), max(values))
    )
    shown = f"{mid} {unit}".rstrip()
    return shown if len(values) == 1 else f"{shown} ({low}-{high})"


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.{digits}g}"


def provision_table(sizes: tuple[int, ...], *, runs: int) -> Table:
    table = Table(
        title="Scaling: apply, plan and apply again through the CLI",
        columns=["accounts", "step", "wall s", "wall per account ms", "CLI CPU s",
                 "emulator CPU s", "requests", "requests per account", "CLI peak RSS MB"],
    )  # fmt: skip
    per_account: dict[str, dict[int, list[float]]] = {step: {} for step in STEPS}
    cpu_per_account: dict[str, dict[int, list[float]]] = {step: {} for step in STEPS}
    peak: dict[int, list[float]] = {}
    for n in sizes:
        samples = [provision_steps(n) for _ in range(runs)]
        for name in STEPS:
            steps = [s[name] for s in samples]
            walls = [s.wall for s in steps]
            per_account[name][n] = [w / n for w in walls]
            cpu_per_account[name][n] = [s.client_cpu / n for s in steps]
            peak.setdefault(n, []).extend(s.peak_rss for s in steps)
            requests = statistics.median(s.requests for s in steps)
            table.add(
                f"{n:,}", name, _spread(walls, 1, ""), _spread(per_account[name][n], 1e3, ""),
                _spread([s.client_cpu for s in steps], 1, ""),
                _spread([s.server_cpu for s in steps], 1, ""),
                f"{requests:,.0f}", f"{requests / n:.2f}",
                _spread([s.peak_rss for s in steps], 1 / 2**20, ""),
            )  # fmt: skip
    largest = max(sizes)
    if 1_000 in sizes and largest > 1_000:
        for name in STEPS:
            ratio = statistics.median(per_account[name][largest]) / statistics.median(
                per_account[name][1_000]
            )
            table.ratios[f"scale: {name} wall per account, {largest:,} / 1,000 accounts"] = (
                ratio,
                PER_ACCOUNT_TARGET if largest >= 20_000 else None,
                False,
            )
            cpu = cpu_per_account[name]
            table.ratios[
                f"scale: {name} CLI CPU per account, {largest:,} / 1,000 accounts (context)"
            ] = (statistics.median(cpu[largest]) / statistics.median(cpu[1_000]), None, False)
    table.ratios[f"scale: CLI peak RSS at {largest:,} accounts / {RSS_TARGET_MB:.0f} MB"] = (
        max(peak[largest]) / 2**20 / RSS_TARGET_MB,
        1.0 if largest >= 20_000 else None,
        False,
    )
    table.notes.append(
        "Each step is one `canvas-async` process against one emulator process per size "
        "(seed `empty`, N synthetic accounts; the file declares two applications and a "
        "scheduled workflow per account through shared defaults). Apply starts from empty "
        "accounts; plan and apply again find them converged. Figures: median "
        f"(min-max) of {runs} run{'s' if runs != 1 else ''}; requests are what the "
        "emulator logged during the step. CPU: user + system of each process. Targets "
        f"(judged at 20,000 only): wall per account within {PER_ACCOUNT_TARGET}x of that "
        f"at 1,000; CLI peak RSS below {RSS_TARGET_MB:.0f} MB. Sizes run one after "
        "another, minutes apart, so the wall ratios carry whatever the 2 shared cores' load "
        "did meanwhile, and each wall includes the CLI's start-up (~0.3 s); the CLI's CPU "
        "per account ratios, given as context, carry much less of either."
    )
    return table


def emulator_table(sizes: tuple[int, ...], *, quick: bool) -> Table:
    rounds = 3 if quick else 5
    accounts = 40 if quick else 200
    found = emulator_cpu(sizes, accounts=accounts, rounds=rounds)
    table = Table(
        title="Scaling: the emulator's CPU per request",
        columns=["accounts (each with 2 registrations, 1 workflow)", "emulator CPU µs/request"],
    )
    for n in sizes:
        table.add(f"{n:,}", _spread(found[n], 1e6, "µs"))
    smallest, largest = min(sizes), max(sizes)
    table.ratios[f"scale: emulator CPU per request, {largest:,} / {smallest:,} accounts"] = (
        statistics.median(found[largest]) / statistics.median(found[smallest]),
        PER_ACCOUNT_TARGET,
        False,
    )
    table.notes.append(
        f"{accounts} sampled accounts per round, 8 at a time, each sent the same 9 "
        "requests (list registrations, list workflows twice, get a workflow, two "
        "registrations, a workflow, a schedule, a new account); the emulator process's "
        f"CPU over them, per request: median (min-max) of {rounds} rounds."
    )
    return table


def run(quick: bool, sizes: tuple[int, ...] | None = None, only: str | None = None) -> list[Table]:
    """Every part (or ``only`` one), at ``sizes`` or the mode's default sizes."""
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    tables = []
    if only in (None, "load"):
        tables.append(load_table(sizes, runs=3 if quick else 5))
    if only in (None, "provision"):
        tables.append(provision_table(sizes, runs=1 if quick else 2))
    if only in (None, "emulator"):
        tables.append(emulator_table(sizes, quick=quick))
    return tables


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="", help="accounts, e.g. 100,1000,5000,20000")
    parser.add_argument("--quick", action="store_true", help="fewer runs and rounds")
    parser.add_argument("--only", choices=("load", "provision", "emulator"), help="one part")
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(",")) if args.sizes else None
    for table in run(args.quick, sizes, args.only):
        print(table.markdown(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
