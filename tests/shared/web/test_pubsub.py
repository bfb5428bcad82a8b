"""The one adapter from a handler's result to Dapr's answer: returning is SUCCESS,
Unprocessable (or a value no retry fixes) is DROP, Retryable and anything else RETRY;
what is DROPped is dead-lettered by the app when it has to."""

from __future__ import annotations

import io
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.dapr import DaprError, Refused
from shared.dapr.fake import FakePublisher
from shared.delivery import Delivery, Retryable, Unprocessable
from shared.events import Event, TaskCreated, TaskSnapshot
from shared.telemetry import setup_logging
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
    (Refused("SQLSTATE 22P05", status=500), Outcome.DROP),  # the data, for good
    (DaprError("sidecar away"), Outcome.RETRY),
    (DaprError("store away: connection refused", status=500), Outcome.RETRY),
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


def test_each_event_of_a_batch_is_a_span_in_its_producers_trace_with_its_line_and_count(
    spans: InMemorySpanExporter,
) -> None:
    """A batch is one handler call, yet every event keeps what one delivery had: a
    CONSUMER span in the trace its producer started (its log line in that span), and its
    count by type; the batch span links to every producer."""

    async def handler(batch: list[tuple[Event, Delivery]]) -> None:
        return None

    async def poison(data: dict[str, Any], delivery: Delivery) -> None:
        return None

    setup_logging("tests", json_logs=True)
    stream = io.StringIO()
    logging.getLogger().handlers[0].stream = stream  # type: ignore[attr-defined]
    producers = [f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01" for _ in range(3)]
    bodies = [cloudevent(_event()) | {"traceparent": tp} for tp in producers]
    bodies.append(cloudevent(_event()))  # published outside any trace: a trace of its own
    counted = _count("bulk-tests", "task.created")
    endpoint = bulk_event_endpoint("bulk-tests", handler, poison)
    client = TestClient(Starlette(routes=[Route("/b", endpoint, methods=["POST"])]))
    resp = client.post("/b", json=bulk_delivery(*bodies))
    assert {s["status"] for s in resp.json()["statuses"]} == {"SUCCESS"}

    finished = spans.get_finished_spans()
    (batch,) = [s for s in finished if s.name == "consume task-events (batch)"]
    assert batch.context is not None
    consumed = {
        s.attributes["messaging.message.id"]: s
        for s in finished
        if s.name == "consume task-events" and s.attributes is not None
    }
    assert set(consumed) == {b["id"] for b in bodies}
    lines = {
        line["message"].split("(id ")[1].split(")")[0]: line
        for raw in stream.getvalue().splitlines()
        if "task.created (id" in (line := json.loads(raw))["message"]
    }
    for body, tp in zip(bodies, [*producers, ""], strict=True):
        span = consumed[body["id"]]
        assert span.kind is SpanKind.CONSUMER
        assert span.context is not None
        if tp:
            _, trace_id, parent_id, _ = tp.split("-")
            assert span.parent is not None
            assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (
                trace_id,
                parent_id,
            )
        else:
            assert span.parent is None
        assert [link.context.span_id for link in span.links] == [batch.context.span_id]
        line = lines[body["id"]]
        assert line["message"].endswith(": SUCCESS")
        assert (line["trace_id"], line["span_id"]) == (
            f"{span.context.trace_id:032x}",
            f"{span.context.span_id:016x}",
        )
    assert sorted(f"{link.context.trace_id:032x}" for link in batch.links) == sorted(
        tp.split("-")[1] for tp in producers
    )
    assert _count("bulk-tests", "task.created") == counted + 4


def _count(function: str, event_type: str) -> float:
    labels = {"function": function, "topic": "task-events", "type": event_type}
    value = REGISTRY.get_sample_value("taskwave_events_total", labels | {"outcome": "success"})
    return value or 0.0


def test_a_bulk_endpoint_decodes_raw_payloads_and_sends_the_unreadable_to_poison() -> None:
    """rawPayload: each entry is the Kafka message as stored, base64 of the CloudEvent;
    one that is not base64 JSON is poison, named by the delivery's topic."""
    received: list[tuple[str, int | None, int | None, str | None]] = []
    poisoned: list[tuple[dict[str, Any], str]] = []

    async def handler(batch: list[tuple[Event, Delivery]]) -> None:
        received.extend((e.type, d.partition, d.offset, d.topic) for e, d in batch)

    async def poison(data: dict[str, Any], delivery: Delivery) -> None:
        poisoned.append((data, delivery.topic))

    endpoint = bulk_event_endpoint("tests", handler, poison)
    client = TestClient(Starlette(routes=[Route("/b", endpoint, methods=["POST"])]))
    body = bulk_delivery(
        cloudevent(_event(), "task-updates"),
        cloudevent(_event(), "task-updates"),
        topic="task-updates",
        offsets=[7, 8],
        partition=3,
        raw=True,
    )
    body["entries"].append({**body["entries"][0], "entryId": "2", "event": "bm90IGpzb24="})
    resp = client.post("/b", json=body)
    statuses = {s["entryId"]: s["status"] for s in resp.json()["statuses"]}
    assert statuses == {"0": "SUCCESS", "1": "SUCCESS", "2": "SUCCESS"}
    assert received == [
        ("task.created", 3, 7, "task-updates"),
        ("task.created", 3, 8, "task-updates"),
    ]
    assert poisoned == [({"data": "not json"}, "task-updates")]
