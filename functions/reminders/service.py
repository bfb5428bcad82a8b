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
from shared.dapr import EtagMismatch, Publisher, StateItem, StateOp, StateStore
from shared.events import ListSnapshot, ReminderDue
from shared.paging import sortable_time
from shared.topics import Topic

__all__ = ["NOTIFICATION", "RecordLags", "ReminderFirer", "ReminderJob", "fired_key", "job_name"]

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


class RecordLags(Exception):
    """The job is newer than the task's record: scheduled, not recorded yet (the scheduler
    acts, then records). The callback fails and the Dapr scheduler retries it."""


def _current(state: SchedState | None, job: ReminderJob, version: int | None) -> ReminderJob | None:
    """What to deliver for this job: the reminder as the task's record has it now (a
    renamed task keeps its job, and the record has the new title), or None when the
    task was completed/deleted or the reminder moved since this job was scheduled (a
    callback already in flight when the job was cancelled or replaced)."""
    if state is None:
        return job  # not recorded: scheduled by hand, or a new task's record is coming
    if state.deleted:
        return None
    current = state.jobs[job.reminder_index] if job.reminder_index < len(state.jobs) else None
    if current is not None and (current.fire_at, current.occurrence) == (
        job.fire_at,
        job.occurrence,
    ):
        return job if version is not None and version > state.version else current
    if version is not None and version > state.version:
        raise RecordLags(f"job of task v{version}, task recorded at v{state.version}")
    return None


class ReminderFirer:
    def __init__(self, store: StateStore, publisher: Publisher, lists: ListLookup) -> None:
        self._store = store
        self._publisher = publisher
        self._lists = lists

    async def _delivery_key(
        self, name: str, job: ReminderJob, first: StateItem | None
    ) -> str | None:
        """Where this delivery is recorded, or None when it already happened; `first`:
        the row of the occurrence's first delivery, if any."""
        if first is None:
            return fired_key(name, job.occurrence)
        if _same_time(first.value, job):
            return None
        again = refired_key(name, job.occurrence, job.fire_at)
        return None if await self._store.get(again) is not None else again

    async def fire(
        self, name: str, job: ReminderJob, now: datetime, version: int | None = None
    ) -> bool:
        """Publish `reminder.due` unless this reminder already fired at this time.
        `version`: the task version the job was scheduled for, when the job says."""
        # The occurrence's delivery marker and the task's record, in one call.
        marker, record = fired_key(name, job.occurrence), sched_key(job.task_id)
        found = {item.key: item for item in await self._store.get_bulk([marker, record])}
        key = await self._delivery_key(name, job, found.get(marker))
        if key is None:
            log.info("reminder %s occurrence %s already delivered", name, job.occurrence)
            return False
        state_item = found.get(record)
        state = (
            SchedState.model_validate(state_item.value)
            if state_item is not None and isinstance(state_item.value, dict)
            else None
        )
        current = _current(state, job, version)
        if current is None:
            log.info("reminder %s was cancelled or replaced; not delivered", name)
            return False
        job = current
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
        rows: list[StateOp] = []
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
            rows.append(
                StateOp.insert(
                    f"{key}|to|{member}",
                    common
                    | {"kind": NOTIFICATION, "event_id": str(event.event_id), "user_id": member},
                )
            )
        if not audience:
            log.info("reminder %s reaches nobody: not a member of the list any more", name)
        # With the delivery marker: until it is written, a redelivered callback redoes all.
        rows.append(StateOp.insert(key, common | {"kind": FIRED, "recipients": audience}))
        await self._remember(rows)
        LATENESS.observe(max(lateness, 0.0))
        return True

    async def _remember(self, rows: list[StateOp]) -> None:
        """Insert the notification rows and the delivery marker: in one transaction, as
        they are new; one by one where a crashed delivery left some behind."""
        try:
            await self._store.transact(rows)
        except EtagMismatch:
            for row in rows:
                await self._store.insert(row.key, row.value)
