from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.telemetry import (
    current_traceparent,
    linked_span,
    producer_spans,
    setup_logging,
    span_context,
    traceparent_of,
)


def test_tokens_in_logged_urls_are_redacted() -> None:
    setup_logging("test", json_logs=True)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.stream = stream  # type: ignore[attr-defined]
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket /ws?token=%s&after=3" [accepted]', "127.0.0.1:5000", "eyJhbGc.secret.sig"
    )
    line = json.loads(stream.getvalue())
    assert "eyJhbGc" not in line["message"]
    assert "/ws?token=<redacted>&after=3" in line["message"]
    assert line["service"] == "test"


def _lines(run: Callable[[], None]) -> list[dict[str, Any]]:
    setup_logging("test", json_logs=True)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.stream = stream  # type: ignore[attr-defined]
    run()
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_logged_inside_a_span_carries_its_trace_and_span_ids(
    spans: InMemorySpanExporter,
) -> None:
    def run() -> None:
        logging.getLogger("x").info("outside")
        with trace.get_tracer("t").start_as_current_span("work"):
            logging.getLogger("x").info("inside")

    outside, inside = _lines(run)
    (span,) = spans.get_finished_spans()
    assert span.context is not None
    assert inside["trace_id"] == f"{span.context.trace_id:032x}"
    assert inside["span_id"] == f"{span.context.span_id:016x}"
    assert outside["trace_id"] == outside["span_id"] == ""


def test_current_traceparent_names_the_active_span(spans: InMemorySpanExporter) -> None:
    assert current_traceparent() == ""
    with trace.get_tracer("t").start_as_current_span("work") as span:
        tp = current_traceparent()
    assert tp == traceparent_of(span.get_span_context())
    assert span_context(tp) is not None
    assert span_context("garbage") is None


def test_producer_spans_put_each_message_in_the_trace_that_made_it(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("t")
    with tracer.start_as_current_span("request a"):
        a = current_traceparent()
    with tracer.start_as_current_span("request b"):
        b = current_traceparent()
    spans.clear()
    with producer_spans("publish", [a, "", b]) as carried:
        batch_tp = current_traceparent()
    by_name: dict[str, list[ReadableSpan]] = {}
    for s in spans.get_finished_spans():
        by_name.setdefault(s.name, []).append(s)
    producers = by_name["publish"]
    (batch,) = by_name["publish batch"]
    assert len(producers) == 3
    assert len(carried) == 3
    parents = [span_context(a), None, span_context(b)]
    for producer, parent, tp in zip(producers, parents, carried, strict=True):
        assert producer.kind is SpanKind.PRODUCER
        assert producer.context is not None
        # Each message carries its own producer span, a child of its request's span ...
        assert tp == traceparent_of(producer.context)
        if parent is None:
            assert producer.parent is None  # ... or a trace of its own, not a neighbour's
        else:
            assert producer.parent is not None
            assert (producer.parent.trace_id, producer.parent.span_id) == (
                parent.trace_id,
                parent.span_id,
            )
    # The batch (and so the sidecar call made inside it) is a trace of its own that
    # links to every message, instead of joining one user action's trace.
    assert batch.parent is None
    assert batch.context is not None
    assert batch_tp == traceparent_of(batch.context)
    assert {link.context.span_id for link in batch.links} == {
        p.context.span_id for p in producers if p.context is not None
    }


def test_linked_span_points_back_to_a_stored_trace(spans: InMemorySpanExporter) -> None:
    with trace.get_tracer("t").start_as_current_span("schedule"):
        stored = current_traceparent()
    with linked_span("callback", stored):
        pass
    with linked_span("callback without", ""):
        pass
    linked, unlinked = spans.get_finished_spans()[-2:]
    target = span_context(stored)
    assert target is not None
    assert [link.context.span_id for link in linked.links] == [target.span_id]
    assert list(unlinked.links) == []
