"""OpenTelemetry: one tracer provider per process, DB statements as child spans.

Trace and span ids always exist (they appear in logs and in the `traceparent` response header,
and an incoming trace is continued). Spans are *recorded* and exported over OTLP only when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set (sampled as `OTEL_TRACES_SAMPLER` says, parent-based
always-on by default). Without an exporter nothing would read them, so by default they are not
recorded at all: measured here, recording cost ~20% of a simple read's CPU. Even an unrecorded
span costs the SDK a sampler call, its own metrics and two context managers (about 15 us per
request in a server process), so the request envelope makes its unrecorded server span itself
(`server_span`): the same ids and flags the SDK would give it, and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
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
                attributes: dict[str, Any]) -> AbstractContextManager[Span]:
    """The current span for one request, continuing the caller's trace from `carrier`."""
    parent = extract(carrier) if carrier else None
    if _spans_recorded:
        return tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER,
                                            attributes=attributes, record_exception=False,
                                            set_status_on_exception=False)
    return UnrecordedSpan(parent)


class UnrecordedSpan(AbstractContextManager[Span]):
    """What the SDK makes of a span its sampler drops: a new span id in the caller's trace (or
    a new trace), not sampled, keeping the caller's random-id flag and tracestate. Current for
    the `with` block. A class, not a generator: it runs for every request."""

    __slots__ = ("_parent", "_span", "_token")

    def __init__(self, parent: context_api.Context | None = None) -> None:
        caller = trace.get_current_span(parent).get_span_context()
        if caller.is_valid:
            trace_id, random_id, state = (caller.trace_id, caller.trace_flags.random_trace_id,
                                          caller.trace_state)
        else:
            trace_id, random_id, state = _ids.generate_trace_id(), _ids.is_trace_id_random(), None
        flags = TraceFlags(TraceFlags.RANDOM_TRACE_ID if random_id else TraceFlags.DEFAULT)
        self._parent = parent
        self._span = NonRecordingSpan(SpanContext(
            trace_id, _ids.generate_span_id(), is_remote=False, trace_flags=flags,
            trace_state=state))

    def __enter__(self) -> Span:
        self._token = context_api.attach(trace.set_span_in_context(self._span, self._parent))
        return self._span

    def __exit__(self, *_: object) -> None:
        context_api.detach(self._token)


def span_ids(span: Span) -> tuple[str, str, bytes]:
    """A span's trace id, span id (hex) and W3C traceparent, for log lines and headers."""
    ctx = span.get_span_context()
    trace_id, span_id = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    return trace_id, span_id, f"00-{trace_id}-{span_id}-{int(ctx.trace_flags):02x}".encode()


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None outside any span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def current_ids() -> tuple[str | None, str | None]:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None, None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


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
