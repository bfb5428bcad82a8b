from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from functions.reminders.app import create_app
from functions.reminders.jobs import TRACEPARENT
from functions.reminders.service import fired_key, job_name
from functions.reminders.settings import Settings
from shared.dapr.fake import FakeDapr
from shared.events import ReminderDue, parse_event
from tests.functions.reminders.calls import Counted
from tests.functions.reminders.lists import TodoApi, tasklist
from tests.sidecar import FROM_SIDECAR


def _job(fire_at: datetime) -> dict[str, object]:
    return {
        "user_id": "u1",
        "list_id": "l1",
        "task_id": "t1",
        "reminder_index": 0,
        "occurrence": 1,
        "fire_at": fire_at.isoformat(),
        "title": "call mom",
    }


def _app() -> tuple[TestClient, FakeDapr]:
    dapr = FakeDapr()
    TodoApi(dapr, tasklist("u1"))  # u1 is still in l1 when the reminder fires
    return TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR), dapr


def test_a_due_job_publishes_one_reminder_due_even_when_redelivered() -> None:
    client, dapr = _app()
    client = TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR)
    name = job_name("t1", 0)
    fire_at = datetime.now(UTC) - timedelta(milliseconds=200)
    first = client.post(f"/job/{name}", json=_job(fire_at))
    second = client.post(f"/job/{name}", json=_job(fire_at))
    assert first.json() == {"job": name, "published": True}
    assert second.json() == {"job": name, "published": False}
    published = dapr.publisher.messages
    assert [m.topic for m in published] == ["reminders", "task-updates"]
    # One event, two feeds: the feed's copy says whose feed it is.
    assert published[1].data == published[0].data | {"recipient": "u1"}
    assert {m.partition_key for m in published} == {"u1"}
    event = parse_event(published[0].data)
    assert isinstance(event, ReminderDue)
    assert event.title == "call mom"
    rows = dapr.state("kv").rows
    assert rows[fired_key(name, 1)][0]["recipients"] == ["u1"]
    row = rows[f"{fired_key(name, 1)}|to|u1"][0]
    assert row["event_id"] == str(event.event_id)
    assert row["lateness_s"] >= 0.2


def test_the_event_id_is_stable_per_reminder_occurrence() -> None:
    """A crash between publish and record re-publishes the SAME id: consumers deduplicate."""
    fire_at = datetime.now(UTC)
    ids = []
    for _ in range(2):
        client, dapr = _app()
        client.post("/job/j", json=_job(fire_at))
        ids.append(dapr.publisher.messages[0].data["event_id"])
    assert ids[0] == ids[1]


def test_a_malformed_job_is_refused_and_publishes_nothing() -> None:
    client, dapr = _app()
    resp = client.post("/job/x", json={"user_id": "u1"})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"
    assert dapr.publisher.messages == []


def test_the_job_callback_links_back_to_the_trace_that_scheduled_it(
    spans: InMemorySpanExporter,
) -> None:
    client, dapr = _app()
    scheduled_in = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    name = job_name("t1", 0)
    body = _job(datetime.now(UTC)) | {TRACEPARENT: scheduled_in}
    resp = client.post(f"/job/{name}", json=body)
    assert resp.json() == {"job": name, "published": True}
    (fired,) = [s for s in spans.get_finished_spans() if s.name == "reminder job"]
    assert [
        (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") for link in fired.links
    ] == [("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")]
    # ... while the callback itself is a trace of its own, the one its response names.
    assert fired.context is not None
    assert resp.headers["traceparent"].split("-")[1] == f"{fired.context.trace_id:032x}"


def test_a_delivery_that_crashed_half_way_is_finished_by_the_retry() -> None:
    """The notification rows and the delivery marker go in one transaction; one left by a
    crashed delivery (an earlier release wrote them one by one) does not stop the rest."""
    client, dapr = _app()
    name = job_name("t1", 0)
    fire_at = datetime.now(UTC)
    store = dapr.state("kv")
    left = {"kind": "reminders.notification", "user_id": "u1", "event_id": "e"}
    asyncio.run(store.save(f"{fired_key(name, 1)}|to|u1", left))
    before = store.transactions
    assert client.post(f"/job/{name}", json=_job(fire_at)).json()["published"]
    assert store.transactions == before  # the one transaction was refused
    assert store.rows[fired_key(name, 1)][0]["recipients"] == ["u1"]
    assert store.rows[f"{fired_key(name, 1)}|to|u1"][0] == left
    assert not client.post(f"/job/{name}", json=_job(fire_at)).json()["published"]


def test_a_delivery_writes_its_rows_in_one_transaction() -> None:
    client, dapr = _app()
    store = dapr.state("kv")
    before = store.transactions
    assert client.post(f"/job/{job_name('t1', 0)}", json=_job(datetime.now(UTC))).json()[
        "published"
    ]
    assert store.transactions == before + 1


def test_a_delivery_costs_one_read_the_list_its_publishes_and_one_write() -> None:
    client, dapr = _app()
    counted = Counted(dapr)
    assert client.post(f"/job/{job_name('t1', 0)}", json=_job(datetime.now(UTC))).json()[
        "published"
    ]
    assert counted.take() == ["invoke", "publish", "publish", "state.get_bulk", "state.transact"]
