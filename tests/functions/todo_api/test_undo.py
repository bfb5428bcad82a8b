"""Undo from history: the plan (pure). The route is tests/functions/todo_api/routes/test_undo.py."""

from __future__ import annotations

from typing import Any

import pytest

from functions.todo_api.undo import NotUndoable, patch_to, plan_undo
from shared.events import TaskSnapshot

NOW = "2026-12-04T12:00:00Z"


def snap(version: int, **fields: Any) -> dict[str, Any]:
    base = {"id": "t", "list_id": "L", "title": "a", "created_at": NOW, "updated_at": NOW}
    return TaskSnapshot.model_validate(base | fields | {"version": version}).model_dump(mode="json")


def ev(event_id: str, kind: str, task: dict[str, Any], task_id: str = "t") -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "task_id": task_id, "task": task}


LOG = [
    ev("e1", "task.created", snap(1)),
    ev("x", "task.created", snap(1, id="other"), task_id="other"),
    ev("r", "reminder.scheduled", {}),
    ev("e2", "task.updated", snap(2, title="b", priority="high")),
    ev("e3", "task.completed", snap(3, title="b", priority="high", status="completed")),
]


def test_plans() -> None:
    created = plan_undo(LOG, "t", "e1")
    assert (created.action, created.version_after, created.newer) == ("delete", 1, ["e2", "e3"])
    updated = plan_undo(LOG, "t", "e2")
    assert updated.action == "revert"
    assert updated.target is not None
    assert (updated.target.title, updated.version_after) == ("a", 2)
    done = plan_undo(LOG, "t", "e3")
    assert done.target is not None
    assert done.target.status == "open"
    assert done.newer == []
    deleted = plan_undo([*LOG, ev("e4", "task.deleted", snap(3, title="b"))], "t", "e4")
    assert deleted.action == "restore"
    assert deleted.target is not None
    assert deleted.target.title == "b"
    for bad in ("x", "r", "nope"):
        with pytest.raises(NotUndoable):
            plan_undo(LOG, "t", bad)
    with pytest.raises(NotUndoable, match="not in the history"):
        plan_undo(LOG[3:], "t", "e2")


def test_patch_to_names_only_what_differs() -> None:
    now = TaskSnapshot.model_validate(snap(3, title="b", tags=["x"], due_at=NOW))
    then = TaskSnapshot.model_validate(snap(1, title="a", tags=["x"]))
    assert patch_to(now, then) == {"title": "a", "due_at": None}
