"""task-updates in bulk (dapr/subscriptions/realtime.yaml): a partition's batch per
request, each entry numbered by its own Kafka offset, poison dead-lettered by realtime."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from functions.realtime.app import create_app
from functions.realtime.settings import Settings
from shared.dapr import DaprError
from shared.dapr.fake import FakeDapr
from tests.functions.realtime.test_ws import PUBLIC, _open, deliver_batch, update
from tests.sidecar import FROM_SIDECAR, cloudevent


def _client(dapr: FakeDapr | None = None) -> tuple[TestClient, FakeDapr]:
    dapr = dapr or FakeDapr(secret_values=PUBLIC)
    return TestClient(create_app(Settings(heartbeat_s=5), dapr), headers=FROM_SIDECAR), dapr


def test_a_batch_reaches_each_user_in_offset_order_numbered_by_its_own_offset() -> None:
    client, _ = _client()
    with _open(client, "u1") as u1, _open(client, "u2") as u2:
        assert u1.receive_json()["type"] == u2.receive_json()["type"] == "hello"
        batch = [update("u1", "a"), update("u2", "b"), update("u1", "c")]
        assert deliver_batch(client, *batch, offsets=[10, 11, 12], partition=4) == ["SUCCESS"] * 3
        got = [u1.receive_json() for _ in range(2)]
        assert [(m["seq"], m["partition"], m["event"]["task"]["title"]) for m in got] == [
            (10, 4, "a"),
            (12, 4, "c"),
        ]
        assert u2.receive_json()["seq"] == 11
    # Retained under those numbers: a resume on any replica asks by them.
    with _open(client, "u1", after=10) as again:
        assert again.receive_json() == {"type": "hello", "user_id": "u1", "seq": 12}
        assert again.receive_json()["seq"] == 12


def test_clients_get_the_event_as_its_producer_wrote_it() -> None:
    client, _ = _client()
    message = update("u1", "as written")
    with _open(client, "u1") as ws:
        ws.receive_json()
        deliver_batch(client, message, offsets=[3])
        assert ws.receive_json()["event"] == message["data"]


def test_a_redelivered_batch_sends_nothing_twice() -> None:
    """A batch answered RETRY comes back whole (Kafka redelivers from the first entry
    not acknowledged), with entries already sent among it."""
    client, _ = _client()
    batch = [update("u1", "a"), update("u1", "b")]
    with _open(client, "u1") as ws:
        ws.receive_json()
        deliver_batch(client, *batch, offsets=[20, 21])
        assert deliver_batch(client, *batch, offsets=[20, 21]) == ["SUCCESS"] * 2
        deliver_batch(client, update("u1", "c"), offsets=[22])
        assert [ws.receive_json()["seq"] for _ in range(3)] == [20, 21, 22]


def test_poison_in_a_batch_is_dead_lettered_by_realtime_and_the_rest_delivered() -> None:
    client, dapr = _client()
    bad = cloudevent({"type": "task.updated", "user_id": "u1"}, "task-updates")
    with _open(client, "u1") as ws:
        ws.receive_json()
        statuses = deliver_batch(client, update("u1"), bad, update("u1"), offsets=[5, 6, 7])
        # SUCCESS for the poison too: it is in task-updates-dlq now, not to be redelivered.
        assert statuses == ["SUCCESS"] * 3
        assert [ws.receive_json()["seq"] for _ in range(2)] == [5, 7]
    (kept,) = [m for m in dapr.publisher.messages if m.topic == "task-updates-dlq"]
    assert (kept.data, kept.cloudevent_id) == (bad["data"], bad["id"])
    assert all(m.topic == "task-updates-dlq" for m in dapr.publisher.messages)


def test_poison_that_cannot_be_dead_lettered_now_is_redelivered() -> None:
    dapr = FakeDapr(secret_values=PUBLIC)
    dapr.publisher.failing = DaprError("broker away", status=500)
    client, _ = _client(dapr)
    bad = cloudevent({"type": "nonsense"}, "task-updates")
    assert deliver_batch(client, bad, update("u1"), offsets=[1, 2]) == ["RETRY", "SUCCESS"]


def test_each_event_is_consumed_in_its_producers_trace_linked_to_its_delivery(
    spans: InMemorySpanExporter,
) -> None:
    """One consumer span per event, a child of the span that produced it; the delivery's
    own span stands for the batch (no second span per request)."""
    client, _ = _client()
    producers = [f"00-{n:032x}-{n:016x}-01" for n in (0xA1, 0xB2)]
    batch = [update("u1", "a"), update("u2", "b")]
    for message, traceparent in zip(batch, producers, strict=True):
        message["traceparent"] = traceparent
    deliver_batch(client, *batch, offsets=[1, 2])
    finished = spans.get_finished_spans()
    (delivery,) = [s for s in finished if s.name == "POST /events/task-updates"]
    consumed = [s for s in finished if s.name == "consume task-updates"]
    assert not [s for s in finished if s.name.endswith("(batch)")]
    parents = [(s.context, s.parent) for s in consumed]
    assert [
        (f"{ctx.trace_id:032x}", f"{parent.span_id:016x}")
        for ctx, parent in parents
        if ctx and parent
    ] == [(traceparent.split("-")[1], traceparent.split("-")[2]) for traceparent in producers]
    assert all([link.context for link in s.links] == [delivery.context] for s in consumed)
