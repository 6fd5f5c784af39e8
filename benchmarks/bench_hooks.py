"""What watching a client costs: client CPU per request with hooks and tracing off and on.

The same requests (get one workflow, concurrency 16) through clients of one
emulator process, side by side and interleaved in rounds:

- off: no hooks, no tracing (the default; the request path checks one
  attribute), with and without the request id header;
- hooks on: a no-op async hook on each of the five events;
- OpenTelemetry on: ``contrib.otel.instrument`` with the SDK, spans kept in
  memory (cleared each round), metrics to an in-memory reader.

Reported: this process's CPU time per request (``process_time``), the
median over rounds and the spread (lowest-highest), and each contender's
ratio to "off". Run alone: ``python benchmarks/bench_hooks.py [--quick]``;
``--off-only`` measures the default client alone, as an older checkout
without hooks is measured (``PYTHONPATH=<its copy>``), for comparing the two.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table
from _server import emulator_process
from bench_overhead import Op, _drive, _rotated

OFF = "off (default: no hooks, no tracing)"


async def _noop(event: object) -> None:
    return None


def _otel(canvas: Any) -> tuple[Any, Any] | None:
    """Instrument ``canvas`` with the SDK; None when it is not installed."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        from canvas_async.contrib.otel import instrument
    except ImportError:
        return None
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    instrument(canvas, tracer_provider=provider, meter_provider=MeterProvider([reader]))
    return exporter, reader


async def _measure(quick: bool, off_only: bool = False) -> Table:
    import canvas_async
    from canvas_async import Canvas

    n, rounds, concurrency = (100, 2, 16) if quick else (600, 11, 16)
    notes: list[str] = []
    with emulator_process(seed="samples", log_limit=1000) as server:
        keys = {"consumer": server.consumer, "secret_key": server.secret_key, "env": server.url}
        clients = {OFF: Canvas(**keys)}
        hooks = None if off_only else getattr(canvas_async, "Hooks", None)
        if off_only:
            notes.append("--off-only: the default client alone, as an older checkout runs.")
        elif hooks is None:
            # An older canvas_async (PYTHONPATH=...): its request path as the baseline.
            notes.append(f"canvas_async from {canvas_async.__file__}: no hooks; off only.")
        else:
            every = dict.fromkeys(
                ("on_request", "on_response", "on_retry", "on_give_up", "on_success"), _noop
            )
            clients["off, no request id header"] = Canvas(**keys, request_id_header=None)
            clients["hooks on (a no-op hook on every event)"] = Canvas(**keys, hooks=hooks(**every))
        traced = Canvas(**keys)
        otel = None if hooks is None else _otel(traced)
        if otel is None:
            if hooks is not None:
                notes.append("OpenTelemetry SDK not installed: its row is left out.")
            await traced.aclose()
        else:
            clients["OpenTelemetry on (SDK, spans in memory)"] = traced
        workflow = str((await clients[OFF].workflows.list())[0].id)
        ops: dict[str, Op] = {
            name: (lambda c=canvas: c.workflows.get(workflow)) for name, canvas in clients.items()
        }
        cpu: dict[str, list[float]] = {name: [] for name in ops}
        try:
            for op in ops.values():
                await _drive(op, 50, concurrency, server)
            for turn in range(rounds):
                for name in _rotated(list(ops), turn):
                    # Each client starts clean: no spans kept, no garbage of the last.
                    if otel is not None:
                        otel[0].clear()
                    gc.collect()
                    sample = await _drive(ops[name], n, concurrency, server)
                    cpu[name].append(sample.client_cpu)
        finally:
            for canvas in clients.values():
                await canvas.aclose()
    table = Table(
        title="What watching costs: client CPU per request (get workflow, concurrency 16)",
        columns=["client", "CPU µs/req (median)", "spread (low-high)", "vs off"],
    )
    base = statistics.median(cpu[OFF])
    for name, samples in cpu.items():
        value = statistics.median(samples)
        spread = f"{min(samples) * 1e6:.0f}-{max(samples) * 1e6:.0f}"
        table.add(name, value * 1e6, spread, f"{value / base:.2f}x")
    table.notes.append(
        f"{n:,} requests per client and round, {rounds} interleaved rounds (each round starts "
        "with another client); this process's CPU time, so the emulator's does not count."
    )
    table.notes += notes
    return table


def run(quick: bool) -> Table:
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    # --off-only: the default client alone, to compare with an older checkout
    # run the same way (PYTHONPATH=<its copy> python benchmarks/bench_hooks.py).
    print(asyncio.run(_measure("--quick" in sys.argv, "--off-only" in sys.argv)).markdown())
