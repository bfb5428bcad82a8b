"""Task use cases, independent of HTTP: each write is one transaction with its event."""

from __future__ import annotations

from datetime import datetime

from functions.todo_api.store import TaskExists, TaskStore
from shared.events import TaskCreated, TaskSnapshot
from shared.internal_api import OccurrenceRequest


class TaskService:
    def __init__(self, store: TaskStore) -> None:
        self._store = store

    async def create_occurrence(
        self, request: OccurrenceRequest, now: datetime
    ) -> tuple[TaskSnapshot, bool]:
        """Create the series' next task unless it exists; returns (task, created)."""
        existing = await self._store.get(request.task_id)
        if existing is not None:
            return existing[0], False
        task = TaskSnapshot(
            id=request.task_id,
            list_id=request.list_id,
            title=request.title,
            description=request.description,
            priority=request.priority,
            tags=request.tags,
            due_at=request.due_at,
            timezone=request.timezone,
            recurrence=request.recurrence,
            reminders=request.reminders,
            series_id=request.series_id,
            series_start=request.series_start,
            occurrence=request.occurrence,
            created_at=now,
            updated_at=now,
        )
        event = TaskCreated(
            user_id=request.user_id,
            list_id=task.list_id,
            task_id=task.id,
            task=task,
            occurred_at=now,
        )
        try:
            await self._store.insert(task, event)
        except TaskExists:
            # A concurrent request created it first: same id, same task.
            again = await self._store.get(task.id)
            if again is None:
                raise
            return again[0], False
        return task, True
