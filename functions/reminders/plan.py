"""From a task event to the reminder jobs that must exist: pure decisions, time passed in.

Events of one task may arrive out of order and more than once (a shared list's events
are keyed by whoever made the change, so one task's events can take several
partitions), so every decision starts from the last applied state of the task: an
event not newer than it changes nothing, and a deletion wins over everything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from functions.reminders.jobs import TRACEPARENT, VERSION, ReminderJob, job_name
from shared.dapr import JobSpec
from shared.events import (
    ReminderCancelled,
    ReminderScheduled,
    TaskCompleted,
    TaskDeleted,
    TaskEvent,
)

# reminder.scheduled / reminder.cancelled ids derive from job name + task version, so a
# redelivered task event republishes the same ids and consumers drop the copies.
_SCHEDULE_NS = uuid.UUID("5d0e4a8e-1f3b-4c52-9a7e-2b8c6f1d0e93")


class SchedState(BaseModel):
    """What was last applied for a task (`sched|<task_id>` in kv)."""

    model_config = ConfigDict(frozen=True)

    version: int = 0
    # Reminder indexes the task had; jobs may exist for any index below it.
    count: int = 0
    deleted: bool = False
    # Written (True) only by earlier releases, which recorded a version before acting
    # on it: such a record is not known to be applied, so the next event re-applies
    # everything instead of a difference. This one records a version after acting.
    pending: bool = False
    # Per reminder index, the job that should exist (None: none, e.g. no due date). The
    # scheduler's copy may be older where only its text differs (same_schedule): a
    # callback delivers the text recorded here.
    jobs: list[ReminderJob | None] = Field(default_factory=list)


@dataclass(frozen=True)
class JobPolicy:
    """The scheduler's retries when the callback fails (app restarting, Kafka down)."""

    max_retries: int
    retry_interval_s: float


@dataclass(frozen=True)
class Plan:
    state: SchedState
    schedule: list[ReminderJob] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # job names
    events: list[ReminderScheduled | ReminderCancelled] = field(default_factory=list)

    @property
    def acts(self) -> bool:
        """Whether it calls the scheduler or announces anything (most changes do not)."""
        return bool(self.schedule or self.cancel or self.events)


def recipient(event: TaskEvent) -> str:
    return event.task.created_by or event.user_id


def desired_jobs(event: TaskEvent) -> list[ReminderJob | None]:
    """One entry per reminder of the task; none at all once it is completed or deleted."""
    task = event.task
    if isinstance(event, TaskCompleted | TaskDeleted) or task.status != "open":
        return []
    jobs: list[ReminderJob | None] = []
    for index, spec in enumerate(task.reminders):
        try:
            fire_at = spec.fires_at(task.due_at)
        except ValueError:  # "before" without a due date: nothing to fire
            jobs.append(None)
            continue
        jobs.append(
            ReminderJob(
                user_id=recipient(event),
                list_id=task.list_id,
                task_id=task.id,
                reminder_index=index,
                occurrence=task.occurrence,
                fire_at=fire_at,
                title=task.title,
                due_at=task.due_at,
            )
        )
    return jobs


def same_schedule(before: ReminderJob, job: ReminderJob) -> bool:
    """Whether the scheduled job `before` still serves for `job`: same time, occurrence
    and people. Only the text differs (a renamed task, a moved due date under an `at`
    reminder), and a callback takes the text from the recorded state, not from the job."""
    return (before.fire_at, before.occurrence, before.user_id, before.list_id) == (
        job.fire_at,
        job.occurrence,
        job.user_id,
        job.list_id,
    )


def job_spec(
    job: ReminderJob,
    now: datetime,
    policy: JobPolicy,
    traceparent: str = "",
    version: int | None = None,
) -> JobSpec:
    """`traceparent`: the trace that schedules the job; its callback links back to it.
    `version`: the task version the job was planned for; a callback that finds an older
    one recorded knows the record lags behind the job (scheduler.py acts, then records).
    Both are kept beside the job's fields, so equal jobs stay equal."""
    data = job.model_dump(mode="json")
    if traceparent:
        data[TRACEPARENT] = traceparent
    if version is not None:
        data[VERSION] = version
    # A fire time already past is due now: the reminder still fires, once.
    return JobSpec(
        name=job_name(job.task_id, job.reminder_index),
        due_time=max(job.fire_at, now),
        data=data,
        max_retries=policy.max_retries,
        retry_interval_s=policy.retry_interval_s,
    )


def _event_id(name: str, version: int, kind: str) -> uuid.UUID:
    return uuid.uuid5(_SCHEDULE_NS, f"{name}|{version}|{kind}")


Announcement = ReminderScheduled | ReminderCancelled


E = TypeVar("E", ReminderScheduled, ReminderCancelled)


def _reminder_event(
    kind: type[E], job: ReminderJob, version: int, now: datetime, tag: str = ""
) -> E:
    fields = job.event_fields()
    suffix = kind.model_fields["type"].default.split(".")[1]  # scheduled / cancelled
    event_id = _event_id(fields["job_name"], version, suffix + tag)
    return kind(event_id=event_id, occurred_at=now, **fields)


def _scheduled(job: ReminderJob, version: int, now: datetime, tag: str) -> ReminderScheduled:
    return _reminder_event(ReminderScheduled, job, version, now, tag)


def _cancelled(job: ReminderJob, version: int, now: datetime, tag: str) -> ReminderCancelled:
    return _reminder_event(ReminderCancelled, job, version, now, tag)


def plan_event(
    prev: SchedState | None, event: TaskEvent, now: datetime, *, full: bool = False, tag: str = ""
) -> Plan | None:
    """What `event` changes, or None when it is stale or a duplicate. `full`: re-apply
    every job, not the difference from `prev` (the scheduler may not match `prev`).
    `tag` sets the announcements' ids apart from those of an earlier attempt, which
    consumers would drop as copies although another word may have come in between."""
    task = event.task
    if prev is not None and prev.deleted:
        return None  # a deleted task stays deleted, whatever arrives after
    deleting = isinstance(event, TaskDeleted)
    # The same version again is a duplicate, unless its first delivery never finished.
    if (
        prev is not None
        and not deleting
        and (task.version < prev.version or (task.version == prev.version and not prev.pending))
    ):
        return None
    # Without a trustworthy record of what exists, apply everything, not a difference.
    full = full or prev is None or prev.pending
    old = prev.jobs if prev is not None else []
    new = desired_jobs(event)
    version = max(task.version, prev.version if prev is not None else 0)

    schedule: list[ReminderJob] = []
    for index, job in enumerate(new):
        if job is None:
            continue
        before = old[index] if index < len(old) else None
        if not full and before is not None and same_schedule(before, job):
            continue  # the job as scheduled still serves: no call, nothing to announce
        if not full and before is not None and before.fire_at == job.fire_at <= now:
            continue  # same time, already due: it fired or is firing; only text changed
        schedule.append(job)

    cancel: list[str] = []
    events: list[ReminderScheduled | ReminderCancelled] = [
        _scheduled(j, version, now, tag) for j in schedule
    ]
    span = max(prev.count if prev is not None else 0, len(task.reminders), len(old))
    for index in range(span):
        if index < len(new) and new[index] is not None:
            continue
        before = old[index] if index < len(old) else None
        if full or before is not None:
            cancel.append(job_name(task.id, index))
        if before is not None and before.fire_at > now:  # one already due is not "cancelled"
            events.append(_cancelled(before, version, now, tag))

    state = SchedState(
        version=version,
        count=0 if deleting else len(task.reminders),
        deleted=deleting,
        jobs=new,
    )
    return Plan(state=state, schedule=schedule, cancel=cancel, events=events)


def corrections(
    said: dict[int, Announcement], current: SchedState, version: int, now: datetime
) -> list[Announcement]:
    """The record's word on each reminder a handling of task `version` announced before
    it found `current` (newer) recorded, where the two differ: its announcements may
    have come after the newer version's own, and the last word must be the record's.
    Their ids derive from both versions, so a redelivery repeats them."""
    words: list[Announcement] = []
    tag = f"|after v{version}"
    for index, word in sorted(said.items()):
        job = current.jobs[index] if index < len(current.jobs) else None
        if job is not None:
            if isinstance(word, ReminderScheduled) and (
                word.fire_at,
                word.occurrence,
                word.user_id,
                word.list_id,
            ) == (job.fire_at, job.occurrence, job.user_id, job.list_id):
                continue
            words.append(_reminder_event(ReminderScheduled, job, current.version, now, tag))
        elif isinstance(word, ReminderScheduled):
            fields = word.model_dump(include=set(_ANNOUNCED))
            name = fields["job_name"]
            event_id = _event_id(name, current.version, "cancelled" + tag)
            words.append(ReminderCancelled(event_id=event_id, occurred_at=now, **fields))
    return words


# The fields of a reminder.* announcement that say which reminder and when.
_ANNOUNCED = (
    "user_id",
    "list_id",
    "task_id",
    "reminder_index",
    "occurrence",
    "fire_at",
    "job_name",
)


def converge(current: SchedState, task_id: str, span: int) -> Plan:
    """Make the scheduler match `current` whatever ran before (no events: its own handler
    publishes those)."""
    schedule = [j for j in current.jobs if j is not None]
    cancel = [
        job_name(task_id, i)
        for i in range(max(span, current.count, len(current.jobs)))
        if i >= len(current.jobs) or current.jobs[i] is None
    ]
    return Plan(state=current, schedule=schedule, cancel=cancel)
