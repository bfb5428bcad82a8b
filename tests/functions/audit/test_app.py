"""audit's handlers over the in-memory Dapr fake: CloudEvent in, one stored entry out."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import generate_latest
from starlette.testclient import TestClient

from functions.audit.app import create_app
from functions.audit.service import dead_letter_key, event_key
from functions.audit.settings import Settings
from shared.dapr import DaprError
from shared.dapr.fake import FakeDapr
from shared.events import TaskCreated
from tests.factories import reminder_due, task_event, task_snapshot
from tests.sidecar import FROM_SIDECAR, bulk_delivery, cloudevent


def _event(title: str = "x") -> TaskCreated:
    return task_event(TaskCreated, task_snapshot(title=title))


def _client() -> tuple[TestClient, FakeDapr]:
    dapr = FakeDapr()
    return TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR), dapr


def _statuses(resp: Any) -> dict[str, str]:
    return {s["entryId"]: s["status"] for s in resp.json()["statuses"]}


def test_a_batch_is_stored_in_one_transaction() -> None:
    client, dapr = _client()
    events = [_event() for _ in range(3)]
    calls: list[int] = []
    store = dapr.state("kv")
    transact = store.transact

    async def counted(ops: Any) -> None:
        calls.append(len(ops))
        await transact(ops)

    store.transact = counted  # type: ignore[method-assign]
    resp = client.post(
        "/events/task-events",
        json=bulk_delivery(*(cloudevent(e.model_dump(mode="json")) for e in events)),
    )
    assert _statuses(resp) == {"0": "SUCCESS", "1": "SUCCESS", "2": "SUCCESS"}
    assert calls == [3]
    assert set(store.rows) == {event_key(str(e.event_id)) for e in events}


def test_an_event_is_stored_once_however_often_it_is_delivered() -> None:
    client, dapr = _client()
    event, other = _event(), _event()
    body = cloudevent(event.model_dump(mode="json"))
    for _ in range(3):
        resp = client.post("/events/task-events", json=bulk_delivery(body))
        assert _statuses(resp) == {"0": "SUCCESS"}
    # A batch holding a redelivery with a new event: the new one is stored, once.
    resp = client.post(
        "/events/task-events", json=bulk_delivery(body, cloudevent(other.model_dump(mode="json")))
    )
    assert _statuses(resp) == {"0": "SUCCESS", "1": "SUCCESS"}
    rows = dapr.state("kv").rows
    assert sorted(rows) == sorted([event_key(str(event.event_id)), event_key(str(other.event_id))])
    assert rows[event_key(str(event.event_id))][0]["event"] == event.model_dump(mode="json")


def test_poison_goes_to_the_dead_letter_topic_and_the_rest_of_the_batch_is_stored() -> None:
    client, dapr = _client()
    good = _event()
    poison = cloudevent({"type": "task.created"}, ce_id="bad-1")
    resp = client.post(
        "/events/task-events", json=bulk_delivery(poison, cloudevent(good.model_dump(mode="json")))
    )
    assert _statuses(resp) == {"0": "SUCCESS", "1": "SUCCESS"}
    (dead,) = dapr.publisher.on("task-events-dlq")
    assert dead == {"type": "task.created"}
    assert dapr.publisher.messages[0].cloudevent_id == "bad-1"
    assert list(dapr.state("kv").rows) == [event_key(str(good.event_id))]
    # Not a bulk body at all: nothing is acknowledged, so Kafka redelivers.
    assert client.post("/events/task-events", content=b"not json").json() == {"statuses": []}


def test_reminders_come_in_bulk_too_and_their_poison_goes_to_their_dead_letter_topic() -> None:
    client, dapr = _client()
    due = reminder_due()
    poison = cloudevent({"type": "reminder.due"}, topic="reminders", ce_id="bad-2")
    good = cloudevent(due.model_dump(mode="json"), topic="reminders")
    resp = client.post("/events/reminders", json=bulk_delivery(good, poison, topic="reminders"))
    assert _statuses(resp) == {"0": "SUCCESS", "1": "SUCCESS"}
    assert dapr.publisher.on("reminders-dlq") == [{"type": "reminder.due"}]
    assert list(dapr.state("kv").rows) == [event_key(str(due.event_id))]


def test_a_store_failure_asks_for_redelivery_of_the_batch() -> None:
    client, dapr = _client()
    store = dapr.state("kv")

    async def broken(ops: Any) -> None:
        raise RuntimeError("database is down")

    store.transact = broken  # type: ignore[method-assign]
    body = bulk_delivery(*(cloudevent(_event().model_dump(mode="json")) for _ in range(2)))
    assert _statuses(client.post("/events/task-events", json=body)) == {"0": "RETRY", "1": "RETRY"}
    assert store.rows == {}


def test_an_event_the_store_refuses_is_dead_lettered_and_the_rest_recorded() -> None:
    """Valid, but PostgreSQL cannot hold U+0000 (another producer than todo-api, which
    refuses it at the edge): the batch is written entry by entry; the refused one goes
    to the dead-letter topic, which audit keeps, and nothing is asked to retry."""
    client, dapr = _client()
    before, bad, after = _event(), _event("nul \x00 in the title"), _event()
    body = bulk_delivery(*(cloudevent(e, ce_id=str(e.event_id)) for e in (before, bad, after)))
    resp = client.post("/events/task-events", json=body)
    assert _statuses(resp) == {"0": "SUCCESS", "1": "SUCCESS", "2": "SUCCESS"}
    store = dapr.state("kv")
    assert set(store.rows) == {event_key(str(e.event_id)) for e in (before, after)}
    (dead,) = dapr.publisher.messages
    assert (dead.topic, dead.cloudevent_id) == ("task-events-dlq", str(bad.event_id))
    assert dead.data == bad.model_dump(mode="json")  # as it was sent
    # audit keeps it from the dead-letter topic: as JSON text, which the store can hold.
    kept = cloudevent(dead.data, topic="task-events-dlq", ce_id=str(bad.event_id))
    assert client.post("/events/dead-letters", json=kept).json() == {"status": "SUCCESS"}
    entry = store.rows[dead_letter_key(str(bad.event_id))][0]
    assert "data" not in entry
    assert json.loads(entry["data_json"]) == bad.model_dump(mode="json")
    assert entry["topic"] == "task-events"
    # Redelivered whole (say its SUCCESS was lost): nothing twice, the bad one again only
    # to the dead-letter topic (its CloudEvent id names it there).
    resp = client.post("/events/task-events", json=body)
    assert set(_statuses(resp).values()) == {"SUCCESS"}
    assert len(store.rows) == 3
    assert [m.cloudevent_id for m in dapr.publisher.messages] == [str(bad.event_id)] * 2


def test_a_store_outage_is_no_refusal_the_batch_is_redelivered() -> None:
    """daprd answers 500 for an outage too; only a data exception is a refusal."""
    client, dapr = _client()
    store = dapr.state("kv")

    async def away(ops: Any) -> None:
        raise DaprError(
            "500 ERR_STATE_TRANSACTION failed to connect: connection refused", status=500
        )

    store.transact = away  # type: ignore[method-assign]
    body = bulk_delivery(cloudevent(_event()), cloudevent(_event("nul \x00")))
    assert _statuses(client.post("/events/task-events", json=body)) == {"0": "RETRY", "1": "RETRY"}
    assert store.rows == {}
    assert dapr.publisher.messages == []


def test_dead_letters_are_kept_for_inspection() -> None:
    client, dapr = _client()
    body = cloudevent({"type": "task.created", "junk": True}, topic="task-events-dlq", ce_id="c1")
    assert client.post("/events/dead-letters", json=body).json() == {"status": "SUCCESS"}
    entry = dapr.state("kv").rows[dead_letter_key("c1")][0]
    assert entry["data"] == {"type": "task.created", "junk": True}
    # Sent there by an app (not forwarded by Dapr): still says where it failed.
    assert entry["topic"] == "task-events"


def test_health_readiness_and_metrics() -> None:
    client, dapr = _client()
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    dapr.is_ready = False
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"sidecar": False}
    poison = cloudevent({"type": "nope"}, topic="reminders")
    client.post("/events/reminders", json=bulk_delivery(poison, topic="reminders"))
    # Metrics live on their own port (the scraper's), not on the app port.
    assert 'taskwave_events_total{function="audit"' in generate_latest().decode()
    assert client.get("/metrics", headers={"dapr-api-token": ""}).status_code == 401
