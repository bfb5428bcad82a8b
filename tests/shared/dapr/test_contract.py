"""One contract for the Dapr interfaces taskwave uses, run against the in-memory `FakeDapr`
and against a real daprd (integration: the session's stack, todo-api's sidecar), so that
the fake every unit test stands on cannot drift from Dapr.

State (kv, PostgreSQL behind daprd): values, ETags and first-write concurrency on save,
delete and transaction, all-or-nothing transactions, bulk get, the Query API's filters,
sort and paging. Pub/sub: partition keys, the CloudEvent id and trace parent a publish
and a bulk publish carry. Invocation: the callee's status and body come back as they
are, query parameters arrive. Rows are written under a fresh prefix and `kind`, and
messages go to a topic made for the run, so nothing else on the stack sees them.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.dapr import Dapr, EtagMismatch, InvokeResponse, Refused, StateOp, StateStore
from shared.dapr.fake import FakeDapr
from shared.events import TaskCreated, TaskSnapshot
from tests.sidecar import FROM_SIDECAR

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@dataclass
class Seen:
    """One published message as a consumer gets it."""

    key: str | None
    data: dict[str, Any]
    cloudevent_id: str | None
    traceparent: str


@dataclass
class Backend:
    name: str
    dapr: Dapr
    store: StateStore
    prefix: str  # every key this test writes starts with it
    kind: str  # and every row carries it, for the Query API
    topic: str
    # The first `count` messages published on `topic` since `listen` was called.
    published: Callable[[int], Awaitable[list[Seen]]]
    # Called before a test publishes: makes the topic and starts reading it.
    listen: Callable[[], Awaitable[None]]
    # An app to invoke: the real audit app, behind daprd or in process.
    app_id: str = "audit"

    def key(self, name: str) -> str:
        return f"{self.prefix}|{name}"


def _in_process(app: Any, caller: str) -> Callable[..., Awaitable[InvokeResponse]]:
    """A FakeInvoker route into a Starlette app, with the headers daprd adds."""

    async def route(method: str, path: str, body: Any, headers: dict[str, str]) -> InvokeResponse:
        sent = {**headers, **FROM_SIDECAR, "dapr-caller-app-id": caller}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            resp = await client.request(method, "/" + path.lstrip("/"), json=body, headers=sent)
        try:
            answer: Any = resp.json() if resp.content else None
        except ValueError:
            answer = resp.text
        return InvokeResponse(resp.status_code, answer, dict(resp.headers))

    return route


async def _fake() -> AsyncGenerator[Backend, None]:
    from functions.audit.app import create_app
    from functions.audit.settings import Settings

    dapr = FakeDapr()
    dapr.invoker.apps["audit"] = _in_process(create_app(Settings(), FakeDapr()), "todo-api")
    run = uuid.uuid4().hex[:8]
    topic = f"contract-{run}"

    async def published(count: int) -> list[Seen]:
        return [
            Seen(m.partition_key, m.data, m.cloudevent_id, m.traceparent)
            for m in dapr.publisher.messages
            if m.topic == topic
        ][:count]

    async def listen() -> None:
        return None  # every publish is recorded from the start

    kv = dapr.state("kv")
    yield Backend("fake", dapr, kv, f"contract-{run}", f"contract.{run}", topic, published, listen)


async def _sidecar(request: pytest.FixtureRequest) -> AsyncGenerator[Backend, None]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    stack = request.getfixturevalue("stack")
    sidecar = request.getfixturevalue("sidecars")["todo-api"]
    run = uuid.uuid4().hex[:8]
    topic = f"contract-{run}"
    bootstrap = stack.config.kafka_bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    made: list[Consumer] = []
    records: list[Any] = []

    def make_topic() -> None:
        """The topic, once every partition has a leader; read from its very start."""
        for future in admin.create_topics([NewTopic(topic, 3, 1)]).values():
            future.result(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = admin.list_topics(topic, timeout=10).topics[topic].partitions
            if len(parts) == 3 and all(p.leader >= 0 for p in parts.values()):
                break
            time.sleep(0.2)
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": topic, "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
        made.append(consumer)

    def poll(count: int) -> None:
        deadline = time.monotonic() + 60
        while len(records) < count and time.monotonic() < deadline:
            msg = made[0].poll(0.2)
            if msg is not None and not msg.error():
                records.append(msg)

    async def listen() -> None:
        await asyncio.to_thread(make_topic)

    async def published(count: int) -> list[Seen]:
        await asyncio.to_thread(poll, count)
        seen = []
        for msg in sorted(records, key=lambda m: m.timestamp()[1])[:count]:
            envelope = json.loads(msg.value() or b"{}")
            key = msg.key()
            seen.append(
                Seen(
                    key.decode() if key is not None else None,
                    envelope.get("data") or {},
                    envelope.get("id"),
                    str(envelope.get("traceparent", "")),
                )
            )
        return seen

    try:
        yield Backend(
            "sidecar",
            sidecar,
            sidecar.state("kv"),
            f"contract-{run}",
            f"contract.{run}",
            topic,
            published,
            listen,
        )
    finally:
        if made:
            made[0].close()
            for future in admin.delete_topics([topic]).values():
                future.result(30)


@pytest.fixture(
    params=["fake", pytest.param("sidecar", marks=pytest.mark.integration)],
)
async def dapr(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    made = _fake() if request.param == "fake" else _sidecar(request)
    backend = await anext(made)
    yield backend
    await made.aclose()


# -- state: values and ETags -------------------------------------------------------------


async def test_a_saved_value_reads_back_with_an_etag_that_changes_on_every_write(
    dapr: Backend,
) -> None:
    kv, key = dapr.store, dapr.key("a")
    assert await kv.get(key) is None
    await kv.save(key, {"n": 1, "text": "é|ü", "nested": {"list": [1, None, True]}})
    first = await kv.get(key)
    assert first is not None
    assert first.etag
    assert first.value == {"n": 1, "text": "é|ü", "nested": {"list": [1, None, True]}}
    await kv.save(key, {"n": 2})
    second = await kv.get(key)
    assert second is not None
    assert second.value == {"n": 2}
    assert second.etag
    assert second.etag != first.etag


async def test_a_save_with_a_stale_etag_fails_and_changes_nothing(dapr: Backend) -> None:
    kv, key = dapr.store, dapr.key("b")
    await kv.save(key, {"v": 1})
    stale = await kv.get(key)
    assert stale is not None
    await kv.save(key, {"v": 2}, etag=stale.etag)
    with pytest.raises(EtagMismatch):
        await kv.save(key, {"v": 3}, etag=stale.etag)
    now = await kv.get(key)
    assert now is not None
    assert now.value == {"v": 2}


async def test_of_two_writers_with_the_same_etag_exactly_one_wins(dapr: Backend) -> None:
    kv, key = dapr.store, dapr.key("race")
    await kv.save(key, {"by": None})
    base = await kv.get(key)
    assert base is not None
    results = await asyncio.gather(
        *(kv.save(key, {"by": who}, etag=base.etag) for who in ("x", "y")),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["EtagMismatch", "NoneType"]
    winner = "x" if results[0] is None else "y"
    after = await kv.get(key)
    assert after is not None
    assert after.value == {"by": winner}


async def test_delete_honours_the_etag_and_a_missing_key_is_no_error(dapr: Backend) -> None:
    kv, key = dapr.store, dapr.key("d")
    await kv.save(key, {"v": 1})
    stale = await kv.get(key)
    assert stale is not None
    await kv.save(key, {"v": 2})
    with pytest.raises(EtagMismatch):
        await kv.delete(key, etag=stale.etag)
    current = await kv.get(key)
    assert current is not None
    await kv.delete(key, etag=current.etag)
    assert await kv.get(key) is None
    await kv.delete(key)  # already gone: nothing to do


async def test_create_and_insert_write_only_what_is_not_there(dapr: Backend) -> None:
    kv = dapr.store
    for write in (kv.create, kv.insert):
        key = dapr.key(f"new-{write.__name__}")
        assert await write(key, {"v": 1}) is True
        assert await write(key, {"v": 2}) is False
        kept = await kv.get(key)
        assert kept is not None
        assert kept.value == {"v": 1}


async def test_bulk_get_returns_what_exists_with_the_etags_get_returns(dapr: Backend) -> None:
    kv = dapr.store
    keys = [dapr.key(f"bulk-{i}") for i in range(3)]
    for i, key in enumerate(keys[:2]):
        await kv.save(key, {"i": i})
    found = {i.key: i for i in await kv.get_bulk(keys)}
    assert set(found) == set(keys[:2])
    for key in keys[:2]:
        single = await kv.get(key)
        assert single is not None
        assert (found[key].value, found[key].etag) == (single.value, single.etag)
    assert await kv.get_bulk([]) == []


# -- state: transactions -----------------------------------------------------------------


async def test_text_the_store_cannot_hold_is_refused_and_nothing_is_written(
    dapr: Backend,
) -> None:
    """U+0000 (PostgreSQL's JSONB refuses it): Refused, not a plain DaprError, so a
    consumer can tell it from an outage; a transaction holding it writes nothing."""
    kv = dapr.store
    fine, bad = dapr.key("nul-fine"), dapr.key("nul-bad")
    with pytest.raises(Refused):
        await kv.transact([StateOp.insert(fine, {"v": 1}), StateOp.insert(bad, {"t": "a\x00b"})])
    for write in (kv.save, kv.create, kv.insert):
        with pytest.raises(Refused):
            await write(bad, {"t": "a\x00b"})
    assert await kv.get_bulk([fine, bad]) == []


async def test_a_transaction_applies_every_operation(dapr: Backend) -> None:
    kv = dapr.store
    gone, kept, new = dapr.key("t-gone"), dapr.key("t-kept"), dapr.key("t-new")
    await kv.save(gone, {"v": 0})
    await kv.save(kept, {"v": 0})
    current = await kv.get(kept)
    assert current is not None
    await kv.transact(
        [
            StateOp.delete(gone),
            StateOp.upsert(kept, {"v": 1}, current.etag),
            StateOp.insert(new, {"v": 1}),
        ]
    )
    assert await kv.get(gone) is None
    assert [(await kv.get(k)).value for k in (kept, new)] == [{"v": 1}, {"v": 1}]  # type: ignore[union-attr]


@pytest.mark.parametrize("failing", ["stale etag", "insert over a row", "delete stale"])
async def test_a_transaction_with_one_failing_condition_applies_nothing(
    dapr: Backend, failing: str
) -> None:
    kv = dapr.store
    free, guarded = dapr.key(f"f-{failing}"), dapr.key(f"g-{failing}")
    await kv.save(guarded, {"v": 0})
    stale = await kv.get(guarded)
    assert stale is not None
    await kv.save(guarded, {"v": 1})
    bad = {
        "stale etag": StateOp.upsert(guarded, {"v": 2}, stale.etag),
        "insert over a row": StateOp.insert(guarded, {"v": 2}),
        "delete stale": StateOp.delete(guarded, stale.etag),
    }[failing]
    with pytest.raises(EtagMismatch):
        await kv.transact([StateOp.upsert(free, {"v": 1}), bad])
    assert await kv.get(free) is None
    after = await kv.get(guarded)
    assert after is not None
    assert after.value == {"v": 1}


# -- state: the Query API ----------------------------------------------------------------


async def _rows(dapr: Backend, n: int) -> None:
    for i in range(n):
        await dapr.store.save(
            dapr.key(f"q-{i}"),
            {"kind": dapr.kind, "group": "even" if i % 2 == 0 else "odd", "at": f"2026-{i:02d}"},
        )


async def _all_pages(dapr: Backend, flt: dict[str, Any], limit: int) -> list[list[str]]:
    """Every page of a query sorted by `at` descending, each as its `at` values."""
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        page: dict[str, Any] = {"limit": limit}
        if token:
            page["token"] = token
        items, token = await dapr.store.query(
            {"filter": flt, "sort": [{"key": "at", "order": "DESC"}], "page": page}
        )
        pages.append([i.value["at"] for i in items])
        # Dapr's PostgreSQL store always returns a token: a short page is the end.
        if not token or len(items) < limit:
            return pages


async def test_query_filters_sorts_and_pages_without_repeating_or_skipping(
    dapr: Backend,
) -> None:
    await _rows(dapr, 7)
    mine = {"EQ": {"kind": dapr.kind}}
    everything = sorted((f"2026-{i:02d}" for i in range(7)), reverse=True)
    assert await _all_pages(dapr, mine, 3) == [everything[:3], everything[3:6], everything[6:]]
    even = {"AND": [mine, {"EQ": {"group": "even"}}]}
    assert await _all_pages(dapr, even, 10) == [[f"2026-{i:02d}" for i in (6, 4, 2, 0)]]
    some = {"AND": [mine, {"IN": {"at": ["2026-01", "2026-05", "2099-01"]}}]}
    assert await _all_pages(dapr, some, 10) == [["2026-05", "2026-01"]]
    items, _ = await dapr.store.query({"filter": {"EQ": {"kind": dapr.kind}}, "page": {"limit": 1}})
    (item,) = items
    single = await dapr.store.get(item.key)
    assert single is not None
    assert (item.value, item.etag) == (single.value, single.etag)


# -- pub/sub -----------------------------------------------------------------------------


def _event(title: str) -> TaskCreated:
    task = TaskSnapshot(id="t1", list_id="l1", title=title, created_at=NOW, updated_at=NOW)
    return TaskCreated(user_id="u1", list_id="l1", task_id="t1", task=task, occurred_at=NOW)


async def test_publish_carries_the_partition_key_and_our_cloudevent_id(dapr: Backend) -> None:
    await dapr.listen()
    pub = dapr.dapr.publisher
    event = _event("one")
    await pub.publish(dapr.topic, event, partition_key="u1")
    await pub.publish(dapr.topic, {"plain": True}, partition_key="k2", cloudevent_id="ce-2")
    first, second = await dapr.published(2)
    assert (first.key, first.data) == ("u1", event.model_dump(mode="json"))
    # An event's envelope has the event's own id: consumers dedupe either way.
    assert first.cloudevent_id == str(event.event_id)
    assert (second.key, second.data, second.cloudevent_id) == ("k2", {"plain": True}, "ce-2")


async def test_bulk_publish_keeps_each_messages_key_and_trace(dapr: Backend) -> None:
    await dapr.listen()
    pub = dapr.dapr.publisher
    events = [_event(f"bulk {i}") for i in range(3)]
    await pub.publish_many(
        dapr.topic, [(e, f"key-{i}") for i, e in enumerate(events)], traceparents=[TP, TP, TP]
    )
    seen = await dapr.published(3)
    by_id = {s.cloudevent_id: s for s in seen}
    assert set(by_id) == {str(e.event_id) for e in events}
    for i, e in enumerate(events):
        got = by_id[str(e.event_id)]
        assert (got.key, got.data, got.traceparent) == (f"key-{i}", e.model_dump(mode="json"), TP)
    with pytest.raises(ValueError, match="traceparents"):
        await pub.publish_many(dapr.topic, [({"a": 1}, None)], traceparents=[TP, TP])
    await pub.publish_many(dapr.topic, [])


# -- service invocation ------------------------------------------------------------------


async def test_invoke_returns_the_callees_answer_whatever_its_status(dapr: Backend) -> None:
    invoker = dapr.dapr.invoker
    ok = await invoker.invoke(
        dapr.app_id,
        "internal/v1/audit",
        http_method="GET",
        params={"user_id": f"nobody-{dapr.prefix}", "limit": "5"},
    )
    assert (ok.status, ok.body) == (200, {"items": [], "next_cursor": None})
    bad = await invoker.invoke(
        dapr.app_id, "internal/v1/audit", http_method="GET", params={"user_id": "x", "limit": "0"}
    )
    assert bad.status == 422
    assert bad.body["error"]["details"][0]["field"] == "limit"
    missing = await invoker.invoke(dapr.app_id, "no/such/route", http_method="GET")
    assert missing.status == 404
