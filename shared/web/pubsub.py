"""Receiving events from Dapr pub/sub: one CloudEvent in, SUCCESS / RETRY / DROP out.

Dapr delivers the CloudEvent it built at publish time; our event is its `data`.
Handlers return nothing when done and raise when not; `settle` is the one place that
turns that into Dapr's answer (shared/delivery.py has the errors). Anything that does not
validate is a poison message: DROP sends it to the subscription's dead-letter topic
instead of blocking the partition. So is an event the service calls Unprocessable, or
cannot compute (ValueError, OverflowError: a date past year 9999), or whose data the
store refuses (Refused: U+0000 in text): retrying cannot fix it. Retryable, and any
other failure, gets RETRY, so Dapr's resiliency policy redelivers it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.dapr import DaprError, Publisher, Refused
from shared.delivery import DLQ_SUFFIX, Delivery, Retryable, Unprocessable
from shared.events import Event, parse_event
from shared.web.metrics import EVENT_LATENCY, EVENTS

__all__ = [
    "DLQ_SUFFIX",
    "DeadLetters",
    "Delivery",
    "Outcome",
    "Retryable",
    "Unprocessable",
    "bulk_event_endpoint",
    "event_endpoint",
    "raw_endpoint",
    "settle",
]

log = logging.getLogger(__name__)
tracer = trace.get_tracer("taskwave.pubsub")


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    RETRY = "RETRY"
    DROP = "DROP"


EventHandler = Callable[[Event, Delivery], Awaitable[None]]
RawHandler = Callable[[dict[str, Any], Delivery], Awaitable[None]]
# A batch of valid events in, all handled or none (the batch is redelivered whole).
BatchHandler = Callable[[list[tuple[Event, Delivery]]], Awaitable[None]]


async def settle(work: Awaitable[None], what: str) -> Outcome:
    """What becomes of the delivery `work` handles (`what` names it in the log): done is
    SUCCESS; Unprocessable, ValueError, OverflowError and Refused DROP; Retryable and any
    other failure (a sidecar or store away included) RETRY."""
    try:
        await work
    except (Unprocessable, ValueError, OverflowError, Refused) as exc:  # ValidationError too
        log.error("cannot handle %s, dropped to dead letters: %r", what, exc)
        return Outcome.DROP
    except Retryable as exc:
        log.warning("%s not handled now, asking for redelivery: %s", what, exc)
        return Outcome.RETRY
    except Exception:
        log.exception("handler failed on %s; asking for redelivery", what)
        return Outcome.RETRY
    return Outcome.SUCCESS


def _named(delivery: Delivery) -> str:
    return f"{delivery.topic} (id {delivery.cloudevent_id})"


class DeadLetters:
    """Dead-lettering done by the app, for subscriptions that cannot have Dapr do it:
    one with routing rules (Dapr sends every event no rule matches to its dead-letter
    topic) or a bulk one (Dapr dead-letters every entry not SUCCESS, even a RETRY).
    The message goes to `<topic>-dlq` under its own CloudEvent id, as Dapr would send it."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def keep(self, data: dict[str, Any], delivery: Delivery) -> None:
        topic = delivery.failed_on + DLQ_SUFFIX
        try:
            await self._publisher.publish(topic, data, cloudevent_id=delivery.cloudevent_id)
        except DaprError as exc:
            raise Retryable(f"could not dead-letter it: {exc}") from exc
        log.warning("%s sent to %s", _named(delivery), topic)


def _reply(outcome: Outcome) -> JSONResponse:
    return JSONResponse({"status": outcome.value})


async def _envelope(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _int_header(request: Request, name: str) -> int | None:
    return _int(request.headers.get(name))


def _int(value: object) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.lstrip("-").isdigit() else None


def _delivery(envelope: dict[str, Any], request: Request) -> Delivery:
    return Delivery(
        cloudevent_id=str(envelope.get("id", "")),
        topic=str(envelope.get("topic", "")),
        pubsub=str(envelope.get("pubsubname", "")),
        envelope=envelope,
        partition=_int_header(request, "__partition"),
        offset=_int_header(request, "__offset"),
    )


def _producer_context(envelope: dict[str, Any]) -> Context:
    """The trace the producer started (Dapr puts it on the envelope), or a new one."""
    parent = envelope.get("traceparent")
    return propagate.extract({"traceparent": str(parent)} if parent else {})


def _producer_links(envelopes: list[dict[str, Any]]) -> list[Link]:
    links = []
    for envelope in envelopes:
        ctx = trace.get_current_span(_producer_context(envelope)).get_span_context()
        if ctx.is_valid:
            links.append(Link(ctx))
    return links


def _data(envelope: dict[str, Any]) -> Any:
    data = envelope.get("data")
    if isinstance(data, str) and envelope.get("datacontenttype", "").endswith("json"):
        data = json.loads(data)
    return data


def event_endpoint(
    function: str, handler: EventHandler, dead_letters: DeadLetters | None = None
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette endpoint that validates the event and calls `handler` with it."""

    async def raw(data: dict[str, Any], delivery: Delivery) -> None:
        try:
            event = parse_event(data)
        except ValidationError as exc:
            problems = exc.errors(include_url=False, include_input=False)
            raise Unprocessable(f"poison message: {problems}") from exc
        await handler(event, delivery)

    return raw_endpoint(function, raw, dead_letters)


def raw_endpoint(
    function: str, handler: RawHandler, dead_letters: DeadLetters | None = None
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """Endpoint for payloads that are not our events (dead letters): `data` as decoded JSON.
    With `dead_letters`, what the handler DROPs is sent to the dead-letter topic here."""

    async def endpoint(request: Request) -> JSONResponse:
        envelope = await _envelope(request)
        if envelope is None:
            EVENTS.labels(function, "", "", "drop").inc()
            return _reply(Outcome.DROP)
        delivery = _delivery(envelope, request)
        try:
            data = _data(envelope)
        except ValueError:
            data = None
        event_type = str(data.get("type", "")) if isinstance(data, dict) else ""
        if not isinstance(data, dict):
            log.warning("non-JSON message on %s dropped", delivery.topic)
            EVENTS.labels(function, delivery.topic, "", "drop").inc()
            return _reply(Outcome.DROP)
        # Continue the trace the producer started (Dapr puts it on the envelope),
        # and link to it, so the consumer span joins the producer's trace.
        producer = _producer_context(envelope)
        links = _producer_links([envelope])
        start = time.perf_counter()
        with tracer.start_as_current_span(
            f"consume {delivery.topic}",
            context=producer,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": delivery.topic,
                "messaging.message.id": delivery.cloudevent_id,
                "taskwave.event.type": event_type,
            },
        ):
            outcome = await settle(handler(data, delivery), _named(delivery))
            # One line per handling, in its span: grep a trace id, find what each
            # consumer did with the event.
            log.info(
                "%s %s (id %s): %s",
                delivery.topic,
                event_type or "?",
                delivery.cloudevent_id,
                outcome.value,
            )
        EVENT_LATENCY.labels(function, delivery.topic).observe(time.perf_counter() - start)
        EVENTS.labels(function, delivery.topic, event_type, outcome.value.lower()).inc()
        if outcome is Outcome.DROP and dead_letters is not None:
            outcome = await settle(dead_letters.keep(data, delivery), _named(delivery))
        return _reply(outcome)

    return endpoint


def _raw_envelope(payload: str) -> dict[str, Any]:
    """An entry of a subscription with `rawPayload: "true"`: the Kafka message as stored,
    base64. Ours are the CloudEvents our publishers' sidecars wrote, decoded here rather
    than by daprd (which would parse each one, trace it, and encode it again). Anything
    else comes out as `data` alone, to be dead-lettered as poison."""
    try:
        text = base64.b64decode(payload, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return {"data": payload}
    try:
        envelope = json.loads(text)
    except ValueError:
        return {"data": text}
    return envelope if isinstance(envelope, dict) else {"data": envelope}


def bulk_event_endpoint(
    function: str, handler: BatchHandler, poison: RawHandler, *, batch_span: bool = True
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette endpoint for a Dapr bulk subscription (`bulkSubscribe` in the
    subscription): many CloudEvents in one request, one status per entry out.

    Valid events go to `handler` together, so it can store them in one round trip;
    `poison` gets what does not validate and decides what becomes of it (the
    subscription has no dead-letter topic: a bulk delivery sends every entry that is
    not SUCCESS there at once, even those the app only asked to retry). A handler
    failure answers RETRY for the batch: Kafka redelivers it whole, so handlers must
    be idempotent (they are: every consumer keys by event id or task version).

    Per event, whatever the batch size: a CONSUMER span in its producer's trace with
    its log line in it, and its count in the metrics. The producer's context is read
    once per event (for the batch span's links and the event's span). The batch's work
    runs in a span of its own, linked to every event's producer; without `batch_span`,
    the delivery's (server) span stands for the batch: for a handler with no I/O of its
    own (realtime) a second span per request only costs."""

    async def endpoint(request: Request) -> JSONResponse:
        body = await _envelope(request)
        entries = body.get("entries") if body is not None else None
        if body is None or not isinstance(entries, list):
            return JSONResponse({"statuses": []})  # no entry is acknowledged: redelivered
        statuses: dict[str, Outcome] = {}
        valid: list[_Received] = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            entry_id = str(entry.get("entryId", ""))
            envelope = entry.get("event")
            if isinstance(envelope, str):  # rawPayload
                envelope = _raw_envelope(envelope)
            metadata = entry.get("metadata") or {}
            if not isinstance(envelope, dict) or not isinstance(metadata, dict):
                statuses[entry_id] = Outcome.DROP
                continue
            delivery = Delivery(
                cloudevent_id=str(envelope.get("id", "")),
                topic=str(envelope.get("topic") or body.get("topic", "")),
                pubsub=str(envelope.get("pubsubname", "")),
                envelope=envelope,
                partition=_int(metadata.get("__partition")),
                offset=_int(metadata.get("__offset")),
            )
            try:
                data = _data(envelope)
                event = parse_event(data)
            except ValueError as exc:  # not JSON, or not one of our events
                log.warning(
                    "poison message on %s (id %s): %s", delivery.topic, delivery.cloudevent_id, exc
                )
                EVENTS.labels(function, delivery.topic, "", "drop").inc()
                raw = data if isinstance(data := envelope.get("data"), dict) else {"data": data}
                statuses[entry_id] = await settle(poison(raw, delivery), _named(delivery))
                continue
            producer = _producer_context(envelope)
            origin = trace.get_current_span(producer).get_span_context()
            valid.append(_Received(entry_id, event, delivery, producer, origin))
        start = time.perf_counter()
        started_ns = time.time_ns()
        topic = valid[0].delivery.topic if valid else ""
        spanned: AbstractContextManager[trace.Span] = (
            tracer.start_as_current_span(
                f"consume {topic} (batch)",
                kind=SpanKind.CONSUMER,
                links=[Link(r.producer_span) for r in valid if r.producer_span.is_valid],
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": topic,
                    "messaging.batch.message_count": len(valid),
                },
            )
            if batch_span
            else nullcontext(trace.get_current_span())
        )
        with spanned as batch_spanned:
            outcome = Outcome.SUCCESS
            if valid:
                batch = [(r.event, r.delivery) for r in valid]
                outcome = await settle(handler(batch), f"batch of {len(valid)} on {topic}")
            # Never DROP a batch whole: its other events would go to dead letters with it.
            if outcome is Outcome.DROP:
                log.warning("the batch on %s is redelivered whole instead", topic)
                outcome = Outcome.RETRY
        batch_ctx = batch_spanned.get_span_context()
        batch_link = [Link(batch_ctx)] if batch_ctx.is_valid else []
        counted: dict[str, int] = {}
        said = outcome.value
        for r in valid:
            statuses[r.entry_id] = outcome
            counted[r.event.type] = counted.get(r.event.type, 0) + 1
            # Each event's handling in its producer's trace (one user action, end to
            # end), linked to the batch that did the work; its log line in that span.
            span = tracer.start_span(
                f"consume {topic}",
                context=r.producer,
                kind=SpanKind.CONSUMER,
                links=batch_link,
                start_time=started_ns,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": topic,
                    "messaging.message.id": r.delivery.cloudevent_id,
                    "taskwave.event.type": r.event.type,
                },
            )
            token = context.attach(trace.set_span_in_context(span))
            try:
                log.info("%s %s (id %s): %s", topic, r.event.type, r.delivery.cloudevent_id, said)
            finally:
                context.detach(token)
                span.end()
        for event_type, n in counted.items():
            EVENTS.labels(function, topic, event_type, outcome.value.lower()).inc(n)
        if valid:
            EVENT_LATENCY.labels(function, topic).observe(time.perf_counter() - start)
        return JSONResponse(
            {"statuses": [{"entryId": k, "status": v.value} for k, v in statuses.items()]}
        )

    return endpoint


@dataclass(frozen=True, slots=True)
class _Received:
    """A valid entry of a bulk delivery, with its producer's trace read once."""

    entry_id: str
    event: Event
    delivery: Delivery
    producer: Context
    producer_span: trace.SpanContext
