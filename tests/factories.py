"""Valid shared.events models for unit tests: a test names the fields it is about and
takes fixed values for the rest (task t1 in list l1, changed by u1, at T0)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.events import (
    ListSnapshot,
    Member,
    ReminderDue,
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskReopened,
    TaskSnapshot,
    TaskUpdated,
)

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)

TaskEventT = TypeVar(
    "TaskEventT", TaskCreated, TaskUpdated, TaskCompleted, TaskReopened, TaskDeleted
)


def task_snapshot(
    task_id: str = "t1", list_id: str = "l1", *, title: str = "x", at: datetime = T0, **fields: Any
) -> TaskSnapshot:
    """A task as events carry it, created and last updated `at` unless `fields` say so."""
    base = {"id": task_id, "list_id": list_id, "title": title, "created_at": at, "updated_at": at}
    return TaskSnapshot.model_validate(base | fields)


def task_event(
    kind: type[TaskEventT], task: TaskSnapshot | None = None, *, user_id: str = "u1", **fields: Any
) -> TaskEventT:
    """A `kind` change by `user_id` to `task` (default: `task_snapshot()`), in its list."""
    task = task or task_snapshot()
    return kind(user_id=user_id, list_id=task.list_id, task_id=task.id, task=task, **fields)


def series_completion(
    recurrence: dict[str, Any] | None,
    *,
    at: datetime = T0,
    occurrence: int = 1,
    user_id: str = "u1",
    **fields: Any,
) -> TaskCompleted:
    """`user_id` completes occurrence `occurrence` of series s1 ("standup", repeating by
    `recurrence`) on time: due, completed and announced `at`."""
    task = task_snapshot(
        title="standup",
        at=at,
        due_at=at,
        recurrence=recurrence,
        status="completed",
        completed_at=at,
        series_id="s1",
        occurrence=occurrence,
        **fields,
    )
    return task_event(TaskCompleted, task, user_id=user_id, occurred_at=at)


def reminder_due(
    task_id: str = "t1",
    *,
    user_id: str = "u1",
    list_id: str = "l1",
    fire_at: datetime = T0,
    title: str = "x",
    **fields: Any,
) -> ReminderDue:
    """The first reminder of the task's first occurrence, firing at `fire_at`."""
    return ReminderDue(
        user_id=user_id,
        list_id=list_id,
        task_id=task_id,
        reminder_index=0,
        occurrence=1,
        fire_at=fire_at,
        job_name=f"reminder--{task_id}--0",
        title=title,
        **fields,
    )


def list_snapshot(
    owner: str = "u1",
    *editors: str,
    list_id: str = "l1",
    name: str = "home",
    at: datetime = T0,
    **fields: Any,
) -> ListSnapshot:
    """A list `owner` owns and `editors` edit (usernames are their ids), created and last
    updated `at` unless `fields` say so."""
    members = [Member(user_id=owner, username=owner, role="owner")] + [
        Member(user_id=e, username=e, role="editor") for e in editors
    ]
    base = {"id": list_id, "name": name, "owner_id": owner, "members": members}
    return ListSnapshot.model_validate(base | {"created_at": at, "updated_at": at} | fields)
