"""Tracing and JSON logging, set up the same way by every function."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind
from pythonjsonlogger.json import JsonFormatter

_configured = False


_SECRET_QUERY = re.compile(r"((?:access_)?token=)[^&\s\"']+", re.I)


class _Redact(logging.Filter):
    """Bearer tokens travel in WebSocket URLs (?token=...); servers log those URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message.lower():
            record.msg, record.args = _SECRET_QUERY.sub(r"\1<redacted>", message), ()
        return True


class _TraceContext(logging.Filter):
    """Stamps every record with the current trace and span ids, so logs join traces."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = f"{ctx.trace_id:032x}" if ctx.is_valid else ""
        record.span_id = f"{ctx.span_id:016x}" if ctx.is_valid else ""
        return True


def setup_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_Redact())
    handler.addFilter(_TraceContext())
    if json_logs:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(trace_id)s %(span_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates our request metrics and spans; httpx would log
    # every sidecar call at INFO.
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def setup_tracing(service: str, otlp_endpoint: str | None) -> None:
    """Install the tracer provider once per process; export over OTLP when configured."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


_tracer = trace.get_tracer("taskwave")


def current_traceparent() -> str:
    """The W3C traceparent of the active span ("" outside any), to store with work that
    continues later elsewhere: an outbox row, a reminder job."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def span_context(traceparent: str) -> trace.SpanContext | None:
    """The span a stored traceparent names, or None when it names none."""
    if not traceparent:
        return None
    ctx = trace.get_current_span(propagate.extract({"traceparent": traceparent}))
    span_context = ctx.get_span_context()
    return span_context if span_context.is_valid else None


def traceparent_of(ctx: trace.SpanContext) -> str:
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


@contextmanager
def producer_spans(name: str, parents: Sequence[str]) -> Iterator[list[str]]:
    """Publishing a batch of messages made by earlier requests (the outbox relay).

    One PRODUCER span per message, a child of the trace that made it (`parents`: the
    traceparent stored with each message), so each message's consumers join the trace
    of its user action; yields the traceparent each message must carry ("" when the
    span is not recorded). Meanwhile a batch span linked to all of them is active, so
    the sidecar call is traced too, without merging unrelated user actions into one
    trace."""
    children = []
    for parent in parents:
        parent_ctx = span_context(parent)
        # A message with no stored trace starts its own (an empty context, not the
        # previous message's).
        context = trace.set_span_in_context(
            trace.NonRecordingSpan(parent_ctx) if parent_ctx else trace.INVALID_SPAN
        )
        children.append(_tracer.start_span(name, context=context, kind=SpanKind.PRODUCER))
    contexts = [c.get_span_context() for c in children]
    links = [Link(c) for c in contexts if c.is_valid]
    try:
        with _tracer.start_as_current_span(
            f"{name} batch",
            context=trace.set_span_in_context(trace.INVALID_SPAN),
            links=links,
            attributes={"messaging.batch.message_count": len(children)},
        ):
            yield [traceparent_of(c) if c.is_valid else "" for c in contexts]
    except BaseException as exc:
        for child in children:
            child.record_exception(exc)
            child.set_status(trace.Status(trace.StatusCode.ERROR))
        raise
    finally:
        for child in children:
            child.end()


@contextmanager
def linked_span(name: str, traceparent: str) -> Iterator[None]:
    """A span of the current trace with a link to the one a stored traceparent names:
    work that an earlier action set up (a reminder job's callback) points back to it."""
    linked = span_context(traceparent)
    with _tracer.start_as_current_span(name, links=[Link(linked)] if linked else []):
        yield
