"""From a completed task to its next occurrence: pure decision, then one idempotent call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from shared.dapr import DaprError, Invoker
from shared.delivery import Retryable, Unprocessable
from shared.events import TaskCompleted, TaskSnapshot
from shared.internal_api import OccurrenceRequest, occurrence_path

log = logging.getLogger(__name__)

# (completed task, now) -> the next due time, or None when the series has ended.
NextDue = Callable[[TaskSnapshot, datetime], datetime | None]


def next_request(
    event: TaskCompleted, next_due: NextDue, now: datetime
) -> OccurrenceRequest | None:
    task = event.task
    if task.recurrence is None:
        return None
    due = next_due(task, now)
    if due is None:
        return None
    return OccurrenceRequest(
        user_id=event.user_id,
        list_id=task.list_id,
        series_id=task.series_id or task.id,
        occurrence=task.occurrence + 1,
        previous_task_id=task.id,
        title=task.title,
        description=task.description,
        priority=task.priority,
        tags=task.tags,
        due_at=due,
        series_start=task.series_start or task.due_at,
        timezone=task.timezone,
        recurrence=task.recurrence,
        reminders=task.reminders,
        created_by=task.created_by,
        completed_at=task.completed_at,
        completed_version=task.version,
    )


class Recurrer:
    def __init__(self, invoker: Invoker, next_due: NextDue, todo_api: str) -> None:
        self._invoker = invoker
        self._next_due = next_due
        self._todo_api = todo_api

    async def on_completed(self, event: TaskCompleted, now: datetime) -> None:
        """Ask todo-api for the next occurrence. Raises Unprocessable when no retry can
        make it (an unusable recurrence, a request todo-api refuses), Retryable when a
        later one may (todo-api away or busy)."""
        try:
            request = next_request(event, self._next_due, now)
        except ValueError as exc:
            raise Unprocessable(f"task {event.task_id} has an unusable recurrence: {exc}") from exc
        if request is None:
            return
        try:
            resp = await self._invoker.invoke(
                self._todo_api,
                occurrence_path(request.task_id),
                http_method="PUT",
                json=request.model_dump(mode="json"),
            )
        except DaprError as exc:
            raise Retryable(f"todo-api unreachable for {request.task_id}: {exc}") from exc
        if resp.status in (200, 201):
            log.info(
                "occurrence %s of series %s is %s",
                request.occurrence,
                request.series_id,
                "created" if resp.status == 201 else "already there",
            )
            return
        if 400 <= resp.status < 500 and resp.status not in (408, 429):
            # A request todo-api refuses will be refused again: dead-letter it.
            raise Unprocessable(
                f"todo-api refused occurrence {request.task_id}: {resp.status} {resp.body}"
            )
        raise Retryable(f"todo-api answered {resp.status} for occurrence {request.task_id}")
