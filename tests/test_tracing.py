"""Which spans are recorded: only when something would export them."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind

from shared.logging.tracing import UnrecordedSpan, make_provider, span_ids

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_without_an_exporter_spans_are_not_recorded_but_ids_flow() -> None:
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


def test_the_envelope_s_UnrecordedSpan_matches_what_the_sdk_would_make() -> None:
    tracer = make_provider("t", {}).get_tracer("t")
    for incoming in ({"traceparent": PARENT, "tracestate": "vendor=1"}, {}):
        parent = extract(incoming) if incoming else None
        with tracer.start_as_current_span("x", context=parent) as sdk:
            expected = sdk.get_span_context()
        with UnrecordedSpan(parent) as span:
            got = span.get_span_context()
            assert trace.get_current_span() is span  # current for the block: logs, headers
            assert not span.is_recording()
        assert trace.get_current_span() is not span  # and no longer after it
        assert got.is_valid and not got.is_remote
        assert (got.trace_flags, got.trace_state) == (expected.trace_flags, expected.trace_state)
        if incoming:
            assert got.trace_id == expected.trace_id == int(PARENT.split("-")[1], 16)
        assert got.span_id not in (expected.span_id, int(PARENT.split("-")[2], 16))


def test_span_ids_give_the_w3c_traceparent() -> None:
    with UnrecordedSpan(extract({"traceparent": PARENT})) as span:
        trace_id, span_id, traceparent = span_ids(span)
    assert trace_id == "0af7651916cd43dd8448eb211c80319c" and len(span_id) == 16
    assert traceparent == f"00-{trace_id}-{span_id}-00".encode()
