"""GET /internal/v1/notifications: a user's delivered reminders, newest first, paged.
Who may ask, and the 422s: tests/functions/test_internal_listings.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from functions.reminders.app import create_app
from functions.reminders.jobs import ReminderJob, job_name
from functions.reminders.members import ListDirectory
from functions.reminders.service import ReminderFirer
from functions.reminders.settings import Settings
from shared.dapr.fake import FakeDapr
from tests.functions.reminders.lists import TodoApi, tasklist

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
TOKEN = "app-token-of-the-unit-tests"
TODO_API = {"dapr-caller-app-id": "todo-api", "dapr-api-token": TOKEN}


def _setup() -> tuple[TestClient, FakeDapr, ReminderFirer]:
    dapr = FakeDapr()
    # A shared list whose reminders reach the task's creator only.
    TodoApi(dapr, tasklist("alice", "bob"))
    client = TestClient(
        create_app(Settings(app_api_token=SecretStr(TOKEN)), dapr),
        headers={"dapr-api-token": TOKEN},
    )
    lists = ListDirectory(dapr.invoker, "todo-api")
    return client, dapr, ReminderFirer(dapr.state("kv"), dapr.publisher, lists)


def _fire(firer: ReminderFirer, user: str, task: str, minute: int) -> None:
    at = NOW + timedelta(minutes=minute)
    job = ReminderJob(
        user_id=user,
        list_id="l1",
        task_id=task,
        reminder_index=0,
        occurrence=1,
        fire_at=at,
        title=f"task {task}",
        due_at=at + timedelta(minutes=15),
    )
    assert asyncio.run(firer.fire(job_name(task, 0), job, at))


def _get(client: TestClient, **params: Any) -> Any:
    resp = client.get("/internal/v1/notifications", params=params, headers=TODO_API)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _walk(client: TestClient, user: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"user_id": user, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = _get(client, **params)
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_delivered_reminders_newest_first_with_what_the_ui_shows() -> None:
    client, _, firer = _setup()
    for minute, task in enumerate(["a", "b", "c"]):
        _fire(firer, "alice", task, minute)
    body = _get(client, user_id="alice")
    assert [i["task_id"] for i in body["items"]] == ["c", "b", "a"]
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first["title"] == "task c"
    assert first["list_id"] == "l1"
    assert datetime.fromisoformat(first["fire_at"]) == NOW + timedelta(minutes=2)
    assert datetime.fromisoformat(first["due_at"]) == NOW + timedelta(minutes=17)
    assert set(first) >= {"event_id", "fired_at", "reminder_index", "occurrence"}


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_pages_cover_everything_once(limit: int) -> None:
    client, _, firer = _setup()
    for minute in range(7):
        _fire(firer, "alice", f"t{minute}", minute)
    items = _walk(client, "alice", limit)
    assert [i["task_id"] for i in items] == [f"t{m}" for m in reversed(range(7))]


def test_a_reminder_delivered_between_pages_neither_repeats_nor_hides_one() -> None:
    client, _, firer = _setup()
    for minute in range(4):
        _fire(firer, "alice", f"t{minute}", minute)
    page1 = _get(client, user_id="alice", limit=2)
    _fire(firer, "alice", "new", 10)  # newest: lands before the cursor
    page2 = _get(client, user_id="alice", limit=2, cursor=page1["next_cursor"])
    seen = [i["task_id"] for i in page1["items"] + page2["items"]]
    assert seen == ["t3", "t2", "t1", "t0"]


def test_a_user_sees_only_their_own_and_nothing_else_in_the_store() -> None:
    client, dapr, firer = _setup()
    _fire(firer, "alice", "a", 0)
    _fire(firer, "bob", "b", 1)
    # Another app's row with a user_id (the Query API reads every app's rows).
    asyncio.run(dapr.state("kv").save("user|bob", {"user_id": "bob", "fired_at": "x"}))
    assert [i["task_id"] for i in _get(client, user_id="bob")["items"]] == ["b"]
    assert _get(client, user_id="carol")["items"] == []
