"""Firing reminders: publishing `reminder.due` once per reminder occurrence and fire time."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
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
from shared.events import ListSnapshot, ReminderDue
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
FIRED = "reminders.fired"

# The list as it is now (None once deleted); raises when that cannot be known.
ListLookup = Callable[[str], Awaitable[ListSnapshot | None]]


def recipients(job: ReminderJob, tasklist: ListSnapshot | None) -> list[str]:
    """Who a due reminder reaches now: membership at firing time decides, so a member
    removed after the reminder was scheduled is not reminded."""
    if tasklist is None:
        return []
    if tasklist.remind == "members":
        return tasklist.member_ids
    return [job.user_id] if tasklist.role_of(job.user_id) else []


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
    def __init__(self, store: StateStore, publisher: Publisher, lists: ListLookup) -> None:
        self._store = store
        self._publisher = publisher
        self._lists = lists

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
        audience = recipients(job, await self._lists(job.list_id))
        common = {
            "job_name": name,
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
        }
        for member in audience:
            # The creator's copy keeps the id it always had; others derive theirs.
            seed = key if member == job.user_id else f"{key}|{member}"
            event = ReminderDue(
                event_id=uuid.uuid5(_REMINDER_NS, seed),
                title=job.title,
                due_at=job.due_at,
                occurred_at=now,
                **(job.event_fields(name) | {"user_id": member}),
            )
            # Publish first, then remember: a crash in between re-publishes the
            # same event id, which consumers deduplicate; the reverse could lose it.
            await self._publisher.publish(Topic.REMINDERS, event, partition_key=member)
            # ...and into the member's client feed, where realtime numbers it with the
            # rest of their changes (one partition, one order).
            await self._publisher.publish(
                Topic.TASK_UPDATES, event.for_member(member), partition_key=member
            )
            await self._store.create(
                f"{key}|to|{member}",
                common | {"kind": NOTIFICATION, "event_id": str(event.event_id), "user_id": member},
            )
        if not audience:
            log.info("reminder %s reaches nobody: not a member of the list any more", name)
        await self._store.create(key, common | {"kind": FIRED, "recipients": audience})
        LATENESS.observe(max(lateness, 0.0))
        return True
