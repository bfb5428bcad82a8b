"""Receiving events from Dapr pub/sub: one CloudEvent in, SUCCESS / RETRY / DROP out.

Dapr delivers the CloudEvent it built at publish time; our event is its `data`.
Anything that does not validate is a poison message: DROP sends it to the
subscription's dead-letter topic instead of blocking the partition. So is an event
the handler cannot compute (ValueError, OverflowError: a date past year 9999, a
value the store refuses): retrying cannot fix it. Any other failure gets RETRY,
so Dapr's resiliency policy redelivers it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.events import Event, parse_event
from shared.web.metrics import EVENT_LATENCY, EVENTS

log = logging.getLogger(__name__)
tracer = trace.get_tracer("taskwave.pubsub")


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    RETRY = "RETRY"
    DROP = "DROP"


@dataclass(frozen=True)
class Delivery:
    """What Dapr tells us about one delivery, besides the event itself."""

    cloudevent_id: str
    topic: str
    pubsub: str
    envelope: dict[str, Any]
    # Where Kafka stored it (Dapr passes them as `__partition` / `__offset` headers):
    # the same numbers on every consumer, so they can order and resume streams.
    partition: int | None = None
    offset: int | None = None


EventHandler = Callable[[Event, Delivery], Awaitable[Outcome | None]]
RawHandler = Callable[[dict[str, Any], Delivery], Awaitable[Outcome | None]]


def _reply(outcome: Outcome) -> JSONResponse:
    return JSONResponse({"status": outcome.value})


async def _envelope(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _int_header(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def _delivery(envelope: dict[str, Any], request: Request) -> Delivery:
    return Delivery(
        cloudevent_id=str(envelope.get("id", "")),
        topic=str(envelope.get("topic", "")),
        pubsub=str(envelope.get("pubsubname", "")),
        envelope=envelope,
        partition=_int_header(request, "__partition"),
        offset=_int_header(request, "__offset"),
    )


def _data(envelope: dict[str, Any]) -> Any:
    data = envelope.get("data")
    if isinstance(data, str) and envelope.get("datacontenttype", "").endswith("json"):
        data = json.loads(data)
    return data


def event_endpoint(
    function: str, handler: EventHandler
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette endpoint that validates the event and calls `handler` with it."""

    async def raw(data: dict[str, Any], delivery: Delivery) -> Outcome | None:
        try:
            event = parse_event(data)
        except ValidationError as exc:
            log.warning(
                "poison message on %s (id %s) dropped to dead letters: %s",
                delivery.topic,
                delivery.cloudevent_id,
                exc.errors(include_url=False, include_input=False),
            )
            return Outcome.DROP
        return await handler(event, delivery)

    return raw_endpoint(function, raw)


def raw_endpoint(
    function: str, handler: RawHandler
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """Endpoint for payloads that are not our events (dead letters): `data` as decoded JSON."""

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
        producer = propagate.extract(
            {"traceparent": str(envelope.get("traceparent", ""))}
            if envelope.get("traceparent")
            else {}
        )
        links = []
        producer_ctx = trace.get_current_span(producer).get_span_context()
        if producer_ctx.is_valid:
            links.append(Link(producer_ctx))
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
            try:
                outcome = await handler(data, delivery) or Outcome.SUCCESS
            except (ValueError, OverflowError) as exc:  # ValidationError is a ValueError
                log.error(
                    "cannot handle %s (id %s), dropped to dead letters: %r",
                    delivery.topic,
                    delivery.cloudevent_id,
                    exc,
                )
                outcome = Outcome.DROP
            except Exception:
                log.exception(
                    "handler failed on %s (id %s); asking for redelivery",
                    delivery.topic,
                    delivery.cloudevent_id,
                )
                outcome = Outcome.RETRY
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
        return _reply(outcome)

    return endpoint
