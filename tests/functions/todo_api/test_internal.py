from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pydantic import SecretStr
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from functions.todo_api.store import list_key, list_row
from shared.dapr.fake import FakeDapr
from shared.events import ListSnapshot, Member, TaskCreated, parse_event
from shared.internal_api import OccurrenceRequest, occurrence_path
from tests.functions.todo_api.relay import relay

TOKEN = "sidecar-token-of-the-unit-tests"


def _setup(list_exists: bool = True) -> tuple[TestClient, FakeDapr]:
    dapr = FakeDapr()
    settings = Settings(app_api_token=SecretStr(TOKEN))
    if list_exists:  # the series' list, l1
        at = datetime(2026, 1, 1, tzinfo=UTC)
        inbox = ListSnapshot(
            id="l1",
            name="Inbox",
            owner_id="u1",
            members=[Member(user_id="u1", username="ann", role="owner")],
            created_at=at,
            updated_at=at,
        )
        asyncio.run(dapr.state("kv").save(list_key("l1"), list_row(inbox)))
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
    assert isinstance(event, TaskCreated) and event.task.occurrence == 3


def test_a_series_ends_with_its_list() -> None:
    client, dapr = _setup(list_exists=False)
    req = _request()
    resp = client.put(
        f"/{occurrence_path(req.task_id)}", content=req.model_dump_json(), headers=RECURRING
    )
    assert resp.status_code == 410 and dapr.state("tasks").rows == {}
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
    assert dapr.publisher.messages == [] and dapr.state("tasks").rows == {}


def test_rejects_an_id_not_derived_from_the_series() -> None:
    client, dapr = _setup()
    resp = client.put(
        "/internal/v1/tasks/chosen-by-caller",
        content=_request().model_dump_json(),
        headers=RECURRING,
    )
    assert resp.status_code == 422 and dapr.state("tasks").rows == {}


def test_bad_input_is_a_422_naming_the_field() -> None:
    client, dapr = _setup()
    body = _request().model_dump(mode="json") | {"priority": "sky-high"}
    resp = client.put(f"/{occurrence_path(_request().task_id)}", json=body, headers=RECURRING)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "priority"
    assert dapr.state("tasks").rows == {}
