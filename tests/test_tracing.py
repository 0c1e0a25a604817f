"""Which spans are recorded: only when something would export them."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from shared.logging.tracing import make_provider

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_without_an_exporter_spans_are_not_recorded_but_ids_flow() -> None:
    from opentelemetry.propagate import extract

    tracer = make_provider("t", {}).get_tracer("t")
    with tracer.start_as_current_span("GET /x", context=extract({"traceparent": PARENT}),
                                      kind=SpanKind.SERVER) as span:
        assert not span.is_recording()
        ctx = span.get_span_context()
        assert f"{ctx.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
        assert f"{ctx.span_id:016x}" != "b7ad6b7169203331"
    with tracer.start_as_current_span("root") as span:
        assert span.get_span_context().is_valid  # a fresh trace id for logs and headers


def test_an_exporter_or_an_explicit_sampler_records_spans() -> None:
    for environ in ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"},
                    {"OTEL_TRACES_SAMPLER": "always_on"}):
        provider = make_provider("t", environ)
        with provider.get_tracer("t").start_as_current_span("x") as span:
            assert span.is_recording()
        provider.shutdown()
