"""Undo from history on the real stack: the history comes from audit (Kafka, then
service invocation), the undo is a normal write. Update, completion of a repeating
task (its occurrence goes too), deletion, and a 412 over a newer change. The undo's
events name the event they undo, and audit links the two: `undone_by` on the original,
`undo_of` on the undo (also across tasks: undoing a deletion makes a new task)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.internal_api import occurrence_id
from stack.services import Stack
from tests.integration.api import User, poll

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.url("todo-api")


def logged(user: User, task_id: str, count: int) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = user.http.get("/audit", params={"task_id": task_id}).json()[
            "items"
        ]
        mine = [e for e in items if e["type"].startswith("task.")]
        return mine if len(mine) >= count else None

    found = poll(probe, timeout=60)
    assert found, f"audit did not show {count} events of {task_id}"
    return found


def test_undo_an_update_and_a_412_over_a_newer_change(base: str) -> None:
    ann = User(base)
    task = ann.create(title="draft")
    ann.http.patch(f"/tasks/{task['id']}", json={"title": "final"})
    ann.http.patch(f"/tasks/{task['id']}", json={"priority": "high"})
    events = logged(ann, task["id"], 3)
    resp = ann.http.post(f"/tasks/{task['id']}/undo", json={"event_id": events[1]["event_id"]})
    assert resp.status_code == 412, resp.text
    assert resp.json()["error"]["details"]["newer_events"] == [events[2]["event_id"]]
    resp = ann.http.post(
        f"/tasks/{task['id']}/undo",
        json={"event_id": events[2]["event_id"]},
        headers={"if-match": '"3"'},
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["task"]["priority"], resp.json()["task"]["version"]) == ("medium", 4)
    log = logged(ann, task["id"], 4)
    undo, undone = log[-1], log[2]
    assert (undo["type"], undo["changed"]) == ("task.updated", ["priority"])
    assert undo["undoes"] == events[2]["event_id"]
    assert (undo["undo_of"]["event_id"], undo["undo_of"]["changed"]) == (
        events[2]["event_id"],
        ["priority"],
    )
    # The original says who undid it and when, in the same read that shows the undo.
    assert undone["event_id"] == events[2]["event_id"]
    assert undone["undone_by"] == {
        "event_id": undo["event_id"],
        "type": "task.updated",
        "user_id": ann.id,
        "occurred_at": undo["occurred_at"],
        "task_id": task["id"],
        "list_id": ann.default_list,
        "changed": ["priority"],
        "title": "final",
    }
    assert ["undone_by" in e for e in log] == [False, False, True, False]


def test_undo_a_completion_removes_the_occurrence_it_made(base: str) -> None:
    ann = User(base)
    task = ann.create(
        title="stretch", due_at="2027-03-18T09:00:00Z", recurrence={"frequency": "daily"}
    )
    assert ann.http.post(f"/tasks/{task['id']}/complete").status_code == 200
    following = occurrence_id(task["series_id"], 2)
    assert poll(lambda: ann.http.get(f"/tasks/{following}").status_code == 200, timeout=30)
    done = logged(ann, task["id"], 2)[-1]
    resp = ann.http.post(f"/tasks/{task['id']}/undo", json={"event_id": done["event_id"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["task"]["status"] == "open"
    assert ann.http.get(f"/tasks/{following}").status_code == 404
    reopened = logged(ann, task["id"], 3)[-1]
    assert (reopened["type"], reopened["undo_of"]["event_id"]) == (
        "task.reopened",
        done["event_id"],
    )
    # The occurrence it made went by the same undo: its deletion says so too.
    gone = logged(ann, following, 2)[-1]
    assert (gone["type"], gone["undoes"]) == ("task.deleted", done["event_id"])
    assert gone["undo_of"]["task_id"] == task["id"]
    # Either event of the undo may reach audit first: that one is "undone by".
    completion = next(e for e in logged(ann, task["id"], 3) if e["event_id"] == done["event_id"])
    assert completion["undone_by"]["event_id"] in {reopened["event_id"], gone["event_id"]}


def test_undo_a_deletion_restores_the_task(base: str) -> None:
    ann = User(base)
    task = ann.create(title="keep me", tags=["a"], reminders=[{"at": "2027-01-01T09:00:00Z"}])
    assert ann.http.delete(f"/tasks/{task['id']}").status_code == 204
    deleted = logged(ann, task["id"], 2)[-1]
    assert deleted["type"] == "task.deleted"
    resp = ann.http.post(f"/tasks/{task['id']}/undo", json={"event_id": deleted["event_id"]})
    assert resp.status_code == 201, resp.text
    back = resp.json()["task"]
    assert (back["title"], back["tags"], back["reminders"]) == (
        "keep me",
        ["a"],
        [{"before": None, "at": "2027-01-01T09:00:00Z"}],
    )
    assert ann.http.get(f"/tasks/{back['id']}").status_code == 200
    # A new task: the undo is in its history, the deletion it undid in the old one's.
    [remade] = logged(ann, back["id"], 1)
    assert remade["type"] == "task.created"
    assert (remade["undo_of"]["event_id"], remade["undo_of"]["task_id"]) == (
        deleted["event_id"],
        task["id"],
    )
    assert logged(ann, task["id"], 2)[-1]["undone_by"]["task_id"] == back["id"]
