"""Undo from history on the real stack: the history comes from audit (Kafka, then
service invocation), the undo is a normal write. Update, completion of a repeating
task (its occurrence goes too), deletion, and a 412 over a newer change."""

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
    assert logged(ann, task["id"], 4)[-1]["type"] == "task.updated"


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
