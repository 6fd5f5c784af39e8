"""OpenTelemetry: one span per call, its attempts under it, and the metrics."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence

import attrs
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from canvas_async import CallEvent, Canvas, CanvasConnectionError, Hooks, NotFoundError, Retries
from canvas_async.contrib.otel import instrument
from canvas_async.testing import CanvasEmulator, ErrorStatus
from tests.leak_check import record_text
from tests.support import client_of


@attrs.frozen
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> Sequence[ReadableSpan]:
        spans = self.spans.get_finished_spans()
        for span in spans:
            record_text("span", span.to_json())
        return spans

    def sums(self) -> dict[str, float]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        totals: dict[str, float] = {}
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = point.count  # type: ignore[union-attr]
                        totals[metric.name] = totals.get(metric.name, 0) + value
        return totals


@pytest.fixture
async def traced(emu: CanvasEmulator) -> AsyncIterator[tuple[Canvas, Telemetry]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    async with client_of(
        emu, catalogue=False, retries=Retries(backoff_initial=0.01, backoff_max=0.02)
    ) as canvas:
        instrument(
            canvas,
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[reader]),
        )
        yield canvas, Telemetry(exporter, reader)


async def test_retried_call_is_one_parent_with_its_attempts(
    traced: tuple[Canvas, Telemetry], emu: CanvasEmulator
) -> None:
    canvas, telemetry = traced
    account = emu.state.managed_ids[0]
    emu.faults.add(ErrorStatus(503, retry_after=None), operations={"list_workflows"}, times=1)

    await canvas.for_account(account).workflows.list()

    spans = telemetry.finished()
    (parent,) = [s for s in spans if s.parent is None]
    attempts = sorted((s for s in spans if s.parent is not None), key=lambda s: s.start_time or 0)
    assert len(spans) == 3
    assert parent.name == "Workflows"
    assert parent.kind is SpanKind.INTERNAL
    assert parent.attributes is not None
    assert parent.attributes["canvas.account_id"] == str(account)
    assert parent.attributes["http.response.status_code"] == 200
    assert parent.attributes["http.request.resend_count"] == 1
    assert parent.attributes["server.address"] == "127.0.0.1"
    assert parent.status.status_code is not StatusCode.ERROR
    assert [e.name for e in parent.events] == ["retry"]
    for span in attempts:
        assert span.parent is not None
        assert span.parent.span_id == parent.context.span_id
        assert span.context.trace_id == parent.context.trace_id
        assert span.name == "GET /Workflows"
        assert span.kind is SpanKind.CLIENT
    first, second = (s.attributes for s in attempts)
    assert first is not None
    assert second is not None
    assert (first["http.response.status_code"], first["error.type"]) == (503, "503")
    assert "http.request.resend_count" not in first
    assert (second["http.response.status_code"], second["http.request.resend_count"]) == (200, 1)
    assert "error.type" not in second
    assert telemetry.sums() == {
        "canvas.client.requests": 2,
        "canvas.client.retries": 1,
        "http.client.request.duration": 2,
    }


async def test_failed_call_marks_its_span(traced: tuple[Canvas, Telemetry]) -> None:
    canvas, telemetry = traced

    with pytest.raises(NotFoundError) as info:
        await canvas.workflows.get(uuid.uuid4())

    (parent,) = [s for s in telemetry.finished() if s.parent is None]
    assert parent.status.status_code is StatusCode.ERROR
    assert parent.attributes is not None
    assert parent.attributes["error.type"] == "NotFoundError"
    assert parent.attributes["canvas.request_id"] == info.value.request_id


async def test_instrumenting_twice_is_refused(traced: tuple[Canvas, Telemetry]) -> None:
    canvas, _ = traced

    with pytest.raises(ValueError, match="already instrumented"):
        instrument(canvas)


def test_the_package_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, canvas_async, canvas_async.testing, canvas_async.bulk; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "[]"


async def test_no_answer_ends_each_attempt_with_its_error() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    kinds: list[str] = []

    async def hook(event: CallEvent) -> None:
        kinds.append(event.kind)

    async with Canvas(
        consumer="c" * 8,
        secret_key="s" * 8,
        env="http://127.0.0.1:9/api",
        catalogue=False,  # the discard port: nothing listens
        retries=Retries(max_retries=1, backoff_initial=0.01),
        hooks=Hooks(on_request=hook, on_retry=hook, on_give_up=hook),
    ) as canvas:
        instrument(canvas, tracer_provider=provider, meter_provider=MeterProvider())
        with pytest.raises(CanvasConnectionError):
            await canvas.accounts.list()

    spans = exporter.get_finished_spans()
    (parent,) = [s for s in spans if s.parent is None]
    attempts = [s for s in spans if s.parent is not None]
    assert len(attempts) == 2
    for span in (parent, *attempts):
        assert span.attributes is not None
        assert span.attributes["error.type"] == "CanvasConnectionError"
        assert span.status.status_code is StatusCode.ERROR
    # The hooks given to the client still see every event, before the tracing.
    assert kinds == ["request", "retry", "request", "give_up"]
