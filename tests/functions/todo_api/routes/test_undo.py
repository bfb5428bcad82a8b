"""POST /tasks/{id}/undo over the fakes, with a stand-in audit that answers from what
todo-api really published (the plan itself: tests/functions/todo_api/test_undo.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.todo_api.published_audit import users_with_published_audit
from tests.functions.todo_api.relay import relay
from tests.functions.todo_api.test_lists import Users


@pytest.fixture
def users() -> Users:
    return users_with_published_audit("ann", "bob")


def history(users: Users, task_id: str) -> list[dict[str, Any]]:
    relay(users.client)
    return [
        m.data
        for m in users.dapr.publisher.messages
        if m.topic == "task-events" and m.data.get("task_id") == task_id
    ]


def undo(users: Users, who: str, task_id: str, **body: Any) -> tuple[int, Any]:
    return users.call(who, "POST", f"/tasks/{task_id}/undo", body)


def test_undo_an_update_then_a_412_over_a_newer_change(users: Users) -> None:
    _, task = users.call("ann", "POST", "/tasks", {"title": "draft", "priority": "low"})
    users.call("ann", "PATCH", f"/tasks/{task['id']}", {"title": "final", "priority": "high"})
    users.call("ann", "PATCH", f"/tasks/{task['id']}", {"tags": ["x"]})
    first_edit = history(users, task["id"])[1]["event_id"]
    status, body = undo(users, "ann", task["id"], event_id=first_edit)
    assert status == 412, body
    assert len(body["error"]["details"]["newer_events"]) == 1
    status, body = undo(users, "ann", task["id"], event_id=first_edit, force=True)
    assert status == 200, body
    # Back to the snapshot before that event: the later tag goes too (hence the 412).
    assert (body["task"]["title"], body["task"]["priority"], body["task"]["tags"]) == (
        "draft",
        "low",
        [],
    )
    assert body["task"]["version"] == 4  # a new version, its own event
    assert history(users, task["id"])[-1]["type"] == "task.updated"


def test_undo_the_latest_change_needs_no_force_and_if_match_guards_it(users: Users) -> None:
    _, task = users.call("ann", "POST", "/tasks", {"title": "t"})
    users.call("ann", "POST", f"/tasks/{task['id']}/complete")
    done = history(users, task["id"])[-1]["event_id"]
    resp = users.client.post(
        f"/api/v1/tasks/{task['id']}/undo",
        json={"event_id": done},
        headers={**users.auth["ann"], "if-match": '"1"'},
    )
    assert resp.status_code == 412
    resp = users.client.post(
        f"/api/v1/tasks/{task['id']}/undo",
        json={"event_id": done},
        headers={**users.auth["ann"], "if-match": '"2"'},
    )
    assert resp.status_code == 200
    assert resp.json()["task"]["status"] == "open"
    assert resp.headers["etag"] == '"3"'


def test_undo_a_creation_deletes_and_undo_the_deletion_restores(users: Users) -> None:
    _, task = users.call(
        "ann",
        "POST",
        "/tasks",
        {"title": "t", "due_at": "2027-01-01T09:00:00Z", "reminders": [{"before": "PT5M"}]},
    )
    created = history(users, task["id"])[0]["event_id"]
    status, body = undo(users, "ann", task["id"], event_id=created)
    assert status == 200
    assert body["action"] == "deleted"
    assert body["task"] is None
    assert users.call("ann", "GET", f"/tasks/{task['id']}")[0] == 404
    deleted = history(users, task["id"])[-1]
    assert deleted["type"] == "task.deleted"
    status, body = undo(users, "ann", task["id"], event_id=deleted["event_id"])
    assert status == 201, body
    back = body["task"]
    assert (back["title"], back["due_at"], back["reminders"]) == (
        "t",
        "2027-01-01T09:00:00Z",
        [{"before": "PT5M", "at": None}],
    )
    assert users.call("ann", "GET", f"/tasks/{back['id']}")[0] == 200
    # Once: a second undo of the same deletion makes no second copy.
    status, body = undo(users, "ann", task["id"], event_id=deleted["event_id"])
    assert status == 409
    assert body["error"]["details"] == {"task_id": back["id"]}
    assert users.call("ann", "GET", "/tasks", params={"q": "t"})[1]["total"] == 1


def test_undo_follows_the_permission_table(users: Users) -> None:
    _, shared = users.call("ann", "POST", "/lists", {"name": "S"})
    users.share("ann", shared["id"], "bob", "viewer")
    _, task = users.call("ann", "POST", "/tasks", {"title": "t", "list_id": shared["id"]})
    users.call("ann", "PATCH", f"/tasks/{task['id']}", {"title": "u"})
    edit = history(users, task["id"])[-1]["event_id"]
    assert undo(users, "bob", task["id"], event_id=edit)[0] == 403
    users.call("ann", "DELETE", f"/lists/{shared['id']}/members/bob")
    assert undo(users, "bob", task["id"], event_id=edit)[0] == 404
    status, body = undo(users, "ann", task["id"], event_id="not-an-event")
    assert status == 422
    assert body["error"]["details"][0]["field"] == "event_id"


def test_every_write_of_an_undo_names_the_event_it_undoes(users: Users) -> None:
    _, task = users.call("ann", "POST", "/tasks", {"title": "t"})
    users.call("ann", "PATCH", f"/tasks/{task['id']}", {"title": "u"})
    users.call("ann", "POST", f"/tasks/{task['id']}/complete")
    created, edit, done = history(users, task["id"])
    assert [e["undoes"] for e in (created, edit, done)] == [None, None, None]

    # Before the edit: its fields, and open again (it was completed after): two writes.
    status, body = undo(users, "ann", task["id"], event_id=edit["event_id"], force=True)
    assert status == 200, body
    fields, reopened = history(users, task["id"])[3:]
    assert (fields["type"], fields["changed"], reopened["type"]) == (
        "task.updated",
        ["title"],
        "task.reopened",
    )
    assert fields["undoes"] == reopened["undoes"] == edit["event_id"]

    status, body = undo(users, "ann", task["id"], event_id=created["event_id"], force=True)
    assert status == 200, body
    assert body["action"] == "deleted", body
    deleted = history(users, task["id"])[-1]
    assert (deleted["type"], deleted["undoes"]) == ("task.deleted", created["event_id"])

    status, body = undo(users, "ann", task["id"], event_id=deleted["event_id"])
    assert status == 201, body
    [remade] = history(users, body["task"]["id"])
    assert (remade["type"], remade["undoes"]) == ("task.created", deleted["event_id"])
