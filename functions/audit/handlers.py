from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.routing import Route

from functions.audit.service import AuditLog
from shared.events import Event
from shared.web.pubsub import Delivery, Outcome, event_endpoint, raw_endpoint

NAME = "audit"


def routes(audit: AuditLog) -> list[Route]:
    async def on_event(event: Event, delivery: Delivery) -> Outcome:
        await audit.record(event, delivery, datetime.now(UTC))
        return Outcome.SUCCESS

    async def on_dead_letter(data: dict[str, Any], delivery: Delivery) -> Outcome:
        await audit.record_dead_letter(data, delivery, datetime.now(UTC))
        return Outcome.SUCCESS

    events = event_endpoint(NAME, on_event)
    return [
        # Routes named by dapr/subscriptions/audit.yaml.
        Route("/events/task-events", events, methods=["POST"]),
        Route("/events/reminders", events, methods=["POST"]),
        Route("/events/dead-letters", raw_endpoint(NAME, on_dead_letter), methods=["POST"]),
    ]
