"""A repeating task's next due date, the one rule recurring (which asks) and todo-api
(which checks against its own stored task) both apply."""

from __future__ import annotations

from datetime import datetime

from shared.domain.bounds import LATEST
from shared.domain.recurrence import next_occurrence
from shared.events import TaskSnapshot


def next_due(task: TaskSnapshot, now: datetime) -> datetime | None:
    """Next due date after this (completed) occurrence; ValueError if the rule is unusable."""
    if task.recurrence is None:
        return None
    # A repeating task without a due date repeats from when it was done.
    anchor = task.due_at or task.completed_at or now
    due = next_occurrence(
        task.recurrence,
        series_start=task.series_start or anchor,
        previous_due=anchor,
        tz=task.timezone,
        now=now,
        occurrence=task.occurrence,
        completed_at=task.completed_at,
    )
    # Past the last date taskwave keeps (2200), a series simply ends.
    return due if due is None or due <= LATEST else None
