"""recurring's subscriptions over the in-memory Dapr fake: a completion in, one call to
todo-api out, whichever feed and however many copies it arrives in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from functions.recurring.app import create_app
from functions.recurring.settings import Settings
from shared.dapr import InvokeResponse
from shared.dapr.fake import FakeDapr
from shared.events import Event, TaskCompleted
from shared.internal_api import occurrence_id, occurrence_path
from tests.factories import series_completion
from tests.sidecar import FROM_SIDECAR

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)


def _completed(by: str = "u1") -> TaskCompleted:
    return series_completion({"frequency": "daily"}, at=NOW, user_id=by, created_by="u1")


def _app() -> tuple[TestClient, list[tuple[str, str]]]:
    dapr = FakeDapr()
    calls: list[tuple[str, str]] = []

    async def todo_api(
        method: str, path: str, body: Any, headers: dict[str, str]
    ) -> InvokeResponse:
        calls.append((method, path))
        return InvokeResponse(201, {}, {})

    dapr.invoker.apps["todo-api"] = todo_api
    return TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR), calls


def _deliver(client: TestClient, event: Event, topic: str) -> None:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "topic": topic,
        "pubsubname": "pubsub",
        "datacontenttype": "application/json",
        "data": event.model_dump(mode="json"),
    }
    assert client.post(f"/events/{topic}", json=body).json() == {"status": "SUCCESS"}


NEXT = ("PUT", occurrence_path(occurrence_id("s1", 2)))


def test_only_the_primary_copy_is_acted_on() -> None:
    """Members' feed copies belong on task-updates, which recurring does not read; one
    that strayed onto its route still changes nothing."""
    client, calls = _app()
    done = _completed(by="u2")  # u2 completed u1's task in a shared list
    for member in ("u1", "u3"):
        _deliver(client, done.for_member(member), "task-events")
    assert calls == []
    _deliver(client, done.for_member("u2"), "task-events")
    assert calls == [NEXT]


def test_completions_come_on_one_path_only() -> None:
    client, calls = _app()
    _deliver(client, _completed(), "task-events")
    assert calls == [NEXT]
    # DESIGN §2: one path per consumer; the task-updates fast path is gone.
    assert client.post("/events/task-updates", json={}).status_code == 404
