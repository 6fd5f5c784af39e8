"""Bulk efficiency: provisioning N accounts against a server with fixed latency.

The emulator runs in its own process and delays every answer by a fixed
latency (50 ms). canvas-async provisions N synthetic managed accounts,
``C`` at a time, with :func:`canvas_async.bulk.for_each_account`. For each
account: register two applications (Quinyx and FTP), create a workflow from
the template that uses them, schedule it. The applications and the template
are read once before the clock starts, as a provisioning script would.

Raw aiohttp sends the same requests (same paths, headers and bodies, answers
read with ``json.loads``, an ``asyncio.Semaphore`` for the concurrency): what
this machine and the emulator allow, so the SDK's own share of a gap shows.

With the server's latency ``L`` and ``C`` requests in flight, ``R`` requests
take at least ``R x L / C``: the ideal. ``R`` is every request the emulator
received while the clock ran (its own log), so the reads the SDK makes behind
a call (the registration list after a register, the workflow after a create
or a schedule) count too. Reported: wall time / ideal (target <= 1.15 at
N = 1,000, C = 100) and the client's peak RSS growth (target < 100 MB).

Every run gets a fresh emulator; contenders alternate; figures are medians.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table
from _server import EmulatorProcess, emulator_process

from canvas_async import _routes

LATENCY = 0.050
TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"
CRON = "0 0/5 * ? * * *"
QUINYX_CREDENTIALS = {"apikey": "bench-key", "environment": "test"}
FTP_CREDENTIALS = {"username": "u", "password": "p", "port": "21", "address": "ftp.example.com"}


@dataclass
class Run:
    """One provisioning run."""

    seconds: float
    requests: int
    failures: int
    rss_growth: float  # bytes


@dataclass
class Setup:
    """What is read before the clock starts."""

    accounts: list[uuid.UUID]
    apps: dict[str, Any]
    template: Any


Provisioner = Callable[[EmulatorProcess, int, int], Awaitable[tuple[float, float, float, int]]]


def _rss() -> tuple[int, int]:
    """Return (current RSS, peak RSS since the last reset) in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        text = status.read()
    found = [re.search(rf"{key}:\s+(\d+)", text) for key in ("VmRSS", "VmHWM")]
    current, peak = (int(match.group(1)) * 1024 if match else 0 for match in found)
    return current, peak


def _reset_peak_rss() -> None:
    # Resets VmHWM to the current RSS, so the peak is this run's alone.
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")


async def _timed(work: Callable[[], Awaitable[int]]) -> tuple[float, float, float, int]:
    """Run ``work``; return (start, end, peak RSS growth, failures)."""
    gc.collect()
    base, _ = _rss()
    _reset_peak_rss()
    start = time.monotonic()
    failures = await work()
    end = time.monotonic()
    _, peak = _rss()
    return start, end, float(peak - base), failures


async def _setup(canvas: Any, n: int) -> Setup:
    accounts = [account.id for account in await canvas.accounts.list()][:n]
    if len(accounts) < n:
        raise RuntimeError(f"the emulator has {len(accounts)} managed accounts, not {n}")
    apps = {app.short_name: app for app in await canvas.applications.list()}
    return Setup(accounts, apps, await canvas.templates.get(TEMPLATE))


async def canvas_async_provision(
    server: EmulatorProcess, n: int, concurrency: int
) -> tuple[float, float, float, int]:
    """Provision ``n`` accounts with canvas-async's bulk API."""
    from canvas_async import Canvas
    from canvas_async.bulk import for_each_account

    async with Canvas(
        consumer=server.consumer,
        secret_key=server.secret_key,
        env=server.url,
        max_concurrency=concurrency,
    ) as canvas:
        setup = await _setup(canvas, n)
        quinyx_app, ftp_app, template = setup.apps["QUIN"], setup.apps["FTP"], setup.template

        async def provision(view: Any) -> uuid.UUID:
            quinyx = await view.reg_applications.create(
                quinyx_app, tag_text="Quinyx", credentials=QUINYX_CREDENTIALS
            )
            ftp = await view.reg_applications.create(
                ftp_app, tag_text="FTP", credentials=FTP_CREDENTIALS
            )
            workflow = await view.workflows.create(
                template, name="Employee export", applications={"QUIN": quinyx, "FTP": ftp}
            )
            workflow = await workflow.schedule(CRON)
            workflow_id: uuid.UUID = workflow.id
            return workflow_id

        async def work() -> int:
            report = await for_each_account(
                canvas, setup.accounts, provision, concurrency=concurrency
            )
            return len(report.failures())

        return await _timed(work)


async def raw_aiohttp_provision(
    server: EmulatorProcess, n: int, concurrency: int
) -> tuple[float, float, float, int]:
    """Send the same requests with raw aiohttp: the practical limit."""
    import aiohttp

    from canvas_async import Canvas

    async with Canvas(consumer=server.consumer, secret_key=server.secret_key, env=server.url) as c:
        setup = await _setup(c, n)  # the same reads, untimed, through the SDK
    url = server.url
    paths = {key: url + route.path for key, route in _routes.ROUTES.items()}
    keys = {_routes.CONSUMER_HEADER: server.consumer, _routes.SECRET_KEY_HEADER: server.secret_key}
    slots = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=keys, connector=connector) as session:

        async def call(key: str, account: str, body: object = None, **params: str) -> Any:
            method = _routes.ROUTES[key].method
            async with (
                slots,
                session.request(
                    method,
                    paths[key],
                    params=params or None,
                    json=body,
                    headers={_routes.ACCOUNT_HEADER: account},
                ) as response,
            ):
                raw = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{key}: {response.status}")
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode()

        async def register(account: str, app: Any, tag: str, credentials: dict[str, str]) -> str:
            body = {
                "applicationId": str(app.id),
                "tagText": tag,
                "credentialsJson": json.dumps(credentials),
            }
            new_id = await call("create_reg_application", account, body)
            listed = await call("list_reg_applications", account)
            return next(r["id"] for r in listed if r["id"] == new_id)

        async def provision(account_id: uuid.UUID) -> None:
            account = str(account_id)
            quinyx = await register(account, setup.apps["QUIN"], "Quinyx", QUINYX_CREDENTIALS)
            ftp = await register(account, setup.apps["FTP"], "FTP", FTP_CREDENTIALS)
            body = {
                "workflowTemplateId": str(setup.template.id),
                "applications": {"QUIN": quinyx, "FTP": ftp},
                "name": "Employee export",
            }
            workflow_id = await call("create_workflow", account, body)
            await call("get_workflow", account, id=workflow_id)
            schedule = {
                "workflowId": workflow_id,
                "isScheduled": True,
                "scheduleFrequency": json.dumps({"cronSchedule": CRON}),
            }
            await call("workflow_scheduler", account, schedule)
            await call("get_workflow", account, id=workflow_id)

        async def work() -> int:
            results = await asyncio.gather(
                *(provision(a) for a in setup.accounts), return_exceptions=True
            )
            return sum(isinstance(r, BaseException) for r in results)

        return await _timed(work)


CONTENDERS: dict[str, Provisioner] = {
    "canvas-async": canvas_async_provision,
    "raw aiohttp": raw_aiohttp_provision,
}


def measure(n: int, concurrency: int, *, runs: int) -> dict[str, list[Run]]:
    """Provision ``n`` accounts ``runs`` times per contender, each on a fresh emulator."""
    results: dict[str, list[Run]] = {name: [] for name in CONTENDERS}
    for _ in range(runs):
        for name, provision in CONTENDERS.items():
            with emulator_process(seed="empty", synthetic_accounts=n, latency=LATENCY) as server:
                start, end, growth, failures = asyncio.run(provision(server, n, concurrency))
            requests = server.requests_between(start, end)
            results[name].append(Run(end - start, requests, failures, growth))
    return results


def run(quick: bool) -> Table:
    """Measure and tabulate, for ``benchmarks/run.py``."""
    cases = [(100, 20)] if quick else [(100, 20), (1_000, 100)]
    runs = 1 if quick else 3
    table = Table(
        title=f"Bulk provisioning against {LATENCY * 1e3:.0f} ms of latency",
        columns=["contender", "accounts", "concurrency", "requests", "wall s", "ideal s",
                 "wall / ideal", "peak RSS growth MB", "failures"],
    )  # fmt: skip
    for n, concurrency in cases:
        measured = measure(n, concurrency, runs=runs)
        for name, results in measured.items():
            seconds = statistics.median(r.seconds for r in results)
            requests = round(statistics.median(r.requests for r in results))
            ideal = requests * LATENCY / concurrency
            growth = max(r.rss_growth for r in results)
            failures = sum(r.failures for r in results)
            table.add(name, n, concurrency, requests, seconds, ideal, f"{seconds / ideal:.3f}",
                      growth / 1e6, failures)  # fmt: skip
            if name == "canvas-async" and (n, concurrency) == cases[-1]:
                label = f"N={n:,}, C={concurrency}"
                table.ratios[f"bulk: wall / ideal ({label})"] = (seconds / ideal, 1.15, False)
                table.ratios[f"bulk: peak RSS growth / 100 MB ({label})"] = (
                    growth / 100e6,
                    1.0,
                    False,
                )
    table.notes.append(
        "ideal = requests x latency / concurrency, counting every request the emulator "
        f"received while the clock ran; median of {runs} run(s) per contender, alternating, "
        "each on a fresh emulator; RSS growth: the client's peak over the run minus its "
        "RSS before (the largest of the runs). Each account takes 8 requests: 2 x "
        "(RegApplication, RegApplications), Workflow POST + GET, WorkflowScheduler + "
        "Workflow GET."
    )
    return table


if __name__ == "__main__":
    print(run("--quick" in sys.argv).markdown())
