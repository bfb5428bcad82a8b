"""What a reminder job is: its deterministic name, the payload it carries, its state keys."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.paging import sortable_time

# Keys of the job data beside the ReminderJob fields: the scheduling trace, and the
# task version the job was planned for.
TRACEPARENT = "traceparent"
VERSION = "task_version"


class ReminderJob(BaseModel):
    """The data a reminder job carries; Dapr hands it back verbatim on the callback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Who is reminded: the task's creator (events of a shared list may come from others).
    user_id: str = Field(min_length=1)
    list_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    reminder_index: int = Field(ge=0)
    occurrence: int = Field(ge=1)
    fire_at: AwareDatetime
    title: str
    due_at: AwareDatetime | None = None

    def event_fields(self, name: str | None = None) -> dict[str, Any]:
        """What every reminder.* event about this job carries; `name` is the job's name
        when it is known (a callback's), else the one derived from the task."""
        return {
            "user_id": self.user_id,
            "list_id": self.list_id,
            "task_id": self.task_id,
            "reminder_index": self.reminder_index,
            "occurrence": self.occurrence,
            "fire_at": self.fire_at,
            "job_name": name or job_name(self.task_id, self.reminder_index),
        }


def read_job(data: Any) -> tuple[ReminderJob, str, int | None]:
    """A job's data as Dapr hands it back: the job, the trace that scheduled it ("" if
    none) and the task version it was planned for (None from jobs that do not say).
    Raises ValueError (a ValidationError included) when it is not a reminder job."""
    if not isinstance(data, dict):
        raise ValueError("job data is not an object")
    fields = dict(data)
    scheduled_in = str(fields.pop(TRACEPARENT, ""))
    version = fields.pop(VERSION, None)
    if version is not None and (type(version) is not int or version < 1):
        raise ValueError(f"{VERSION} {version!r} is not a task version")
    return ReminderJob.model_validate(fields), scheduled_in, version


def job_name(task_id: str, reminder_index: int) -> str:
    """Deterministic: rescheduling replaces the job, cancelling needs nothing but the task."""
    return f"reminder--{task_id}--{reminder_index}"


def fired_key(name: str, occurrence: int) -> str:
    """Marker (and notification row) of the first delivery of a reminder occurrence."""
    return f"fired|{name}|{occurrence}"


def refired_key(name: str, occurrence: int, fire_at: AwareDatetime) -> str:
    """A later delivery of the same reminder at another time (its due date moved after it
    fired, e.g. a snoozed task): one row per (reminder, occurrence, fire time)."""
    return f"{fired_key(name, occurrence)}|{sortable_time(fire_at)}"


def sched_key(task_id: str) -> str:
    return f"sched|{task_id}"
