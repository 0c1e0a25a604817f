"""OpenTelemetry: one tracer provider per process, DB statements as child spans.

Trace and span ids always exist (they appear in logs and in the `traceparent` response header,
and an incoming trace is continued). Spans are *recorded* and exported over OTLP only when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set (sampled as `OTEL_TRACES_SAMPLER` says, parent-based
always-on by default). Without an exporter nothing would read them, so by default they are not
recorded at all: measured here, recording cost ~20% of a simple read's CPU.

Unrecorded, a request's span is only its identity: the trace id (the caller's, or a new one),
a new span id and the flags the SDK would give a span its sampler drops. `UnrecordedSpan`
keeps them in a context variable for the request's log lines (`current_ids`) and the events
it writes (`current_traceparent`). Building and attaching an SDK `NonRecordingSpan` for that
cost about a tenth of a product read's instructions (measured with callgrind); the ids in a
context variable cost a hundredth.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, SpanContext, SpanKind
from psycopg import AsyncCursor

tracer = trace.get_tracer("rampart")
_configured = False
_spans_recorded = True  # until setup_tracing installs a provider that records none
_ids = RandomIdGenerator()


def setup_tracing(service_name: str = "rampart") -> None:
    global _configured, _spans_recorded
    if _configured:
        return
    _configured = True
    provider = make_provider(service_name, os.environ)
    _spans_recorded = provider.sampler is not ALWAYS_OFF
    trace.set_tracer_provider(provider)


def make_provider(service_name: str, environ: Mapping[str, str]) -> TracerProvider:
    exporting = bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    # None lets the SDK read OTEL_TRACES_SAMPLER; ALWAYS_OFF still creates (unrecorded) spans
    # whose ids continue the caller's trace.
    sampler = None if exporting or environ.get("OTEL_TRACES_SAMPLER") else ALWAYS_OFF
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}),
                              sampler=sampler)
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def spans_recorded() -> bool:
    """Whether spans are recorded in this process (an exporter or a sampler is configured)."""
    return _spans_recorded


def server_span(name: str, carrier: dict[str, str],
                attributes: dict[str, Any]) -> AbstractContextManager[Span | UnrecordedSpan]:
    """The current span for one request, continuing the caller's trace from `carrier`."""
    parent = extract(carrier) if carrier else None
    if _spans_recorded:
        return tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER,
                                            attributes=attributes, record_exception=False,
                                            set_status_on_exception=False)
    return UnrecordedSpan(parent)


class UnrecordedSpan(AbstractContextManager["UnrecordedSpan"]):
    """What the SDK makes of a span its sampler drops, without the span: a new span id in the
    caller's trace (or a new trace), not sampled, keeping the caller's random-id flag. Current
    for the `with` block (`current_ids`, `current_traceparent`). It runs for every request."""

    __slots__ = ("span_id", "token", "trace_id", "traceparent")

    def __init__(self, parent: context_api.Context | None = None) -> None:
        caller = trace.get_current_span(parent).get_span_context() if parent else None
        if caller is not None and caller.is_valid:
            trace_id = f"{caller.trace_id:032x}"
            flags = "02" if caller.trace_flags.random_trace_id else "00"
        else:
            trace_id, flags = f"{_ids.generate_trace_id():032x}", "02"  # W3C "random" flag
        self.trace_id, self.span_id = trace_id, f"{_ids.generate_span_id():016x}"
        self.traceparent = f"00-{trace_id}-{self.span_id}-{flags}"

    def __enter__(self) -> UnrecordedSpan:
        self.token = _unrecorded.set(self)
        return self

    def __exit__(self, *_: object) -> None:
        _unrecorded.reset(self.token)


_unrecorded: ContextVar[UnrecordedSpan | None] = ContextVar("unrecorded_span", default=None)


def span_ids(span: Span | UnrecordedSpan) -> tuple[str, str, bytes]:
    """A span's trace id, span id (hex) and W3C traceparent, for log lines and headers."""
    if isinstance(span, UnrecordedSpan):
        return span.trace_id, span.span_id, span.traceparent.encode()
    trace_id, span_id, traceparent = _w3c(span.get_span_context())
    return trace_id, span_id, traceparent.encode()


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None outside any span."""
    ids = _current()
    return ids[2] if ids else None


def current_ids() -> tuple[str | None, str | None]:
    ids = _current()
    return (ids[0], ids[1]) if ids else (None, None)


def _current() -> tuple[str, str, str] | None:
    """The current span's ids: a valid SDK span's, else the request's unrecorded one's."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return _w3c(ctx)
    unrecorded = _unrecorded.get()
    if unrecorded is None:
        return None
    return unrecorded.trace_id, unrecorded.span_id, unrecorded.traceparent


def _w3c(ctx: SpanContext) -> tuple[str, str, str]:
    trace_id, span_id = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    return trace_id, span_id, f"00-{trace_id}-{span_id}-{int(ctx.trace_flags):02x}"


class TracedCursor(AsyncCursor[Any]):
    """Every statement becomes a client span named after its SQL verb, inside the request span."""

    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if not trace.get_current_span().is_recording():  # nobody would see the span
            return await super().execute(query, params, **kwargs)
        text = query if isinstance(query, str) else getattr(query, "as_string", lambda: "")()
        verb = text.lstrip().split(None, 1)[0].upper() if text.strip() else "SQL"
        with tracer.start_as_current_span(f"db {verb}", kind=SpanKind.CLIENT) as span:
            if span.is_recording():
                span.set_attribute("db.system", "postgresql")
                span.set_attribute("db.statement", text[:2000])
            return await super().execute(query, params, **kwargs)
