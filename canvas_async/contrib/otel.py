"""OpenTelemetry spans and metrics for a client's calls (``pip install 'canvas-async[otel]'``).

Switch it on per client::

    from canvas_async.contrib.otel import instrument

    canvas = Canvas(...)
    instrument(canvas)  # the global tracer and meter providers, or pass your own

Each logical call is one span named after the operation (``"Workflows"``,
``"Workflow (POST)"``), child of whatever span is current where the call is
awaited; each attempt is a CLIENT span under it named ``"{method}
{url.template}"``, following the OpenTelemetry HTTP client semantic
conventions (``http.request.method``, ``server.address``, ``server.port``,
``url.template``, ``http.response.status_code``, ``error.type``,
``http.request.resend_count``); each retry is also an event on the call's
span, with the wait chosen. The account and the request id are
``canvas.account_id`` and ``canvas.request_id``. Spans carry no header, body
or key.

Metrics: ``http.client.request.duration`` (seconds, per attempt answered),
``canvas.client.requests`` (attempts sent) and ``canvas.client.retries``.

It is built on the client's public hooks
(:meth:`~canvas_async.Canvas.add_hooks`): every event of every call, after the hooks
the client already has. The package never imports this module (nor
OpenTelemetry) by itself.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Final

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import Span, SpanKind, StatusCode
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "canvas_async.contrib.otel needs OpenTelemetry: pip install 'canvas-async[otel]'"
    ) from error

from canvas_async import CallEvent, CallInfo, Hooks, __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from opentelemetry.util.types import AttributeValue

    from canvas_async._client import Canvas

__all__ = ["instrument"]

_SCOPE: Final = "canvas_async"
_instrumented: weakref.WeakSet[object] = weakref.WeakSet()


def instrument(
    canvas: Canvas,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> None:
    """Trace and measure every call of ``canvas`` and its account views.

    Args:
        canvas: The client.
        tracer_provider: Where spans go; the global provider by default.
        meter_provider: Where metrics go; the global provider by default.

    Raises:
        ValueError: ``canvas`` is already instrumented (its calls would be
            counted twice).
    """
    if canvas in _instrumented:
        raise ValueError("this client is already instrumented")
    tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
    meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
    url = canvas.base_url
    telemetry = _Telemetry(tracer, meter, url.host or "", url.port or 443)
    canvas.add_hooks(Hooks(telemetry, telemetry, telemetry, telemetry, telemetry))
    _instrumented.add(canvas)


class _Telemetry:
    """The hook turning call events, of every kind, into spans and measurements."""

    def __init__(self, tracer: trace.Tracer, meter: metrics.Meter, host: str, port: int) -> None:
        self._tracer = tracer
        self._server: dict[str, AttributeValue] = {"server.address": host, "server.port": port}
        self._calls: dict[CallInfo, Span] = {}
        self._attempts: dict[CallInfo, Span] = {}
        self._duration = meter.create_histogram(
            "http.client.request.duration", unit="s", description="Duration of HTTP requests."
        )
        self._requests = meter.create_counter(
            "canvas.client.requests", unit="{request}", description="Requests sent (attempts)."
        )
        self._retries = meter.create_counter(
            "canvas.client.retries", unit="{retry}", description="Requests retried."
        )

    async def __call__(self, event: CallEvent) -> None:
        call = event.call
        if event.kind == "request":
            self._request(event, call)
        elif event.kind == "response":
            failed = event.status is not None and event.status >= 400
            self._end_attempt(event, call, str(event.status) if failed else None)
        elif event.kind == "retry":
            self._end_attempt(event, call, event.error)  # no-op if the answer ended it
            self._retries.add(1, self._attributes(call))
            span = self._calls.get(call)
            if span is not None:
                span.add_event(
                    "retry",
                    {
                        "attempt": event.attempt,
                        "wait": event.wait or 0.0,
                        "error.type": event.error or "",
                    },
                )
        else:  # give_up or success: the call is over
            self._end_attempt(event, call, event.error)
            self._end_call(event, call)

    def _attributes(self, call: CallInfo) -> dict[str, AttributeValue]:
        """The attributes every span and measurement of the call carries."""
        return {
            "http.request.method": call.method,
            "url.template": call.path,
            "canvas.operation": call.operation,
            **self._server,
        }

    def _request(self, event: CallEvent, call: CallInfo) -> None:
        shared = self._attributes(call)
        parent = self._calls.get(call)
        if parent is None:
            ids = {"canvas.account_id": call.account_id, "canvas.request_id": call.request_id}
            details = {**shared, **{key: str(v) for key, v in ids.items() if v is not None}}
            parent = self._calls[call] = self._tracer.start_span(
                call.operation, kind=SpanKind.INTERNAL, attributes=details
            )
        attributes = dict(shared)
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        self._attempts[call] = self._tracer.start_span(
            f"{call.method} {call.path}",
            context=trace.set_span_in_context(parent),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        self._requests.add(1, shared)

    def _end_attempt(self, event: CallEvent, call: CallInfo, error: str | None) -> None:
        span = self._attempts.pop(call, None)
        if span is None:
            return
        outcome: dict[str, AttributeValue] = {}
        if event.status is not None:
            outcome["http.response.status_code"] = event.status
        if error is not None:
            outcome["error.type"] = error
            span.set_status(StatusCode.ERROR)
        span.set_attributes(outcome)
        span.end()
        if event.kind == "response" and event.duration is not None:
            self._duration.record(event.duration, {**self._attributes(call), **outcome})

    def _end_call(self, event: CallEvent, call: CallInfo) -> None:
        span = self._calls.pop(call, None)
        if span is None:
            return
        if event.attempt > 1:
            span.set_attribute("http.request.resend_count", event.attempt - 1)
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
        if event.kind == "give_up":
            span.set_attribute("error.type", event.error or "_OTHER")
            span.set_status(StatusCode.ERROR, event.error)
        span.end()
