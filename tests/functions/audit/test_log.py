"""GET /internal/v1/audit: the events of the caller's lists (todo-api names them) in
(occurred_at, event_id) order, paged, stored once. Who may ask, and the 422s:
tests/functions/test_internal_listings.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from functions.audit.app import create_app
from functions.audit.service import ENTRY, AuditLog, event_key
from functions.audit.settings import Settings
from shared.dapr.fake import FakeDapr
from shared.events import Event, MemberAdded, TaskCreated, TaskUpdated
from shared.paging import BadCursor, SortKey, query_page
from shared.web.pubsub import Delivery
from tests.factories import list_snapshot, reminder_due, task_event, task_snapshot
from tests.sidecar import bulk_delivery, cloudevent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
TOKEN = "app-token-of-the-unit-tests"
TODO_API = {"dapr-caller-app-id": "todo-api", "dapr-api-token": TOKEN}


def _setup() -> tuple[TestClient, FakeDapr]:
    dapr = FakeDapr()
    return TestClient(
        create_app(Settings(app_api_token=SecretStr(TOKEN)), dapr),
        headers={"dapr-api-token": TOKEN},
    ), dapr


def _cloudevent(event: Event, topic: str = "task-events") -> dict[str, Any]:
    return cloudevent(event, topic, ce_id=str(event.event_id))


def _task_event(
    user: str, task: str, second: float, list_id: str = "l1", **extra: Any
) -> TaskUpdated:
    at = NOW + timedelta(seconds=second)
    snapshot = task_snapshot(task, list_id, at=NOW, updated_at=at)
    return task_event(TaskUpdated, snapshot, user_id=user, occurred_at=at, **extra)


def _deliver(client: TestClient, event: Event, topic: str = "task-events") -> None:
    # Bulk subscriptions, both (dapr/subscriptions/audit.yaml).
    body = bulk_delivery(_cloudevent(event, topic), topic=topic)
    resp = client.post(f"/events/{topic}", json=body)
    assert resp.json() == {"statuses": [{"entryId": "0", "status": "SUCCESS"}]}


def _get(client: TestClient, user_id: str = "alice", **params: Any) -> Any:
    """`list_ids`: the lists todo-api says the caller is in; `user_id` filters nothing."""
    params = {"user_id": user_id} | params
    resp = client.get("/internal/v1/audit", params=params, headers=TODO_API)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _walk(
    client: TestClient, limit: int, cursor: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        body = _get(client, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_entries_keep_filterable_fields_beside_the_event() -> None:
    client, dapr = _setup()
    event = _task_event("alice", "t1", 0.5)
    _deliver(client, event)
    entry = dapr.state("kv").rows[event_key(str(event.event_id))][0]
    assert entry["kind"] == ENTRY
    assert (entry["user_id"], entry["task_id"], entry["list_id"]) == ("alice", "t1", "l1")
    assert entry["occurred_at"] == "2026-05-01T12:00:00.500000Z"  # fixed width: sorts as text
    assert entry["event"] == event.model_dump(mode="json")


def test_each_listed_event_says_when_audit_recorded_it() -> None:
    """`recorded_at` beside the event as published: when audit stored it (the event's
    own time is `occurred_at`), e.g. for measuring how far audit is behind."""
    client, _ = _setup()
    event = _task_event("alice", "t1", 0)
    before = datetime.now(UTC)
    _deliver(client, event)
    after = datetime.now(UTC)
    [item] = _get(client, list_ids="l1")["items"]
    assert before <= datetime.fromisoformat(item.pop("recorded_at")) <= after
    assert item == event.model_dump(mode="json")


def test_a_lists_events_come_in_time_order_whatever_the_arrival_order() -> None:
    client, _ = _setup()
    events = [_task_event("alice", "t1", s) for s in (3, 1, 2, 0)]
    for event in events:
        _deliver(client, event)
    body = _get(client, list_ids="l1")
    assert [i["occurred_at"] for i in body["items"]] == [
        (NOW + timedelta(seconds=s)).isoformat().replace("+00:00", "Z") for s in (0, 1, 2, 3)
    ]
    assert body["next_cursor"] is None


def test_equal_times_are_ordered_by_event_id() -> None:
    client, _ = _setup()
    ids = sorted(str(uuid.uuid4()) for _ in range(4))
    for event_id in reversed(ids):
        _deliver(client, _task_event("alice", "t1", 1, event_id=event_id))
    assert [i["event_id"] for i in _walk(client, 3, list_ids="l1")] == ids


def test_a_redelivery_adds_nothing() -> None:
    client, dapr = _setup()
    event = _task_event("alice", "t1", 0)
    for _ in range(3):
        _deliver(client, event)
    assert len(_get(client, list_ids="l1")["items"]) == 1
    assert len(dapr.state("kv").rows) == 1


def test_reminder_events_are_listed_with_task_events() -> None:
    client, _ = _setup()
    created = task_event(TaskCreated, task_snapshot(at=NOW), user_id="alice", occurred_at=NOW)
    fire_at = NOW + timedelta(minutes=1)
    due = reminder_due(user_id="alice", fire_at=fire_at, occurred_at=fire_at)
    _deliver(client, due, "reminders")
    _deliver(client, created)
    items = _get(client, list_ids="l1", task_id="t1")["items"]
    assert [i["type"] for i in items] == ["task.created", "reminder.due"]


@pytest.mark.parametrize("limit", [1, 2, 5, 12, 500])
def test_pages_cover_everything_once(limit: int) -> None:
    client, _ = _setup()
    for s in range(12):
        _deliver(client, _task_event("alice", f"t{s % 3}", s))
    items = _walk(client, limit, list_ids="l1")
    assert [i["occurred_at"] for i in items] == sorted(i["occurred_at"] for i in items)
    assert len({i["event_id"] for i in items}) == 12


def test_an_event_arriving_late_between_pages_repeats_nothing() -> None:
    """The outbox reorders: an older event can be stored after page 1 was served."""
    client, _ = _setup()
    for s in (1, 2, 3, 4):
        _deliver(client, _task_event("alice", "t1", s))
    page1 = _get(client, list_ids="l1", limit=2)
    _deliver(client, _task_event("alice", "t1", 0))  # older than page 1's last entry
    _deliver(client, _task_event("alice", "t1", 5))  # newer: belongs on a later page
    rest = _walk(client, 2, list_ids="l1", cursor=page1["next_cursor"])
    times = [i["occurred_at"] for i in page1["items"] + rest]
    expected = [(NOW + timedelta(seconds=s)).isoformat().replace("+00:00", "Z") for s in (1, 2)]
    assert times[:2] == expected
    assert len(times) == len(set(times)) == 5  # 1..5 once each; 0 is behind the cursor


def test_task_filter_and_isolation_between_lists() -> None:
    client, dapr = _setup()
    for s, (list_id, task) in enumerate([("l1", "t1"), ("l1", "t2"), ("l2", "t3")]):
        _deliver(client, _task_event("alice", task, s, list_id))
    # Rows other apps keep in kv also have a list_id (reminders' notifications): the
    # Query API sees them too.
    asyncio.run(dapr.state("kv").save("fired|x|1|to|alice", {"list_id": "l1", "task_id": "t1"}))
    # Dead letters carry no list: never listed.
    client.post(
        "/events/dead-letters",
        json={"id": "c1", "topic": "task-events-dlq", "data": {"list_id": "l1"}},
    )
    assert [i["task_id"] for i in _get(client, list_ids="l1")["items"]] == ["t1", "t2"]
    assert [i["task_id"] for i in _get(client, list_ids="l1", task_id="t1")["items"]] == ["t1"]
    assert [i["task_id"] for i in _get(client, list_ids="l2")["items"]] == ["t3"]
    assert _get(client, list_ids="l3")["items"] == []


def test_the_events_of_every_named_list_and_of_no_other() -> None:
    client, _ = _setup()
    for s, (user, list_id) in enumerate([("alice", "l1"), ("bob", "l2"), ("carol", "l3")]):
        _deliver(client, _task_event(user, f"t{s}", s, list_id))
    # Membership decides, not who acted: bob's change to l2 is in alice's log.
    items = _get(client, list_ids="l1,l2")["items"]
    assert [(i["list_id"], i["user_id"]) for i in items] == [("l1", "alice"), ("l2", "bob")]
    # ...whichever user asks: todo-api has already turned the caller into lists.
    assert _get(client, user_id="dave", list_ids="l3")["items"][0]["user_id"] == "carol"


def test_a_task_filter_applies_across_the_lists() -> None:
    client, _ = _setup()
    for s, (list_id, task) in enumerate([("l1", "t1"), ("l2", "t2"), ("l1", "t2")]):
        _deliver(client, _task_event("alice", task, s, list_id))
    # t2 moved from l2 to l1: its events are in both lists.
    items = _get(client, list_ids="l1,l2", task_id="t2")["items"]
    assert [(i["list_id"], i["task_id"]) for i in items] == [("l2", "t2"), ("l1", "t2")]


@pytest.mark.parametrize("list_ids", ["", ","])
def test_no_lists_no_entries(list_ids: str) -> None:
    client, _ = _setup()
    _deliver(client, _task_event("alice", "t1", 0))
    assert _get(client, list_ids=list_ids) == {"items": [], "next_cursor": None}


def test_without_list_ids_the_events_the_user_caused() -> None:
    """Callers that name no lists (operators, an older todo-api) get the actor's events."""
    client, _ = _setup()
    for s, (user, list_id) in enumerate([("alice", "l1"), ("bob", "l1"), ("alice", "l2")]):
        _deliver(client, _task_event(user, f"t{s}", s, list_id))
    items = _get(client, user_id="alice")["items"]
    assert [(i["user_id"], i["list_id"]) for i in items] == [("alice", "l1"), ("alice", "l2")]


def _bob_added(second: float) -> MemberAdded:
    at = NOW + timedelta(seconds=second)
    tasklist = list_snapshot("alice", "bob", at=NOW, updated_at=at)
    return MemberAdded(
        user_id="alice",
        list_id="l1",
        tasklist=tasklist,
        member_id="bob",
        role="editor",
        occurred_at=at,
    )


def test_list_events_are_stored_and_listed_with_their_list() -> None:
    client, dapr = _setup()
    added = _bob_added(1)
    _deliver(client, _task_event("alice", "t1", 0))
    _deliver(client, added)
    entry = dapr.state("kv").rows[event_key(str(added.event_id))][0]
    assert (entry["list_id"], entry["member_id"], entry["task_id"]) == ("l1", "bob", None)
    items = _get(client, list_ids="l1")["items"]
    assert [i["type"] for i in items] == ["task.updated", "list.member_added"]
    assert items[1] == added.model_dump(mode="json") | {"recorded_at": entry["recorded_at"]}
    assert _get(client, list_ids="l2")["items"] == []
    # Not a task's event: a task's log leaves it out.
    assert [i["type"] for i in _get(client, list_ids="l1", task_id="t1")["items"]] == [
        "task.updated"
    ]


def test_a_cursor_only_continues_its_own_query() -> None:
    client, _ = _setup()
    for s in range(3):
        _deliver(client, _task_event("alice", "t1", s))
    cursor = _get(client, list_ids="l1", limit=1)["next_cursor"]
    resp = client.get(
        "/internal/v1/audit",
        params={"user_id": "alice", "list_ids": "l2", "cursor": cursor},
        headers=TODO_API,
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "cursor"


async def test_query_page_rejects_tampered_cursors() -> None:
    store = FakeDapr().state("kv")
    sort = (SortKey("a"),)
    for bad in ("!!", "eyJvIjogLTF9", "bnVsbA"):
        with pytest.raises(BadCursor):
            await query_page(store, flt={"EQ": {"k": "x"}}, sort=sort, limit=1, cursor=bad)


def _at(second: float) -> str:
    return (NOW + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")


def test_an_undo_marks_the_entry_it_undid_and_names_it() -> None:
    client, dapr = _setup()
    edit = _task_event("alice", "t1", 1, changed=["title"])
    later = _task_event("alice", "t1", 2)
    # One undo, two events (the fields, then the status): the first names the undoer.
    undo = _task_event("bob", "t1", 3, undoes=edit.event_id)
    status = _task_event("bob", "t1", 3.5, undoes=edit.event_id)
    for event in (edit, later, undo, status, undo):  # and a redelivery
        _deliver(client, event)
    items = {i["event_id"]: i for i in _get(client, list_ids="l1")["items"]}
    assert items[str(edit.event_id)]["undone_by"] == {
        "event_id": str(undo.event_id),
        "type": "task.updated",
        "user_id": "bob",
        "occurred_at": _at(3),
        "task_id": "t1",
        "list_id": "l1",
        "changed": [],
        "title": "x",
    }
    assert items[str(undo.event_id)]["undo_of"] == {
        "event_id": str(edit.event_id),
        "type": "task.updated",
        "user_id": "alice",
        "occurred_at": _at(1),
        "task_id": "t1",
        "list_id": "l1",
        "changed": ["title"],
        "title": "x",
    }
    assert items[str(status.event_id)]["undo_of"]["event_id"] == str(edit.event_id)
    assert "undone_by" not in items[str(later.event_id)]
    assert "undo_of" not in items[str(later.event_id)]
    # Beside the event in its entry: the event itself stays as published.
    stored = dapr.state("kv").rows[event_key(str(edit.event_id))][0]
    assert stored["undone_by"]["event_id"] == str(undo.event_id)
    assert stored["event"] == edit.model_dump(mode="json")


def test_the_links_hold_across_pages_and_tasks() -> None:
    """Undoing a deletion makes a new task: the undo is in another task's history."""
    client, _ = _setup()
    deleted = _task_event("alice", "t1", 1)
    remade = _task_event("alice", "t2", 2, undoes=deleted.event_id)
    for event in (deleted, remade):
        _deliver(client, event)
    [old] = _get(client, list_ids="l1", task_id="t1")["items"]
    [new] = _get(client, list_ids="l1", task_id="t2")["items"]
    assert old["undone_by"]["event_id"] == str(remade.event_id)
    assert (new["undo_of"]["event_id"], new["undo_of"]["task_id"]) == (
        str(deleted.event_id),
        "t1",
    )
    first, second = _walk(client, 1, list_ids="l1")
    assert first["undone_by"]["task_id"] == "t2"
    assert second["undo_of"]["task_id"] == "t1"


def test_links_to_a_list_the_caller_is_not_in_are_left_out() -> None:
    client, _ = _setup()
    moved = _task_event("alice", "t1", 1, list_id="l1")
    # Undone after the task moved to l2 (the undo's event is in the list it is in now).
    undo = _task_event("alice", "t1", 2, list_id="l2", undoes=moved.event_id)
    for event in (moved, undo):
        _deliver(client, event)
    [only_l1] = _get(client, list_ids="l1")["items"]
    [only_l2] = _get(client, list_ids="l2")["items"]
    assert "undone_by" not in only_l1
    assert only_l2["undoes"] == str(moved.event_id)
    assert "undo_of" not in only_l2
    both = _get(client, list_ids="l1,l2")["items"]
    assert both[0]["undone_by"]["event_id"] == str(undo.event_id)
    assert both[1]["undo_of"]["event_id"] == str(moved.event_id)


async def test_a_refused_entry_takes_no_link_with_it() -> None:
    """An undo quotes the event it undoes: an original the store refuses (U+0000 in its
    title) is left out, and its undo, which quotes it, is recorded without the link."""
    store = FakeDapr().state("kv")
    log = AuditLog(store)
    delivery = Delivery("c", "task-events", "pubsub", {})
    bad = _task_event("alice", "t1", 1)
    bad = bad.model_copy(update={"task": bad.task.model_copy(update={"title": "a\x00b"})})
    undo = _task_event("alice", "t1", 2, undoes=bad.event_id)
    recorded = await log.record_many([(bad, delivery), (undo, delivery)], NOW)
    assert (recorded.new, recorded.refused) == (1, [(bad, delivery)])
    row = store.rows[event_key(str(undo.event_id))][0]
    assert "undo_of" not in row
    assert row["event"]["undoes"] == str(bad.event_id)
    # An undo of a stored entry whose own text is refused: the original stays unmarked.
    good = _task_event("alice", "t2", 3)
    await log.record_many([(good, delivery)], NOW)
    worse = _task_event("alice", "t2", 4, undoes=good.event_id)
    worse = worse.model_copy(update={"task": worse.task.model_copy(update={"title": "\x00"})})
    assert (await log.record_many([(worse, delivery)], NOW)).refused == [(worse, delivery)]
    assert "undone_by" not in store.rows[event_key(str(good.event_id))][0]


def test_an_undo_whose_original_was_never_recorded_still_lists() -> None:
    client, _ = _setup()
    undo = _task_event("alice", "t1", 1, undoes=uuid.uuid4())
    _deliver(client, undo)
    [item] = _get(client, list_ids="l1")["items"]
    assert item["undoes"] == str(undo.undoes)
    assert "undo_of" not in item


async def test_two_undos_of_one_entry_at_once_keep_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FakeDapr().state("kv")
    log = AuditLog(store)
    delivery = Delivery("c", "task-events", "pubsub", {})
    edit = _task_event("alice", "t1", 1)
    first = _task_event("bob", "t1", 2, undoes=edit.event_id)
    second = _task_event("carol", "t1", 3, undoes=edit.event_id)
    await log.record_many([(edit, delivery)], NOW)
    save = store.save

    async def overtaken(key: str, value: Any, *, etag: str | None = None) -> None:
        monkeypatch.setattr(store, "save", save)
        await log.record_many([(first, delivery)], NOW)  # between our read and our write
        await save(key, value, etag=etag)

    monkeypatch.setattr(store, "save", overtaken)
    assert (await log.record_many([(second, delivery)], NOW)).new == 1
    row = store.rows[event_key(str(edit.event_id))][0]
    assert row["undone_by"]["user_id"] == "bob"
    both = [store.rows[event_key(str(e.event_id))][0] for e in (first, second)]
    assert [r["undo_of"]["event_id"] for r in both] == [str(edit.event_id)] * 2


def test_one_batch_links_an_undo_to_an_entry_stored_or_beside_it() -> None:
    client, _ = _setup()
    stored = _task_event("alice", "t1", 1)
    _deliver(client, stored)
    beside = _task_event("alice", "t2", 2)
    batch = [
        beside,
        _task_event("bob", "t2", 3, undoes=beside.event_id),
        _task_event("bob", "t1", 4, undoes=stored.event_id),
        _task_event("carol", "t1", 5, undoes=stored.event_id),  # a second undo of it
    ]
    resp = client.post("/events/task-events", json=bulk_delivery(*(_cloudevent(e) for e in batch)))
    assert [s["status"] for s in resp.json()["statuses"]] == ["SUCCESS"] * 4
    items = {i["event_id"]: i for i in _get(client, list_ids="l1")["items"]}
    assert items[str(beside.event_id)]["undone_by"]["event_id"] == str(batch[1].event_id)
    assert items[str(stored.event_id)]["undone_by"]["user_id"] == "bob"  # the first
    assert [items[str(e.event_id)]["undo_of"]["event_id"] for e in batch[1:]] == [
        str(beside.event_id),
        str(stored.event_id),
        str(stored.event_id),
    ]
