"""Firing reminders: the job payload, and publishing `reminder.due` once per reminder occurrence."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from prometheus_client import Histogram
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.dapr import Publisher, StateStore
from shared.events import ReminderDue
from shared.topics import Topic

log = logging.getLogger(__name__)

LATENESS = Histogram(
    "taskwave_reminder_lateness_seconds",
    "How long after its due time a reminder job reached the reminders function.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0),
)

# Event ids of reminder.due derive from the job, so a redelivered callback
# publishes the same event and every consumer can drop the copy.
_REMINDER_NS = uuid.UUID("8a1c5a52-5b7e-4f0e-9d4f-0c8f7d3b6a11")


class ReminderJob(BaseModel):
    """The data a reminder job carries; Dapr hands it back verbatim on the callback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1)
    list_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    reminder_index: int = Field(ge=0)
    occurrence: int = Field(ge=1)
    fire_at: AwareDatetime
    title: str
    due_at: AwareDatetime | None = None


def job_name(task_id: str, reminder_index: int) -> str:
    """Deterministic: rescheduling replaces the job, cancelling needs nothing but the task."""
    return f"reminder--{task_id}--{reminder_index}"


def fired_key(name: str, occurrence: int) -> str:
    return f"fired|{name}|{occurrence}"


class ReminderFirer:
    def __init__(self, store: StateStore, publisher: Publisher) -> None:
        self._store = store
        self._publisher = publisher

    async def fire(self, name: str, job: ReminderJob, now: datetime) -> bool:
        """Publish `reminder.due` unless this reminder occurrence already fired."""
        key = fired_key(name, job.occurrence)
        if await self._store.get(key) is not None:
            log.info("reminder %s occurrence %s already delivered", name, job.occurrence)
            return False
        lateness = (now - job.fire_at).total_seconds()
        event = ReminderDue(
            event_id=uuid.uuid5(_REMINDER_NS, key),
            user_id=job.user_id,
            list_id=job.list_id,
            task_id=job.task_id,
            reminder_index=job.reminder_index,
            occurrence=job.occurrence,
            fire_at=job.fire_at,
            job_name=name,
            title=job.title,
            due_at=job.due_at,
            occurred_at=now,
        )
        # Publish first, then remember: a crash in between re-publishes the
        # same event id, which consumers deduplicate; the reverse could lose it.
        await self._publisher.publish(Topic.REMINDERS, event, partition_key=job.user_id)
        await self._store.create(
            key,
            {
                "job_name": name,
                "event_id": str(event.event_id),
                "user_id": job.user_id,
                "task_id": job.task_id,
                "fire_at": job.fire_at.astimezone(UTC).isoformat(),
                "fired_at": now.astimezone(UTC).isoformat(),
                "lateness_s": lateness,
            },
        )
        LATENESS.observe(max(lateness, 0.0))
        return True
