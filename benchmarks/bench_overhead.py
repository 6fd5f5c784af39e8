"""Overhead against the limit: the same requests through three clients.

The emulator runs in its own process with no faults. Each contender sends the
same N requests (list workflows, get one workflow, run a workflow) from C
concurrent workers:

- canvas-async, answers parsed into models;
- raw aiohttp with ``json.loads`` (no models): the practical limit;
- ``httpx.AsyncClient`` with ``response.json()``: what many users pick instead.

Reported: requests/s, and the ratio canvas-async / raw aiohttp (target >= 0.90).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table
from _server import emulator_process

Op = Callable[[], Awaitable[object]]


async def _drive(op: Op, n: int, concurrency: int) -> float:
    """Send ``n`` requests from ``concurrency`` workers; return requests/s."""
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await op()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def _contenders(server: dict[str, str]) -> tuple[dict[str, dict[str, Op]], Any]:
    import aiohttp
    import httpx

    from canvas_async import Canvas

    url = server["url"]
    keys = {"Consumer": server["consumer"], "SecretKey": server["secret_key"]}

    canvas = Canvas(consumer=server["consumer"], secret_key=server["secret_key"], env=url)
    await canvas.__aenter__()
    workflows = await canvas.workflows.list()
    wf = workflows[0]
    wf_id = str(wf.id)

    session = aiohttp.ClientSession(headers=keys)
    client = httpx.AsyncClient(headers=keys, timeout=30)

    async def aio_get(path: str, **params: str) -> object:
        async with session.get(url + path, params=params) as response:
            return json.loads(await response.read())

    async def aio_run() -> object:
        async with session.post(url + "/RunWorkflow", json={"workflowId": wf_id}) as response:
            return await response.text()

    async def httpx_get(path: str, **params: str) -> object:
        return (await client.get(url + path, params=params)).json()

    async def httpx_run() -> object:
        return (await client.post(url + "/RunWorkflow", json={"workflowId": wf_id})).text

    contenders: dict[str, dict[str, Op]] = {
        "canvas-async": {
            "list workflows": canvas.workflows.list,
            "get workflow": lambda: canvas.workflows.get(wf_id),
            "run workflow": wf.run,
        },
        "raw aiohttp": {
            "list workflows": lambda: aio_get("/Workflows"),
            "get workflow": lambda: aio_get("/Workflow", id=wf_id),
            "run workflow": aio_run,
        },
        "httpx": {
            "list workflows": lambda: httpx_get("/Workflows"),
            "get workflow": lambda: httpx_get("/Workflow", id=wf_id),
            "run workflow": httpx_run,
        },
    }

    async def close() -> None:
        await canvas.aclose()
        await session.close()
        await client.aclose()

    return contenders, close


async def _measure(quick: bool) -> Table:
    n = 100 if quick else 1_000
    rounds = 1 if quick else 5
    levels = (1, 16, 64)
    table = Table(
        title="Overhead vs the limit (emulator in its own process)",
        columns=["operation", "concurrency", "canvas-async req/s", "raw aiohttp req/s",
                 "httpx req/s", "canvas-async / aiohttp"],
    )  # fmt: skip
    with emulator_process(seed="samples") as server:
        contenders, close = await _contenders(server)
        try:
            worst = float("inf")
            for op in ("list workflows", "get workflow", "run workflow"):
                for concurrency in levels:
                    rates: dict[str, list[float]] = {name: [] for name in contenders}
                    for _ in range(rounds):  # interleaved: noise hits all alike
                        for name, ops in contenders.items():
                            rates[name].append(await _drive(ops[op], n, concurrency))
                    med = {name: sorted(r)[len(r) // 2] for name, r in rates.items()}
                    ratio = med["canvas-async"] / med["raw aiohttp"]
                    worst = min(worst, ratio)
                    table.add(op, concurrency, med["canvas-async"], med["raw aiohttp"],
                              med["httpx"], f"{ratio:.2f}")  # fmt: skip
        finally:
            await close()
    table.ratios["overhead: canvas-async / raw aiohttp (worst case)"] = (worst, 0.90, True)
    table.notes.append(
        f"{n:,} requests per cell, median of {rounds} interleaved rounds; the emulator "
        "serves from one process, so at high concurrency every contender meets its limit."
    )
    return table


def run(quick: bool) -> Table:
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    print(run("--quick" in sys.argv).markdown())
