"""The one adapter from a handler's result to Dapr's answer: returning is SUCCESS,
Unprocessable (or a value no retry fixes) is DROP, Retryable and anything else RETRY;
what is DROPped is dead-lettered by the app when it has to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.dapr import DaprError
from shared.dapr.fake import FakePublisher
from shared.delivery import Delivery, Retryable, Unprocessable
from shared.events import Event, TaskCreated, TaskSnapshot
from shared.web.pubsub import (
    DeadLetters,
    Outcome,
    bulk_event_endpoint,
    event_endpoint,
    raw_endpoint,
    settle,
)
from tests.sidecar import bulk_delivery, cloudevent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _event() -> dict[str, Any]:
    task = TaskSnapshot(id="t1", list_id="l1", title="x", created_at=NOW, updated_at=NOW)
    event = TaskCreated(user_id="u1", list_id="l1", task_id="t1", task=task)
    return event.model_dump(mode="json")


FAILURES: list[tuple[Exception | None, Outcome]] = [
    (None, Outcome.SUCCESS),
    (Unprocessable("never"), Outcome.DROP),
    (ValueError("a date past 9999"), Outcome.DROP),
    (OverflowError("too far"), Outcome.DROP),
    (Retryable("not now"), Outcome.RETRY),
    (DaprError("sidecar away"), Outcome.RETRY),
    (RuntimeError("a bug"), Outcome.RETRY),
]


@pytest.mark.parametrize(("raised", "outcome"), FAILURES)
async def test_settle_maps_a_result_to_an_outcome(
    raised: Exception | None, outcome: Outcome
) -> None:
    async def work() -> None:
        if raised is not None:
            raise raised

    assert await settle(work(), "a delivery") is outcome


def _client(
    raised: Exception | None, dead_letters: DeadLetters | None = None
) -> tuple[TestClient, list[Event]]:
    seen: list[Event] = []

    async def handler(event: Event, _: Delivery) -> None:
        seen.append(event)
        if raised is not None:
            raise raised

    endpoint = event_endpoint("tests", handler, dead_letters)
    app = Starlette(routes=[Route("/events/task-events", endpoint, methods=["POST"])])
    return TestClient(app), seen


@pytest.mark.parametrize(("raised", "outcome"), FAILURES)
def test_an_event_endpoint_answers_what_the_handler_did(
    raised: Exception | None, outcome: Outcome
) -> None:
    client, seen = _client(raised)
    resp = client.post("/events/task-events", json=cloudevent(_event()))
    assert resp.json() == {"status": outcome.value}
    assert len(seen) == 1


def test_a_message_that_is_not_our_event_is_dropped_before_the_handler() -> None:
    client, seen = _client(None)
    resp = client.post("/events/task-events", json=cloudevent({"type": "task.created"}))
    assert resp.json() == {"status": "DROP"}
    assert seen == []


def test_the_app_dead_letters_what_it_drops_and_retries_when_it_cannot() -> None:
    publisher = FakePublisher()
    client, _ = _client(Unprocessable("never"), DeadLetters(publisher))
    body = cloudevent(_event())
    # Dead-lettered by the app: acknowledged, so Dapr sends it nowhere else.
    assert client.post("/events/task-events", json=body).json() == {"status": "SUCCESS"}
    assert [(m.topic, m.cloudevent_id) for m in publisher.messages] == [
        ("task-events-dlq", body["id"])
    ]
    publisher.failing = DaprError("broker away")
    assert client.post("/events/task-events", json=body).json() == {"status": "RETRY"}


def test_a_raw_endpoint_takes_any_json_object() -> None:
    got: list[dict[str, Any]] = []

    async def keep(data: dict[str, Any], delivery: Delivery) -> None:
        got.append(data)
        if data.get("fail"):
            raise Retryable("store away")

    app = Starlette(routes=[Route("/dl", raw_endpoint("tests", keep), methods=["POST"])])
    client = TestClient(app)
    assert client.post("/dl", json=cloudevent({"any": 1})).json() == {"status": "SUCCESS"}
    assert client.post("/dl", json=cloudevent({"fail": 1})).json() == {"status": "RETRY"}
    assert got == [{"any": 1}, {"fail": 1}]


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (None, "SUCCESS"),
        (Retryable("not now"), "RETRY"),
        # A batch is never dropped whole: its other events would be dead-lettered with it.
        (Unprocessable("never"), "RETRY"),
    ],
)
def test_a_bulk_endpoint_answers_the_batch_as_one_and_poison_on_its_own(
    raised: Exception | None, status: str
) -> None:
    batches: list[int] = []
    poisoned: list[str] = []

    async def handler(batch: list[tuple[Event, Delivery]]) -> None:
        batches.append(len(batch))
        if raised is not None:
            raise raised

    async def poison(data: dict[str, Any], delivery: Delivery) -> None:
        poisoned.append(delivery.cloudevent_id)

    endpoint = bulk_event_endpoint("tests", handler, poison)
    client = TestClient(Starlette(routes=[Route("/b", endpoint, methods=["POST"])]))
    bad = cloudevent({"type": "nonsense"})
    resp = client.post("/b", json=bulk_delivery(cloudevent(_event()), bad, cloudevent(_event())))
    statuses = {s["entryId"]: s["status"] for s in resp.json()["statuses"]}
    assert statuses == {"0": status, "1": "SUCCESS", "2": status}
    assert batches == [2]
    assert poisoned == [bad["id"]]
