"""Task state transitions: pure functions of (task, request, now). No I/O, no clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.todo_api.models import TaskCreate, TaskPatch
from shared.domain.reminders import is_overdue
from shared.events import TaskSnapshot


class InvalidChange(ValueError):
    """A change that is well-formed but impossible for this task (→ 422)."""


def new_task(
    body: TaskCreate, *, task_id: str, list_id: str, user_id: str, user_tz: str, now: datetime
) -> TaskSnapshot:
    return TaskSnapshot(
        id=task_id,
        list_id=list_id,
        title=body.title,
        description=body.description,
        priority=body.priority,
        tags=body.tags,
        due_at=body.due_at,
        timezone=body.timezone or user_tz,
        recurrence=body.recurrence,
        reminders=body.reminders,
        series_id=task_id if body.recurrence else None,
        series_start=body.due_at if body.recurrence else None,
        created_at=now,
        updated_at=now,
        created_by=user_id,
    )


def apply_patch(
    task: TaskSnapshot, patch: TaskPatch, now: datetime
) -> tuple[TaskSnapshot, list[str]]:
    """The task after the patch and the names of the fields that really changed."""
    changes = {k: v for k, v in patch.changes().items() if getattr(task, k) != v}
    if not changes:
        return task, []
    merged: dict[str, Any] = {**dict(task), **changes}
    if merged["due_at"] is None and any(r.before is not None for r in merged["reminders"]):
        raise InvalidChange("reminders with 'before' need a due_at")
    if "recurrence" in changes or "due_at" in changes:
        # A moved due date or a new rule starts the series afresh from here:
        # "the 31st" is now whatever the user just chose.
        repeating = merged["recurrence"] is not None
        merged["series_id"] = (task.series_id or task.id) if repeating else None
        merged["series_start"] = merged["due_at"] if repeating else None
    merged.update(updated_at=now, version=task.version + 1)
    return TaskSnapshot.model_validate(merged), sorted(changes)


def complete(task: TaskSnapshot, now: datetime) -> TaskSnapshot | None:
    """None when it already is: completing twice changes nothing."""
    if task.status == "completed":
        return None
    return task.model_copy(
        update={
            "status": "completed",
            "completed_at": now,
            "updated_at": now,
            "version": task.version + 1,
        }
    )


def reopen(task: TaskSnapshot, now: datetime) -> TaskSnapshot | None:
    if task.status == "open":
        return None
    return task.model_copy(
        update={
            "status": "open",
            "completed_at": None,
            "updated_at": now,
            "version": task.version + 1,
        }
    )


def present(task: TaskSnapshot, now: datetime) -> dict[str, Any]:
    """The API representation: the stored task plus what is computed at read time."""
    body = task.model_dump(mode="json", exclude={"created_by"})
    body["overdue"] = is_overdue(task.due_at, task.status, now)
    return body


def utc(now: datetime) -> datetime:
    return now.astimezone(UTC)
