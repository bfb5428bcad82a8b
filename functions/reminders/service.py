"""Firing reminders: publishing `reminder.due` once per reminder occurrence and fire time."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Histogram

from functions.reminders.jobs import (
    ReminderJob,
    fired_key,
    job_name,
    refired_key,
    sched_key,
)
from functions.reminders.plan import SchedState
from shared.dapr import Publisher, StateStore
from shared.events import ReminderDue
from shared.paging import sortable_time
from shared.topics import Topic

__all__ = ["NOTIFICATION", "ReminderFirer", "ReminderJob", "fired_key", "job_name"]

log = logging.getLogger(__name__)

LATENESS = Histogram(
    "taskwave_reminder_lateness_seconds",
    "How long after its due time a reminder job reached the reminders function.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0),
)

# Event ids of reminder.due derive from the delivery's key, so a redelivered callback
# publishes the same event and every consumer can drop the copy.
_REMINDER_NS = uuid.UUID("8a1c5a52-5b7e-4f0e-9d4f-0c8f7d3b6a11")

# `kind` of the delivered-reminder rows: the Query API sees every app's kv rows.
NOTIFICATION = "reminders.notification"


def _same_time(row: Any, job: ReminderJob) -> bool:
    try:
        return datetime.fromisoformat(str(row["fire_at"])) == job.fire_at
    except (KeyError, TypeError, ValueError):
        return True  # a row we cannot read: keep the old promise of "once per occurrence"


def _superseded(state: SchedState | None, job: ReminderJob) -> bool:
    """The task was completed/deleted or the reminder moved since this job was scheduled:
    a callback already in flight when the job was cancelled or replaced."""
    if state is None:
        return False  # not scheduled from a task event (e.g. by hand): trust the job
    if state.deleted or job.reminder_index >= len(state.jobs):
        return True
    current = state.jobs[job.reminder_index]
    return current is None or (current.fire_at, current.occurrence) != (
        job.fire_at,
        job.occurrence,
    )


class ReminderFirer:
    def __init__(self, store: StateStore, publisher: Publisher) -> None:
        self._store = store
        self._publisher = publisher

    async def _delivery_key(self, name: str, job: ReminderJob) -> str | None:
        """Where this delivery is recorded, or None when it already happened."""
        first = fired_key(name, job.occurrence)
        item = await self._store.get(first)
        if item is None:
            return first
        if _same_time(item.value, job):
            return None
        again = refired_key(name, job.occurrence, job.fire_at)
        return None if await self._store.get(again) is not None else again

    async def fire(self, name: str, job: ReminderJob, now: datetime) -> bool:
        """Publish `reminder.due` unless this reminder already fired at this time."""
        key = await self._delivery_key(name, job)
        if key is None:
            log.info("reminder %s occurrence %s already delivered", name, job.occurrence)
            return False
        state_item = await self._store.get(sched_key(job.task_id))
        state = (
            SchedState.model_validate(state_item.value)
            if state_item is not None and isinstance(state_item.value, dict)
            else None
        )
        if _superseded(state, job):
            log.info("reminder %s was cancelled or replaced; not delivered", name)
            return False
        lateness = (now - job.fire_at).total_seconds()
        event = ReminderDue(
            event_id=uuid.uuid5(_REMINDER_NS, key),
            title=job.title,
            due_at=job.due_at,
            occurred_at=now,
            **job.event_fields(name),
        )
        # Publish first, then remember: a crash in between re-publishes the
        # same event id, which consumers deduplicate; the reverse could lose it.
        await self._publisher.publish(Topic.REMINDERS, event, partition_key=job.user_id)
        # ...and into the user's client feed, where realtime numbers it with the rest
        # of the user's changes (one partition, one order).
        await self._publisher.publish(Topic.TASK_UPDATES, event, partition_key=job.user_id)
        await self._store.create(
            key,
            {
                "kind": NOTIFICATION,
                "job_name": name,
                "event_id": str(event.event_id),
                "user_id": job.user_id,
                "list_id": job.list_id,
                "task_id": job.task_id,
                "reminder_index": job.reminder_index,
                "occurrence": job.occurrence,
                "title": job.title,
                "due_at": job.due_at.astimezone(UTC).isoformat() if job.due_at else None,
                "fire_at": sortable_time(job.fire_at),
                "fired_at": sortable_time(now),
                "lateness_s": lateness,
            },
        )
        LATENESS.observe(max(lateness, 0.0))
        return True
