"""OpenTelemetry: one tracer provider per process, DB statements as child spans.

Trace and span ids always exist (they appear in logs and in the `traceparent` response header,
and an incoming trace is continued). Spans are *recorded* and exported over OTLP only when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set (sampled as `OTEL_TRACES_SAMPLER` says, parent-based
always-on by default). Without an exporter nothing would read them, so by default they are not
recorded at all: measured here, recording cost ~20% of a simple read's CPU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind
from psycopg import AsyncCursor

tracer = trace.get_tracer("rampart")
_configured = False


def setup_tracing(service_name: str = "rampart") -> None:
    global _configured
    if _configured:
        return
    _configured = True
    trace.set_tracer_provider(make_provider(service_name, os.environ))


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
