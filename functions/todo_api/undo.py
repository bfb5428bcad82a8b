"""Undo from history, pure: which write returns a task to where it was before one event.

The audit log holds every event with the task as it was *after* it (a deletion: as it
was when deleted), so the state before event E is the task in the event before E of
the same task. Undoing a creation deletes the task; undoing a deletion makes it again
(as a new task: a deleted id stays deleted, so recurring never revives it); undoing a
change writes the earlier fields back (and reopens or completes). The caller does it
through the normal service writes, so it is a new version with its own event; each of
those events names the one it undoes (`undoes`), which audit shows on both entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.events import TaskSnapshot

__all__ = ["PATCHABLE", "NotUndoable", "UndoPlan", "patch_to", "plan_undo"]

TASK_EVENTS = frozenset(
    {"task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"}
)
PATCHABLE = (
    "title",
    "description",
    "priority",
    "tags",
    "due_at",
    "timezone",
    "recurrence",
    "reminders",
    "list_id",
)


class NotUndoable(ValueError):
    """The event is not one of this task's changes, or what came before is unknown."""


@dataclass(frozen=True)
class UndoPlan:
    action: Literal["delete", "restore", "revert"]
    event_id: str
    # The state to return to (restore, revert); None when undoing means deleting.
    target: TaskSnapshot | None
    # The version the task has right after the event: anything else is a newer change.
    version_after: int | None
    newer: list[str]  # later events of this task in the log
    event_type: str = ""


def plan_undo(entries: list[dict[str, Any]], task_id: str, event_id: str) -> UndoPlan:
    """`entries` are the task's audit log, oldest first (the events as published)."""
    events = [e for e in entries if e.get("task_id") == task_id and e.get("type") in TASK_EVENTS]
    index = next((i for i, e in enumerate(events) if str(e.get("event_id")) == event_id), None)
    if index is None:
        raise NotUndoable("that event is not a change of this task in its history")
    event = events[index]
    newer = [str(e["event_id"]) for e in events[index + 1 :]]
    after = TaskSnapshot.model_validate(event["task"])
    if event["type"] == "task.created":
        return UndoPlan("delete", event_id, None, after.version, newer)
    if event["type"] == "task.deleted":
        return UndoPlan("restore", event_id, after, None, newer)
    if index == 0:
        raise NotUndoable("the state before that change is not in the history")
    before = TaskSnapshot.model_validate(events[index - 1]["task"])
    return UndoPlan("revert", event_id, before, after.version, newer, event["type"])


def patch_to(current: TaskSnapshot, target: TaskSnapshot) -> dict[str, Any]:
    """The PATCH body that gives `current` the fields of `target` (JSON values)."""
    now, then = current.model_dump(mode="json"), target.model_dump(mode="json")
    return {name: then[name] for name in PATCHABLE if now[name] != then[name]}
