"""audit's handlers over the in-memory Dapr fake: CloudEvent in, one stored entry out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import generate_latest
from starlette.testclient import TestClient

from functions.audit.app import create_app
from functions.audit.service import dead_letter_key, event_key
from functions.audit.settings import Settings
from shared.dapr.fake import FakeDapr
from shared.events import TaskCreated, TaskSnapshot
from tests.sidecar import FROM_SIDECAR

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _cloudevent(data: Any, topic: str = "task-events", ce_id: str | None = None) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": ce_id or str(uuid.uuid4()),
        "source": "todo-api",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "topic": topic,
        "pubsubname": "pubsub",
        "data": data,
    }


def _event() -> TaskCreated:
    task = TaskSnapshot(id="t1", list_id="l1", title="x", created_at=NOW, updated_at=NOW)
    return TaskCreated(user_id="u1", list_id="l1", task_id="t1", task=task)


def _client() -> tuple[TestClient, FakeDapr]:
    dapr = FakeDapr()
    return TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR), dapr


def test_an_event_is_stored_once_however_often_it_is_delivered() -> None:
    client, dapr = _client()
    event = _event()
    body = _cloudevent(event.model_dump(mode="json"))
    for _ in range(3):
        resp = client.post("/events/task-events", json=body)
        assert resp.json() == {"status": "SUCCESS"}
    rows = dapr.state("kv").rows
    assert list(rows) == [event_key(str(event.event_id))]
    assert rows[event_key(str(event.event_id))][0]["event"] == event.model_dump(mode="json")


def test_poison_is_dropped_to_dead_letters_and_nothing_is_stored() -> None:
    client, dapr = _client()
    resp = client.post("/events/task-events", json=_cloudevent({"type": "task.created"}))
    assert resp.json() == {"status": "DROP"}
    resp = client.post("/events/task-events", content=b"not json")
    assert resp.json() == {"status": "DROP"}
    assert dapr.state("kv").rows == {}


def test_a_store_failure_asks_for_redelivery() -> None:
    client, dapr = _client()
    store = dapr.state("kv")

    async def broken(key: str, value: Any) -> bool:
        raise RuntimeError("database is down")

    store.create = broken  # type: ignore[method-assign]
    resp = client.post("/events/task-events", json=_cloudevent(_event().model_dump(mode="json")))
    assert resp.json() == {"status": "RETRY"}


def test_dead_letters_are_kept_for_inspection() -> None:
    client, dapr = _client()
    body = _cloudevent({"type": "task.created", "junk": True}, topic="task-events-dlq", ce_id="c1")
    assert client.post("/events/dead-letters", json=body).json() == {"status": "SUCCESS"}
    entry = dapr.state("kv").rows[dead_letter_key("c1")][0]
    assert entry["data"] == {"type": "task.created", "junk": True}


def test_health_readiness_and_metrics() -> None:
    client, dapr = _client()
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    dapr.is_ready = False
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {"sidecar": False}
    client.post("/events/task-events", json=_cloudevent({"type": "nope"}))
    # Metrics live on their own port (the scraper's), not on the app port.
    assert 'taskwave_events_total{function="audit"' in generate_latest().decode()
    assert client.get("/metrics", headers={"dapr-api-token": ""}).status_code == 401
