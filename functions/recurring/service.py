"""From a completed task to its next occurrence: pure decision, then one idempotent call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from shared.dapr import DaprError, Invoker
from shared.events import TaskCompleted, TaskSnapshot
from shared.internal_api import OccurrenceRequest, occurrence_path
from shared.web.pubsub import Outcome

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

    async def on_completed(self, event: TaskCompleted, now: datetime) -> Outcome:
        try:
            request = next_request(event, self._next_due, now)
        except ValueError as exc:
            log.error("task %s has an unusable recurrence: %s", event.task_id, exc)
            return Outcome.DROP
        if request is None:
            return Outcome.SUCCESS
        try:
            resp = await self._invoker.invoke(
                self._todo_api,
                occurrence_path(request.task_id),
                http_method="PUT",
                json=request.model_dump(mode="json"),
            )
        except DaprError as exc:
            log.warning("todo-api unreachable for %s: %s", request.task_id, exc)
            return Outcome.RETRY
        if resp.status in (200, 201):
            log.info(
                "occurrence %s of series %s is %s",
                request.occurrence,
                request.series_id,
                "created" if resp.status == 201 else "already there",
            )
            return Outcome.SUCCESS
        if 400 <= resp.status < 500 and resp.status not in (408, 429):
            # A request todo-api refuses will be refused again: dead-letter it.
            log.error(
                "todo-api refused occurrence %s: %s %s", request.task_id, resp.status, resp.body
            )
            return Outcome.DROP
        return Outcome.RETRY
