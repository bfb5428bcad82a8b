"""What audit does with a delivery, independent of HTTP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from shared.dapr import StateStore
from shared.events import Event
from shared.web.pubsub import Delivery

log = logging.getLogger(__name__)


def event_key(event_id: str) -> str:
    return f"event|{event_id}"


def dead_letter_key(cloudevent_id: str) -> str:
    return f"deadletter|{cloudevent_id}"


class AuditLog:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def record(self, event: Event, delivery: Delivery, now: datetime) -> bool:
        """Store the event once; a redelivery (same event id) is acknowledged and ignored."""
        entry = {
            "event": event.model_dump(mode="json"),
            "topic": delivery.topic,
            "cloudevent_id": delivery.cloudevent_id,
            "recorded_at": now.astimezone(UTC).isoformat(),
        }
        created = await self._store.create(event_key(str(event.event_id)), entry)
        if not created:
            log.info("event %s already recorded; redelivery ignored", event.event_id)
        return created

    async def record_dead_letter(
        self, data: dict[str, Any], delivery: Delivery, now: datetime
    ) -> bool:
        """Keep what landed in a dead-letter topic so an operator can inspect and replay it."""
        # Dapr forwards the original envelope: its `topic` is where it failed.
        entry = {
            "data": data,
            "topic": delivery.topic,
            "cloudevent_id": delivery.cloudevent_id,
            "envelope_type": delivery.envelope.get("type"),
            "recorded_at": now.astimezone(UTC).isoformat(),
        }
        return await self._store.create(dead_letter_key(delivery.cloudevent_id), entry)
