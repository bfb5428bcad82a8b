"""taskwave's outbox over the in-memory fakes: atomic with the change, keyed, in commit
order, never wedged by a failed write, and nothing lost across outages and crashes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.outbox import PENDING, Outbox
from shared.dapr import EtagMismatch, StateItem, StateOp
from shared.dapr.fake import FakeDapr
from shared.events import ListCreated, ListSnapshot, Member, parse_event
from tests.functions.todo_api.relay import relay
from tests.keys import token_secrets

API = "/api/v1"
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _app() -> tuple[TestClient, FakeDapr, dict[str, str]]:
    dapr = FakeDapr(secret_values=token_secrets())
    client = TestClient(create_app(dapr=dapr))
    creds = {"username": "ann", "password": "a passphrase"}
    client.post(f"{API}/auth/register", json=creds)
    token = client.post(f"{API}/auth/token", json=creds).json()["access_token"]
    relay(client)
    return client, dapr, {"authorization": f"Bearer {token}"}


def _pending(dapr: FakeDapr) -> list[dict[str, Any]]:
    return [
        v
        for store in ("tasks", "kv")
        for v, _ in dapr.state(store).rows.values()
        if isinstance(v, dict) and v.get("kind") == PENDING
    ]


def _event(user: str, n: int) -> ListCreated:
    snap = ListSnapshot(
        id=f"l{n}",
        name=f"list {n}",
        owner_id=user,
        members=[Member(user_id=user, username=user, role="owner")],
        created_at=NOW,
        updated_at=NOW,
    )
    return ListCreated(user_id=user, list_id=snap.id, tasklist=snap, occurred_at=NOW)


async def _commit(outbox: Outbox, dapr: FakeDapr, event: ListCreated, at: datetime = NOW) -> Any:
    op, item = outbox.pending("kv", event, at, members=[event.user_id])
    await dapr.state("kv").transact([op])
    return item


def test_each_write_commits_its_event_row_and_the_relay_publishes_it_keyed() -> None:
    client, dapr, auth = _app()
    made = client.post(f"{API}/tasks", json={"title": "report"}, headers=auth)
    assert made.status_code == 201
    (row,) = _pending(dapr)  # in the same transaction as the task: the event waits
    assert row["event"]["task_id"] == made.json()["id"]
    relay(client)
    assert _pending(dapr) == []
    (event,) = [m for m in dapr.publisher.messages if m.topic == "task-events"][-1:]
    assert event.data["type"] == "task.created"
    assert event.partition_key == event.data["user_id"]  # keyed by the actor
    (copy,) = [m for m in dapr.publisher.messages if m.topic == "task-updates"][-1:]
    assert copy.partition_key == copy.data["recipient"] == event.data["user_id"]


def test_the_etag_is_the_version_and_needs_no_read_after_the_write() -> None:
    client, dapr, auth = _app()
    made = client.post(f"{API}/tasks", json={"title": "report"}, headers=auth)
    assert made.headers["etag"] == '"1"'
    tasks = dapr.state("tasks")
    before = tasks.transactions
    done = client.post(
        f"{API}/tasks/{made.json()['id']}/complete", headers=auth | {"if-match": '"1"'}
    )
    assert done.status_code == 200
    assert done.headers["etag"] == '"2"'
    assert tasks.transactions == before + 1  # row + stamp + event row: one transaction
    stale = client.patch(
        f"{API}/tasks/{made.json()['id']}",
        json={"title": "x"},
        headers=auth | {"if-match": '"1"'},
    )
    assert stale.status_code == 412


def test_a_failed_write_leaves_nothing_and_delays_nothing() -> None:
    client, dapr, auth = _app()
    bad = client.post(f"{API}/tasks", json={"title": "a\x00b"}, headers=auth)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "title"
    far = client.post(
        f"{API}/tasks", json={"title": "x", "due_at": "2300-01-01T00:00:00Z"}, headers=auth
    )
    assert far.status_code == 422
    assert far.json()["error"]["details"][0]["field"] == "due_at"
    assert _pending(dapr) == []
    assert not [k for k in dapr.state("tasks").rows if "task|" in k]
    ids = [
        client.post(f"{API}/tasks", json={"title": f"t{i}"}, headers=auth).json()["id"]
        for i in range(5)
    ]
    relay(client)
    published = [m.data.get("task_id") for m in dapr.publisher.messages if m.topic == "task-events"]
    assert published[-5:] == ids  # in commit order


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "ok", "description": "lone \\ud800 surrogate"}',
        {"title": "ok", "tags": ["a\x00"]},
        {"title": "ok", "recurrence": {"frequency": "daily", "until": "1969-12-31T00:00:00Z"}},
        {"title": "ok", "recurrence": {"rrule": "FREQ=DAILY;UNTIL=22010101"}},
        {"title": "ok", "reminders": [{"at": "2201-01-01T00:00:00Z"}]},
    ],
)
def test_unstorable_input_is_refused_at_the_edge(body: dict[str, Any] | str) -> None:
    client, dapr, auth = _app()
    if isinstance(body, str):  # JSON escapes that decode to what UTF-8 cannot carry
        resp = client.post(
            f"{API}/tasks", content=body, headers=auth | {"content-type": "application/json"}
        )
    else:
        resp = client.post(f"{API}/tasks", json=body, headers=auth)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"][0]["field"]
    assert _pending(dapr) == []


def test_a_broker_outage_holds_the_batch_and_loses_nothing() -> None:
    client, dapr, auth = _app()
    outbox: Outbox = client.app.state.outbox  # type: ignore[attr-defined]
    dapr.publisher.failing = RuntimeError("kafka away")
    ids = [
        client.post(f"{API}/tasks", json={"title": f"t{i}"}, headers=auth).json()["id"]
        for i in range(20)
    ]  # writes stay up
    with pytest.raises(RuntimeError):
        asyncio.run(outbox.relay_once())
    assert outbox.backlog == 20
    assert len(_pending(dapr)) == 20
    dapr.publisher.failing = None
    relay(client)
    published = [m.data.get("task_id") for m in dapr.publisher.messages if m.topic == "task-events"]
    assert published[-20:] == ids
    assert _pending(dapr) == []


async def test_an_overflowing_queue_hands_over_to_the_sweeper_in_commit_order() -> None:
    dapr = FakeDapr()
    outbox = Outbox(
        {"kv": dapr.state("kv")}, dapr.state("kv"), dapr.publisher, owner="r1", max_queue=3
    )
    events = [_event("u1", n) for n in range(8)]
    for n, event in enumerate(events):
        outbox.committed(await _commit(outbox, dapr, event, NOW + timedelta(milliseconds=n)))
    assert outbox.backlog == 3
    assert outbox.stats.overflowed == 1
    await outbox.drain()
    # The store is the queue now, even for rows younger than the grace period.
    assert await outbox.sweep(NOW) == 5
    published = [m.data["list_id"] for m in dapr.publisher.messages if m.topic == "task-events"]
    assert published == [e.list_id for e in events]
    assert _pending(dapr) == []
    outbox.committed(await _commit(outbox, dapr, _event("u1", 9)))
    assert outbox.backlog == 1  # back to the queue


async def test_the_sweeper_takes_what_a_crash_left_and_leaves_live_replicas_alone() -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    old_life = Outbox({"kv": kv}, kv, dapr.publisher, owner="pod-a")
    other = Outbox({"kv": kv}, kv, dapr.publisher, owner="pod-b")
    dead = Outbox({"kv": kv}, kv, dapr.publisher, owner="pod-c")
    mine = [await _commit(old_life, dapr, _event("u1", n)) for n in range(3)]  # then: crash
    await _commit(other, dapr, _event("u2", 10))
    await _commit(dead, dapr, _event("u3", 20), NOW + timedelta(seconds=1))
    await other.heartbeat(NOW + timedelta(seconds=29))  # pod-b is alive
    await dead.heartbeat(NOW)  # pod-c stopped beating 30 s ago
    restarted = Outbox({"kv": kv}, kv, dapr.publisher, owner="pod-a")
    later = NOW + timedelta(seconds=30)
    assert await restarted.sweep(later, startup=True) == 4
    published = [m.data for m in dapr.publisher.messages if m.topic == "task-events"]
    # Oldest first, each user in commit order (users' batches interleave).
    assert [e["list_id"] for e in published if e["user_id"] == "u1"] == [
        p.event.list_id for p in mine
    ]
    assert sorted(e["list_id"] for e in published) == ["l0", "l1", "l2", "l20"]
    assert [r["event"]["list_id"] for r in _pending(dapr)] == ["l10"]  # pod-b's own


async def test_a_row_cleared_while_the_sweeper_reads_is_not_published_again() -> None:
    """The sweeper's query can still see a row the relay has published and is deleting;
    that delete may finish before the sweeper looks at the row."""
    dapr = FakeDapr()
    kv = dapr.state("kv")
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1")
    outbox.committed(await _commit(outbox, dapr, _event("u1", 1)))
    release = asyncio.Event()
    transact = kv.transact

    async def slow_delete(ops: list[StateOp]) -> None:
        await release.wait()
        await transact(ops)

    kv.transact = slow_delete  # type: ignore[method-assign]
    assert await outbox.relay_once() == 1  # published; its row is being cleared
    read = kv.query

    async def query_then_clear(query: dict[str, Any]) -> tuple[list[StateItem], str | None]:
        found = await read(query)  # still sees the row
        release.set()
        await asyncio.sleep(0.01)  # the delete finishes meanwhile
        return found

    kv.query = query_then_clear  # type: ignore[method-assign]
    assert await outbox.sweep(NOW + timedelta(seconds=10)) == 0
    await outbox.drain()
    assert len(dapr.publisher.on("task-events")) == 1
    assert _pending(dapr) == []


async def test_a_failed_clear_is_retried_before_the_sweeper_would_publish_again() -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1")
    outbox.committed(await _commit(outbox, dapr, _event("u1", 1)))
    transact, failures = kv.transact, [EtagMismatch("store busy")]

    async def flaky(ops: list[StateOp]) -> None:
        if failures:
            raise failures.pop()
        await transact(ops)

    kv.transact = flaky  # type: ignore[method-assign]
    await outbox.drain()
    assert _pending(dapr) == []
    assert await outbox.sweep(NOW + timedelta(seconds=10)) == 0
    assert len(dapr.publisher.on("task-events")) == 1


async def test_a_row_committed_a_moment_ago_is_left_to_its_request() -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1")
    await _commit(outbox, dapr, _event("u1", 1))
    assert await outbox.sweep(NOW + timedelta(seconds=1)) == 0  # its request relays it
    assert await outbox.sweep(NOW + timedelta(seconds=10)) == 1  # it never did


async def test_a_held_relay_publishes_nothing_until_released() -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    held = [True]
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1", held=lambda: held[0])
    outbox.committed(await _commit(outbox, dapr, _event("u1", 1)))
    runner = asyncio.create_task(outbox.run(timedelta(seconds=0.05)))
    await asyncio.sleep(0.2)
    assert dapr.publisher.messages == []
    held[0] = False
    for _ in range(50):
        await asyncio.sleep(0.02)
        if dapr.publisher.on("task-events") and not _pending(dapr):
            break
    runner.cancel()
    assert [parse_event(m).list_id for m in dapr.publisher.on("task-events")] == ["l1"]
    assert _pending(dapr) == []


async def test_a_transaction_that_fails_adds_no_row() -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1")
    await kv.save("taken", 1)
    op, _ = outbox.pending("kv", _event("u1", 1), NOW, members=["u1"])
    with pytest.raises(EtagMismatch):
        await kv.transact([StateOp.insert("taken", 2), op])
    assert _pending(dapr) == []


def test_a_write_on_one_replica_reaches_another_replicas_search() -> None:
    """Two todo-api replicas over one store: each search cache keeps up with the other's
    writes once the writer's renewer replaced the list's stamp (milliseconds later)."""
    client_a, dapr, auth = _app()
    client_b = TestClient(create_app(dapr=dapr))  # a second replica, same sidecar state
    assert client_b.get(f"{API}/tasks", headers=auth).json()["total"] == 0  # B caches
    client_a.post(f"{API}/tasks", json={"title": "from a"}, headers=auth)
    assert client_a.get(f"{API}/tasks", headers=auth).json()["total"] == 1  # A at once
    cache_a = client_a.app.state.api.service._cache  # type: ignore[attr-defined]
    assert asyncio.run(cache_a.renew()) == 1
    titles = [t["title"] for t in client_b.get(f"{API}/tasks", headers=auth).json()["items"]]
    assert titles == ["from a"]
    client_b.post(f"{API}/tasks", json={"title": "from b"}, headers=auth)
    cache_b = client_b.app.state.api.service._cache  # type: ignore[attr-defined]
    asyncio.run(cache_b.renew())
    assert client_a.get(f"{API}/tasks", headers=auth).json()["total"] == 2


def test_a_task_change_reaches_the_members_of_its_list_when_it_is_sent() -> None:
    client, dapr, auth = _app()
    me = client.get(f"{API}/me", headers=auth).json()["id"]
    made = client.post(f"{API}/tasks", json={"title": "x"}, headers=auth).json()
    relay(client)
    sent = [m for m in dapr.publisher.messages if m.data.get("task_id") == made["id"]]
    assert [(m.topic, m.partition_key) for m in sent] == [("task-events", me), ("task-updates", me)]


def test_the_relay_publishes_each_event_in_the_trace_of_its_request(
    spans: InMemorySpanExporter,
) -> None:
    client, dapr, auth = _app()
    made = client.post(f"{API}/tasks", json={"title": "report"}, headers=auth)
    request_trace = made.headers["traceparent"].split("-")[1]
    (row,) = _pending(dapr)  # a sweeper after a crash publishes it in the same trace
    assert row["traceparent"].split("-")[1] == request_trace
    relay(client)  # later, outside the request, as the relay does
    published = [m for m in dapr.publisher.messages if m.data.get("task_id") == made.json()["id"]]
    assert {m.topic for m in published} == {"task-events", "task-updates"}
    producers = {
        f"{s.context.span_id:016x}": s
        for s in spans.get_finished_spans()
        if s.name in {"publish task-events", "publish task-updates"} and s.context is not None
    }
    for message in published:
        _, trace_id, span_id, _ = message.traceparent.split("-")
        # Consumers continue the trace of the request, from its publish span.
        assert trace_id == request_trace
        # One span per message and topic, named as the consumer's `consume <topic>`.
        assert producers[span_id].name == f"publish {message.topic}"


async def test_a_swept_row_is_published_in_the_trace_that_committed_it(
    spans: InMemorySpanExporter,
) -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    crashed = Outbox({"kv": kv}, kv, dapr.publisher, owner="pod-a")
    with trace.get_tracer("t").start_as_current_span("POST /api/v1/lists") as request:
        await _commit(crashed, dapr, _event("u1", 1))  # then the replica dies
    restarted = Outbox({"kv": kv}, kv, dapr.publisher, owner="pod-a")
    assert await restarted.sweep(NOW + timedelta(seconds=30), startup=True) == 1
    (message,) = [m for m in dapr.publisher.messages if m.topic == "task-events"]
    assert message.traceparent.split("-")[1] == f"{request.get_span_context().trace_id:032x}"


async def test_a_batch_holds_one_event_per_kafka_key() -> None:
    """A bulk publish may land out of order when the broker fails (Dapr's producer has
    several requests in flight): a user's next event waits for the next batch."""
    dapr = FakeDapr()
    outbox = Outbox({"kv": dapr.state("kv")}, dapr.state("kv"), dapr.publisher, owner="r1")
    events = [_event(u, n) for n, u in enumerate(["u1", "u2", "u1", "u3", "u1"])]
    for event in events:
        outbox.committed(await _commit(outbox, dapr, event))
    # u3's event does not wait behind u1's second one; u1's keep their order.
    assert [await outbox.relay_once() for _ in range(4)] == [3, 1, 1, 0]
    await outbox.drain()  # the rows' clearing overlaps the next batch
    published = [m.data["list_id"] for m in dapr.publisher.messages if m.topic == "task-events"]
    assert published == ["l0", "l1", "l3", "l2", "l4"]
    assert _pending(dapr) == []
    assert outbox.backlog == 0


def test_a_batch_takes_every_key_once_and_keeps_each_keys_order() -> None:
    """Items whose keys overlap (a member's copies) wait together; the rest go."""
    from functions.todo_api.outbox import Pending, _one_per_key

    def item(user: str, n: int, members: tuple[str, ...]) -> Pending:
        return Pending("kv", _event(user, n), members, (), "t", n)

    queue = [
        item("u1", 0, ("u1", "m")),
        item("u2", 1, ("u2", "m")),  # m's copy is taken: waits, and so does u2
        item("u2", 2, ("u2",)),
        item("u3", 3, ("u3",)),
        item("u1", 4, ("u1",)),
    ]
    assert [p.seq for p in _one_per_key(queue, 10, 10)] == [0, 3]
    assert [p.seq for p in _one_per_key(queue, 1, 10)] == [0]
    assert [p.seq for p in _one_per_key(queue, 10, 2)] == [0]


async def test_a_slow_copy_lane_does_not_hold_up_task_events() -> None:
    """task-events and the members' copies are two lanes: while the membership read
    behind the copies hangs, each user's events still reach task-events in order; the
    copies follow, in order, and only then are the rows cleared."""
    dapr = FakeDapr()
    kv = dapr.state("kv")
    release = asyncio.Event()

    async def audience(lists: list[str]) -> dict[str, list[str]]:
        await release.wait()
        return {x: ["m"] for x in lists}

    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1", audience=audience)
    runner = asyncio.create_task(outbox.run(timedelta(seconds=30)))
    events = [_event("u1", n) for n in range(3)]
    for event in events:  # one at a time: each is its own batch on task-events
        op, item = outbox.pending("kv", event, NOW, lists=[event.list_id])
        await kv.transact([op])
        outbox.committed(item)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(dapr.publisher.on("task-events")) == events.index(event) + 1:
                break
    try:
        assert [m["list_id"] for m in dapr.publisher.on("task-events")] == ["l0", "l1", "l2"]
        assert dapr.publisher.on("task-updates") == []
        assert len(_pending(dapr)) == 3  # not cleared before the copies went
        release.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not _pending(dapr):
                break
        copies = [m for m in dapr.publisher.messages if m.topic == "task-updates"]
        assert [(m.data["list_id"], m.partition_key) for m in copies] == [
            ("l0", "m"),
            ("l1", "m"),
            ("l2", "m"),
        ]
        assert _pending(dapr) == []
        assert outbox.backlog == 0
    finally:
        runner.cancel()


async def test_rows_of_several_batches_are_deleted_in_one_transaction() -> None:
    dapr = FakeDapr()
    kv = dapr.state("kv")
    outbox = Outbox({"kv": kv}, kv, dapr.publisher, owner="r1")
    for n in range(5):  # one user: one event per batch
        outbox.committed(await _commit(outbox, dapr, _event("u1", n)))
    before = kv.transactions
    assert [await outbox.relay_once() for _ in range(6)] == [1, 1, 1, 1, 1, 0]
    await outbox.drain()
    assert _pending(dapr) == []
    assert kv.transactions - before == 1
