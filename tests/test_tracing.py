"""Which spans are recorded: only when something would export them."""

from __future__ import annotations

from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind

from shared.logging.tracing import (
    UnrecordedSpan,
    current_ids,
    current_traceparent,
    make_provider,
    span_ids,
)

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
    for incoming in ({"traceparent": PARENT, "tracestate": "vendor=1"},
                     {"traceparent": PARENT.replace("-01", "-02")}, {"traceparent": "junk"}, {}):
        parent = extract(incoming) if incoming else None
        with tracer.start_as_current_span("x", context=parent) as sdk:
            expected = sdk.get_span_context()
        with UnrecordedSpan(parent) as span:
            trace_id, span_id, traceparent = span_ids(span)
            # Current for the block: the request's log lines and the events it writes.
            assert current_ids() == (trace_id, span_id)
            assert current_traceparent() == traceparent.decode()
        assert current_ids() == (None, None) and current_traceparent() is None  # not after
        assert traceparent.decode().rsplit("-", 1)[1] == f"{int(expected.trace_flags):02x}"
        if incoming.get("traceparent", "").startswith("00-"):
            assert int(trace_id, 16) == expected.trace_id == int(PARENT.split("-")[1], 16)
        assert int(span_id, 16) not in (0, expected.span_id, int(PARENT.split("-")[2], 16))


def test_span_ids_give_the_w3c_traceparent() -> None:
    with UnrecordedSpan(extract({"traceparent": PARENT})) as span:
        trace_id, span_id, traceparent = span_ids(span)
    assert trace_id == "0af7651916cd43dd8448eb211c80319c" and len(span_id) == 16
    assert traceparent == f"00-{trace_id}-{span_id}-00".encode()


def test_a_recorded_span_is_current_over_an_unrecorded_one() -> None:
    tracer = make_provider("t", {"OTEL_TRACES_SAMPLER": "always_on"}).get_tracer("t")
    with UnrecordedSpan() as outer, tracer.start_as_current_span("inner") as inner:
        ctx = inner.get_span_context()
        assert current_ids() == (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}") != (
            outer.trace_id, outer.span_id)
