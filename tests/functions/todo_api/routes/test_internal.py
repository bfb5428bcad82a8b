from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from functions.todo_api.store import list_key, list_row, task_key, tombstone_key
from shared.dapr.fake import FakeDapr
from shared.events import TaskCreated, TaskSnapshot, parse_event
from shared.internal_api import OccurrenceRequest, occurrence_path
from tests.factories import list_snapshot
from tests.functions.todo_api.relay import relay

TOKEN = "sidecar-token-of-the-unit-tests"


AT = datetime(2026, 1, 1, tzinfo=UTC)


def _previous(**changes: object) -> TaskSnapshot:
    """Occurrence 2 of daily series s1 in ann's list l1, completed: what todo-api stored."""
    fields: dict[str, object] = {
        "id": "p",
        "list_id": "l1",
        "title": "stretch",
        "tags": ["health"],
        "due_at": datetime(2027, 1, 2, 8, tzinfo=UTC),
        "recurrence": {"frequency": "daily", "interval": 1},
        "reminders": [{"before": "PT10M"}],
        "status": "completed",
        "completed_at": datetime(2027, 1, 2, 9, tzinfo=UTC),
        "series_id": "s1",
        "series_start": datetime(2027, 1, 1, 8, tzinfo=UTC),
        "occurrence": 2,
        "created_at": AT,
        "updated_at": AT,
        "version": 3,
        "created_by": "u1",
    }
    return TaskSnapshot.model_validate(fields | changes)


def _setup(
    list_exists: bool = True, previous: TaskSnapshot | None = None, deleted: bool = False
) -> tuple[TestClient, FakeDapr]:
    dapr = FakeDapr()
    settings = Settings(app_api_token=SecretStr(TOKEN))
    previous = previous or _previous()
    row = previous.model_dump(mode="json")
    if deleted:
        tomb = {"task_id": previous.id, "deleted_from": previous.list_id, "task": row}
        asyncio.run(dapr.state("tasks").save(tombstone_key(previous.id), tomb))
    else:
        asyncio.run(dapr.state("tasks").save(task_key(previous.id), row))
    kv = dapr.state("kv")
    if list_exists:  # the series' list, l1
        asyncio.run(kv.save(list_key("l1"), list_row(list_snapshot("u1", list_id="l1", at=AT))))
    asyncio.run(kv.save(list_key("l2"), list_row(list_snapshot("u2", list_id="l2", at=AT))))
    return TestClient(create_app(settings, dapr)), dapr


def _request() -> OccurrenceRequest:
    return OccurrenceRequest(
        user_id="u1",
        list_id="l1",
        series_id="s1",
        occurrence=3,
        previous_task_id="p",
        title="stretch",
        due_at=datetime(2027, 1, 3, 8, tzinfo=UTC),
    )


def _made(dapr: FakeDapr, task_id: str | None = None) -> dict[str, Any] | None:
    row = dapr.state("tasks").rows.get(task_key(task_id or _request().task_id))
    return None if row is None else dict(row[0])


RECURRING = {"dapr-api-token": TOKEN, "dapr-caller-app-id": "recurring"}


def test_creates_the_occurrence_once_with_one_event() -> None:
    client, dapr = _setup()
    req = _request()
    first = client.put(
        f"/{occurrence_path(req.task_id)}", content=req.model_dump_json(), headers=RECURRING
    )
    second = client.put(
        f"/{occurrence_path(req.task_id)}", content=req.model_dump_json(), headers=RECURRING
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    relay(client)
    events = dapr.publisher.on("task-events")
    assert len(events) == 1
    event = parse_event(events[0])
    assert isinstance(event, TaskCreated)
    assert event.task.occurrence == 3


def test_a_series_ends_with_its_list() -> None:
    client, dapr = _setup(list_exists=False)
    req = _request()
    resp = client.put(
        f"/{occurrence_path(req.task_id)}", content=req.model_dump_json(), headers=RECURRING
    )
    assert resp.status_code == 410
    assert _made(dapr) is None
    relay(client)
    assert dapr.publisher.messages == []


def test_refuses_other_callers_and_forged_headers() -> None:
    client, dapr = _setup()
    req = _request()
    path = f"/{occurrence_path(req.task_id)}"
    for headers, status in (
        ({"dapr-api-token": TOKEN, "dapr-caller-app-id": "audit"}, 403),
        ({"dapr-caller-app-id": "recurring"}, 401),  # refused at the edge
        ({"dapr-api-token": "guess", "dapr-caller-app-id": "recurring"}, 401),
    ):
        put = client.put(path, content=req.model_dump_json(), headers=headers)
        assert put.status_code == status
    relay(client)
    assert dapr.publisher.messages == []
    assert _made(dapr) is None


def test_rejects_an_id_not_derived_from_the_series() -> None:
    client, dapr = _setup()
    resp = client.put(
        "/internal/v1/tasks/chosen-by-caller",
        content=_request().model_dump_json(),
        headers=RECURRING,
    )
    assert resp.status_code == 422
    assert _made(dapr) is None


def test_bad_input_is_a_422_naming_the_field() -> None:
    client, dapr = _setup()
    body = _request().model_dump(mode="json") | {"priority": "sky-high"}
    resp = client.put(f"/{occurrence_path(_request().task_id)}", json=body, headers=RECURRING)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "priority"
    assert _made(dapr) is None


def _put(client: TestClient, req: OccurrenceRequest) -> tuple[int, dict[str, Any]]:
    resp = client.put(
        f"/{occurrence_path(req.task_id)}", content=req.model_dump_json(), headers=RECURRING
    )
    return resp.status_code, resp.json()


def test_the_occurrence_is_made_from_the_stored_task_not_the_request() -> None:
    client, dapr = _setup()
    lying = _request().model_copy(
        update={"title": "click this", "user_id": "u9", "created_by": "u9", "tags": ["x"]}
    )
    status, body = _put(client, lying)
    assert status == 201
    assert (body["title"], body["tags"], body["list_id"]) == ("stretch", ["health"], "l1")
    assert body["reminders"] == _previous().model_dump(mode="json")["reminders"]
    # Daily after 2 Jan 08:00, by the stored rule: 3 Jan 08:00, whatever was asked.
    assert body["due_at"].startswith("2027-01-03T08:00")
    assert (body["status"], body["occurrence"], body["version"]) == ("open", 3, 1)
    stored = _made(dapr)
    assert stored is not None
    assert stored["created_by"] == "u1"
    relay(client)
    (event,) = [parse_event(m) for m in dapr.publisher.on("task-events")]
    assert event.user_id == "u1"


def test_a_forged_request_for_another_users_list_is_refused_and_changes_nothing() -> None:
    client, dapr = _setup()
    for forged, status in (
        # ann's series, but bob's list: the stored task says l1
        (_request().model_copy(update={"list_id": "l2", "user_id": "u2"}), 422),
        # a previous occurrence that never existed
        (_request().model_copy(update={"previous_task_id": "nope", "list_id": "l2"}), 404),
        # another series, or not the next one
        (_request().model_copy(update={"series_id": "s2"}), 422),
        (_request().model_copy(update={"occurrence": 5}), 422),
    ):
        assert _put(client, forged)[0] == status
        assert _made(dapr, forged.task_id) is None
    relay(client)
    assert dapr.publisher.messages == []


def test_an_open_previous_occurrence_makes_no_next_one() -> None:
    client, dapr = _setup(previous=_previous(status="open", completed_at=None))
    assert _put(client, _request())[0] == 409
    assert _made(dapr) is None


def test_a_task_reopened_before_its_completion_was_handled_still_continues_its_series() -> None:
    """Complete, then reopen at once: the completion event is handled after the reopening
    is stored. The series goes on, from the completion that the event names."""
    reopened = _previous(
        status="open",
        completed_at=None,
        version=4,
        updated_at=datetime(2027, 1, 2, 9, 5, tzinfo=UTC),
    )
    client, dapr = _setup(previous=reopened)
    done_at = datetime(2027, 1, 2, 9, tzinfo=UTC)
    status, body = _put(
        client, _request().model_copy(update={"completed_at": done_at, "completed_version": 3})
    )
    assert status == 201
    assert body["due_at"].startswith("2027-01-03T08:00")
    # A claim that is not older than what is stored is not a completion that happened.
    for claim in ({"completed_version": 4}, {"completed_at": datetime(2028, 1, 1, tzinfo=UTC)}):
        client, dapr = _setup(previous=reopened)
        req = _request().model_copy(update={"completed_at": done_at, "completed_version": 3})
        assert _put(client, req.model_copy(update=claim))[0] == 409
        assert _made(dapr) is None


def test_a_deleted_previous_occurrence_still_continues_its_series() -> None:
    client, dapr = _setup(deleted=True)
    status, body = _put(client, _request())
    assert status == 201
    assert body["title"] == "stretch"
    assert body["list_id"] == "l1"
    assert _made(dapr) is not None


def test_a_series_without_a_rule_any_more_ends() -> None:
    client, dapr = _setup(previous=_previous(recurrence=None))
    assert _put(client, _request())[0] == 410
    assert _made(dapr) is None
