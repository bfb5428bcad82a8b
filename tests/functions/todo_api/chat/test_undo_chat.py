"""Chat "undo that" / "undo the last change" (issue 16): the caller's newest change is undone
through the same undo as POST /tasks/{id}/undo (history from a stand-in audit answering from
what todo-api really published), asking first when the task changed after it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.todo_api.published_audit import users_with_published_audit
from tests.functions.todo_api.relay import relay
from tests.functions.todo_api.test_lists import Users


@pytest.fixture
def users() -> Users:
    return users_with_published_audit("ann", "bob")


def chat(users: Users, who: str, message: str, conversation: str | None = None) -> dict[str, Any]:
    relay(users.client)  # what was published reaches the (stand-in) audit log
    body = {"message": message} | ({"conversation_id": conversation} if conversation else {})
    status, out = users.call(who, "POST", "/chat", body)
    assert status == 200, out
    relay(users.client)
    return dict(out)


def task(users: Users, who: str, task_id: str) -> dict[str, Any]:
    return dict(users.call(who, "GET", f"/tasks/{task_id}")[1])


def test_undo_the_last_change_made_elsewhere_goes_through_the_undo_service(users: Users) -> None:
    _, made = users.call("ann", "POST", "/tasks", {"title": "draft", "priority": "low"})
    users.call("ann", "PATCH", f"/tasks/{made['id']}", {"title": "final", "priority": "high"})
    out = chat(users, "ann", "undo the last change")
    assert "final" in out["reply"]
    assert out["actions"][0]["type"] == "task.undone"
    now = task(users, "ann", made["id"])
    assert (now["title"], now["priority"], now["version"]) == ("draft", "low", 3)
    # It is an ordinary write: its own event follows the one undone.
    events = [m.data for m in users.dapr.publisher.messages if m.topic == "task-events"]
    assert events[-1]["type"] == "task.updated"
    assert events[-1]["task"]["title"] == "draft"


def test_undo_asks_first_when_someone_changed_the_task_since(users: Users) -> None:
    _, made = users.call("ann", "POST", "/tasks", {"title": "shared one"})
    users.share("ann", made["list_id"], "bob", "editor")
    users.call("ann", "POST", f"/tasks/{made['id']}/complete")
    first = chat(users, "ann", "undo that")  # nothing newer: the completion is undone
    assert task(users, "ann", made["id"])["status"] == "open", first
    users.call("ann", "POST", f"/tasks/{made['id']}/complete")
    users.call("bob", "PATCH", f"/tasks/{made['id']}", {"title": "bob renamed it"})
    asked = chat(users, "ann", "undo my last change")
    assert "?" in asked["reply"]
    assert asked["actions"][0]["type"] == "confirm"
    assert task(users, "ann", made["id"])["status"] == "completed"  # nothing yet
    no = chat(users, "ann", "no", asked["conversation_id"])
    assert task(users, "ann", made["id"])["status"] == "completed", no
    asked = chat(users, "ann", "undo my last change", asked["conversation_id"])
    chat(users, "ann", "yes", asked["conversation_id"])
    assert task(users, "ann", made["id"])["status"] == "open"


def test_undo_right_after_a_chat_turn_takes_back_that_turn(users: Users) -> None:
    added = chat(users, "ann", "add water the fern every friday")
    task_id = added["actions"][0]["task_id"]
    out = chat(users, "ann", "undo that", added["conversation_id"])
    assert out["actions"][0]["type"] == "task.undone", out
    assert users.call("ann", "GET", f"/tasks/{task_id}")[0] == 404


def test_nothing_to_undo_changes_nothing(users: Users) -> None:
    out = chat(users, "bob", "undo that")
    assert "nothing" in out["reply"].lower()
    assert out["actions"] == []
