from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.audit.service import AuditLog
from functions.audit.settings import Settings
from shared.delivery import as_sent
from shared.events import Event
from shared.web.identity import require_caller
from shared.web.paging import page_body
from shared.web.pubsub import (
    DeadLetters,
    Delivery,
    bulk_event_endpoint,
    raw_endpoint,
)

NAME = "audit"


def routes(audit: AuditLog, dead_letters: DeadLetters, settings: Settings) -> list[Route]:
    async def on_batch(received: list[tuple[Event, Delivery]]) -> None:
        recorded = await audit.record_many(received, datetime.now(UTC))
        # Valid, but the store cannot hold them: redelivery cannot change that.
        for event, delivery in recorded.refused:
            await dead_letters.keep(as_sent(event, delivery), delivery)

    async def on_dead_letter(data: dict[str, Any], delivery: Delivery) -> None:
        await audit.record_dead_letter(data, delivery, datetime.now(UTC))

    async def list_entries(request: Request) -> Response:
        require_caller(request, settings.internal_callers, settings.app_api_token)
        task_id = request.query_params.get("task_id") or None
        named = request.query_params.get("list_ids")
        lists = None if named is None else [x for x in named.split(",") if x]
        return JSONResponse(
            await page_body(
                request.query_params,
                lambda p: audit.entries(lists, task_id, p.limit, p.cursor, p.user_id),
            )
        )

    # task-events and reminders come in bulk: a batch is one state transaction; what
    # does not validate, or what the store refuses, goes to the topic's dead-letter
    # topic, which audit keeps through /events/dead-letters.
    events = bulk_event_endpoint(NAME, on_batch, dead_letters.keep)
    return [
        # Routes named by dapr/subscriptions/audit.yaml.
        Route("/events/task-events", events, methods=["POST"]),
        Route("/events/reminders", events, methods=["POST"]),
        Route("/events/dead-letters", raw_endpoint(NAME, on_dead_letter), methods=["POST"]),
        Route("/internal/v1/audit", list_entries, methods=["GET"]),
    ]
