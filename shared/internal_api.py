"""Service-to-service routes (Dapr service invocation): one contract for caller and callee."""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.domain.bounds import BoundedDatetime
from shared.domain.recurrence import Recurrence
from shared.domain.reminders import ReminderSpec
from shared.events import Priority

_OCCURRENCE_NS = uuid.UUID("3f6d2b0e-97a1-4c1e-8f51-1d2a6c9e7b44")


def occurrence_id(series_id: str, occurrence: int) -> str:
    """The id of a series' n-th occurrence: a replayed completion asks for the same id."""
    return str(uuid.uuid5(_OCCURRENCE_NS, f"{series_id}:{occurrence}"))


class OccurrenceRequest(BaseModel):
    """recurring -> todo-api: create the next occurrence of a series (idempotent PUT)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1)
    list_id: str = Field(min_length=1)
    series_id: str = Field(min_length=1)
    occurrence: int = Field(ge=2)
    previous_task_id: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    priority: Priority = "medium"
    tags: list[str] = Field(default_factory=list)
    due_at: BoundedDatetime | None = None
    series_start: AwareDatetime | None = None
    timezone: str = "UTC"
    recurrence: Recurrence | None = None
    reminders: list[ReminderSpec] = Field(default_factory=list)
    # Whose reminders these are: the series' creator, whoever completed the last one.
    created_by: str | None = None
    # The completion this request follows (the event's snapshot): lets todo-api continue
    # a series whose task was reopened before the event was handled.
    completed_at: AwareDatetime | None = None
    completed_version: int | None = Field(default=None, ge=1)

    @property
    def task_id(self) -> str:
        return occurrence_id(self.series_id, self.occurrence)


def occurrence_path(task_id: str) -> str:
    return f"internal/v1/tasks/{task_id}"


def list_path(list_id: str) -> str:
    """todo-api's answer to "who is in this list now" (a ListSnapshot, 404 once deleted)."""
    return f"internal/v1/lists/{list_id}"
