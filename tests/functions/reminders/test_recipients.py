"""Whom a due reminder reaches: the list's members as todo-api knows them when it fires,
not as they were when it was scheduled. Through the app: job callback in, events and
notifications out, todo-api answering over the in-memory Dapr fake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from functions.reminders.app import create_app
from functions.reminders.jobs import ReminderJob, fired_key, job_name
from functions.reminders.service import FIRED, recipients
from functions.reminders.settings import Settings
from shared.dapr.fake import FakeDapr, Published
from shared.events import ListSnapshot, ReminderAudience, ReminderDue, parse_event
from tests.functions.reminders.lists import TodoApi, tasklist

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
NAME = job_name("t1", 0)
TOKEN = "app-token-of-the-unit-tests"
TODO_API = {"dapr-caller-app-id": "todo-api", "dapr-api-token": TOKEN}
# What the job carries: alice created the task, so "creator" reminders are hers.
JOB: dict[str, Any] = {
    "user_id": "alice",
    "list_id": "l1",
    "task_id": "t1",
    "reminder_index": 0,
    "occurrence": 1,
    "fire_at": NOW.isoformat(),
    "title": "water the plants",
}


def _app(*lists: ListSnapshot) -> tuple[TestClient, FakeDapr, TodoApi]:
    dapr = FakeDapr()
    todo_api = TodoApi(dapr, *lists)
    client = TestClient(
        create_app(Settings(app_api_token=SecretStr(TOKEN)), dapr),
        headers={"dapr-api-token": TOKEN},
    )
    return client, dapr, todo_api


def _fire(client: TestClient) -> Any:
    resp = client.post(f"/job/{NAME}", json=JOB)
    assert resp.status_code == 200, resp.text
    return resp.json()["published"]


def _on(dapr: FakeDapr, topic: str) -> list[Published]:
    return [m for m in dapr.publisher.messages if m.topic == topic]


def _due(message: Published) -> ReminderDue:
    event = parse_event(message.data)
    assert isinstance(event, ReminderDue)
    return event


def _notified(client: TestClient, user: str) -> list[dict[str, Any]]:
    resp = client.get("/internal/v1/notifications", params={"user_id": user}, headers=TODO_API)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def _marker(dapr: FakeDapr) -> dict[str, Any]:
    row: dict[str, Any] = dapr.state("kv").rows[fired_key(NAME, 1)][0]
    return row


def test_a_creator_still_in_the_list_is_reminded_alone() -> None:
    client, dapr, todo_api = _app(tasklist("bob", "alice"))
    assert _fire(client) is True
    assert todo_api.asked == [("GET", "internal/v1/lists/l1")]
    (due,) = _on(dapr, "reminders")
    (feed,) = _on(dapr, "task-updates")
    assert (_due(due).user_id, due.partition_key) == ("alice", "alice")
    assert (_due(feed).recipient, feed.partition_key) == ("alice", "alice")
    assert _due(feed).event_id == _due(due).event_id  # one event, two feeds
    (note,) = _notified(client, "alice")
    assert (note["task_id"], note["event_id"]) == ("t1", str(_due(due).event_id))
    assert _notified(client, "bob") == []  # a member, but the list reminds creators only


def test_a_creator_removed_before_it_fires_is_reminded_of_nothing() -> None:
    client, dapr, todo_api = _app(tasklist("bob"))  # alice left after it was scheduled
    _fire(client)
    assert dapr.publisher.messages == []
    assert _notified(client, "alice") == []
    marker = _marker(dapr)
    assert (marker["kind"], marker["recipients"]) == (FIRED, [])
    # Dealt with: a redelivered callback does nothing, even once she is back in the list.
    todo_api.put(tasklist("bob", "alice"))
    assert _fire(client) is False
    assert dapr.publisher.messages == []
    assert _notified(client, "alice") == []


def test_a_deleted_list_reminds_nobody() -> None:
    client, dapr, todo_api = _app()  # todo-api: 404
    _fire(client)
    assert dapr.publisher.messages == []
    assert _notified(client, "alice") == []
    assert _marker(dapr)["recipients"] == []
    assert _fire(client) is False
    assert len(todo_api.asked) == 1


def test_a_list_reminding_members_reminds_each_of_them_once() -> None:
    members = ["bob", "alice", "carol"]
    client, dapr, _ = _app(tasklist(*members, remind="members"))
    assert _fire(client) is True
    due = _on(dapr, "reminders")
    assert sorted(_due(m).user_id for m in due) == sorted(members)
    assert all(m.partition_key == _due(m).user_id for m in due)  # each in their own order
    ids = {_due(m).user_id: _due(m).event_id for m in due}
    assert len(set(ids.values())) == 3  # distinct: consumers deduplicate by event id
    feed = _on(dapr, "task-updates")
    assert sorted((_due(m).recipient, m.partition_key) for m in feed) == [
        (m, m) for m in sorted(members)
    ]
    assert {_due(m).recipient: _due(m).event_id for m in feed} == ids
    for member in members:
        (note,) = _notified(client, member)
        assert (note["task_id"], note["event_id"]) == ("t1", str(ids[member]))
    assert _notified(client, "dave") == []
    assert _marker(dapr)["recipients"] == members
    # Redelivered: nobody is reminded twice.
    assert _fire(client) is False
    assert len(dapr.publisher.messages) == 6
    assert all(len(_notified(client, m)) == 1 for m in members)


# The id reminders gave this occurrence's reminder.due before lists were shared.
BEFORE_SHARING = uuid.UUID("51150af3-8bd1-51f2-a079-2e3540fdcf4b")


@pytest.mark.parametrize("remind", ["creator", "members"])
def test_the_creators_copy_keeps_the_id_it_always_had(remind: ReminderAudience) -> None:
    """A callback retried across the upgrade re-publishes the same id: still deduplicated."""
    client, dapr, _ = _app(tasklist("bob", "alice", remind=remind))
    _fire(client)
    ids = {_due(m).user_id: _due(m).event_id for m in _on(dapr, "reminders")}
    assert ids["alice"] == BEFORE_SHARING


@pytest.mark.parametrize("outage", ["unreachable", "failing"])
def test_unknown_membership_is_retried_by_the_scheduler(outage: str) -> None:
    client, dapr, todo_api = _app(tasklist("alice"))
    if outage == "unreachable":
        todo_api.down = True
    else:
        todo_api.failing = 500
    resp = client.post(f"/job/{NAME}", json=JOB)
    # Not 2xx: the scheduler retries the callback under the job's failure policy.
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "unavailable"
    assert dapr.publisher.messages == []
    assert dapr.state("kv").rows == {}  # not marked fired: the retry must deliver
    todo_api.down, todo_api.failing = False, None
    assert _fire(client) is True
    assert _fire(client) is False
    assert [_due(m).user_id for m in _on(dapr, "reminders")] == ["alice"]
    assert len(_notified(client, "alice")) == 1


@pytest.mark.parametrize(
    ("tasklist_", "expected"),
    [
        (None, []),
        (tasklist("alice"), ["alice"]),
        (tasklist("bob", "alice"), ["alice"]),
        (tasklist("bob", "carol"), []),
        (tasklist("bob", "carol", remind="members"), ["bob", "carol"]),
        (tasklist("bob", "alice", remind="members"), ["bob", "alice"]),
    ],
)
def test_recipients_are_decided_by_membership_now(
    tasklist_: ListSnapshot | None, expected: list[str]
) -> None:
    assert recipients(ReminderJob.model_validate(JOB), tasklist_) == expected
