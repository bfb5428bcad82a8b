"""Issue 2's proofs, on the real stack and through the sidecars only."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from functions.todo_api.outbox import Outbox
from shared.dapr import EtagMismatch, JobSpec, StateOp
from shared.dapr.sidecar import DaprSidecar
from shared.events import TaskCompleted, TaskCreated, TaskSnapshot, TaskUpdated, parse_event
from shared.internal_api import OccurrenceRequest, occurrence_id, occurrence_path
from shared.topics import Topic, dead_letter
from stack.services import Stack
from tests.integration.api import User, commit_like_todo_api, poll, sidecar_state

pytestmark = pytest.mark.integration


def _poll(probe: Any, timeout: float = 30.0, every: float = 0.1) -> Any:
    return poll(probe, timeout, every)


def _state(stack: Stack, fn: str, store: str, key: str) -> Any:
    return sidecar_state(stack.config.dapr_url(fn), store, key)


def _snapshot(task_id: str, now: datetime, **extra: Any) -> TaskSnapshot:
    fields: dict[str, Any] = {"list_id": "list-1", "title": "water the plants", **extra}
    return TaskSnapshot(id=task_id, created_at=now, updated_at=now, **fields)


def _is_cloudevent(value: dict[str, Any]) -> bool:
    return value.get("specversion") == "1.0" and "id" in value and "data" in value


def test_event_from_todo_api_reaches_audit_as_one_cloudevent(
    stack: Stack, topic_reader: Any
) -> None:
    """(a) + (d): recurring's sidecar invokes todo-api, whose outbox publishes ONE CloudEvent."""
    reader = topic_reader(Topic.TASK_EVENTS.value)
    series = str(uuid.uuid4())
    alice = User(stack.config.url("todo-api"))  # a real list: a series ends with its list
    # The completed first occurrence, stored as todo-api stores it (todo-api makes the
    # next one from its own row, never from the request); written without its event,
    # so recurring does not make the next one first.
    now = datetime.now(UTC)
    previous = _snapshot(
        series,
        now,
        list_id=alice.default_list,
        title="pay rent",
        status="completed",
        completed_at=now,
        due_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
        timezone="Europe/Berlin",
        recurrence={"frequency": "monthly"},
        series_id=series,
        created_by=alice.id,
    )
    stored = httpx.post(
        f"{stack.config.dapr_url('todo-api')}/v1.0/state/tasks",
        json=[{"key": f"task|{series}", "value": previous.model_dump(mode="json")}],
        timeout=10,
    )
    assert stored.status_code == 204, stored.text
    request = OccurrenceRequest(
        user_id=alice.id,
        list_id=alice.default_list,
        series_id=series,
        occurrence=2,
        previous_task_id=series,
        title="pay rent",
        timezone="Europe/Berlin",
    )
    resp = httpx.put(
        f"{stack.config.dapr_url('recurring')}/v1.0/invoke/todo-api/method/"
        + occurrence_path(request.task_id),
        content=request.model_dump_json(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["id"] == occurrence_id(series, 2)

    records = reader.wait_for(lambda v: v.get("data", {}).get("task_id") == request.task_id)
    assert len(records) == 1
    envelope = records[0].value
    assert _is_cloudevent(envelope), envelope
    assert not _is_cloudevent(envelope["data"]), "double-wrapped CloudEvent"
    event = parse_event(envelope["data"])
    assert isinstance(event, TaskCreated)
    assert event.task.title == "pay rent"
    assert event.user_id == alice.id

    entry = _poll(lambda: _state(stack, "audit", "kv", f"event|{event.event_id}"))
    assert entry is not None, "audit did not store the event"
    assert parse_event(entry["event"]) == event
    assert entry["topic"] == Topic.TASK_EVENTS.value

    # The same PUT again is answered from the store: no second task, no second event.
    again = httpx.put(
        f"{stack.config.dapr_url('recurring')}/v1.0/invoke/todo-api/method/"
        + occurrence_path(request.task_id),
        content=request.model_dump_json(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert again.status_code == 200
    reader.poll(3)
    assert (
        len([r for r in reader.records if r.value["data"].get("task_id") == request.task_id]) == 1
    )


def test_internal_route_refuses_other_callers(stack: Stack) -> None:
    request = OccurrenceRequest(
        user_id="mallory", list_id="l", series_id="s", occurrence=2, previous_task_id="p", title="x"
    )
    path = occurrence_path(request.task_id)
    # Through another app's sidecar: wrong caller identity.
    via_audit = httpx.put(
        f"{stack.config.dapr_url('audit')}/v1.0/invoke/todo-api/method/{path}",
        content=request.model_dump_json(),
        timeout=10,
    )
    assert via_audit.status_code == 403
    # Straight at the app port, with a forged caller header but no sidecar token: the
    # edge refuses it before any handler (tests/security covers every function).
    direct = httpx.put(
        f"{stack.config.url('todo-api')}/{path}",
        content=request.model_dump_json(),
        headers={"dapr-caller-app-id": "recurring"},
        timeout=10,
    )
    assert direct.status_code == 401
    assert direct.json()["error"]["code"] == "unauthorized"


async def test_job_calls_reminders_on_time(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    """(b): a job due in 3 s reaches POST /job/{name} within 1 s of its due time."""
    reader = topic_reader(Topic.REMINDERS.value)
    name = f"reminder--{uuid.uuid4()}--0"
    # Whom a reminder reaches is decided when it fires, by the list's members now.
    bob = User(stack.config.url("todo-api"))
    due = datetime.now(UTC) + timedelta(seconds=3)
    data = {
        "user_id": bob.id,
        "list_id": bob.default_list,
        "task_id": "t-1",
        "reminder_index": 0,
        "occurrence": 1,
        "fire_at": due.isoformat(),
        "title": "call mom",
    }
    await sidecars["reminders"].jobs.schedule(JobSpec(name=name, due_time=due, data=data))
    assert await sidecars["reminders"].jobs.get(name) is not None
    fired = _poll(lambda: _state(stack, "reminders", "kv", f"fired|{name}|1"), timeout=20)
    assert fired is not None, "the job never reached reminders"
    lateness = (datetime.fromisoformat(fired["fired_at"]) - due).total_seconds()
    print(f"\njob lateness: {lateness * 1000:.0f} ms (due {due.isoformat()})")
    assert 0 <= lateness < 1.0
    records = reader.wait_for(lambda v: v.get("data", {}).get("job_name") == name)
    assert len(records) == 1
    assert records[0].value["data"]["type"] == "reminder.due"
    assert records[0].key == bob.id.encode()  # partitioned by user


async def test_outbox_publishes_once_and_never_for_a_failed_transaction(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    """(c): one event per committed transaction; none when the transaction fails.
    todo-api's own outbox code, on the real store and sidecar."""
    reader = topic_reader(Topic.TASK_EVENTS.value)
    todo_api = sidecars["todo-api"]
    tasks = todo_api.state("tasks")
    outbox = Outbox({"tasks": tasks}, todo_api.state("kv"), todo_api.publisher, owner="tests")
    now = datetime.now(UTC)
    task_id = str(uuid.uuid4())
    key = f"task|{task_id}"
    ok = TaskCreated(
        user_id="carol", list_id="list-c", task_id=task_id, task=_snapshot(task_id, now)
    )
    row, pending = outbox.pending("tasks", ok, now, members=["carol"])
    await tasks.transact([StateOp.insert(key, ok.task.model_dump(mode="json")), row])
    outbox.committed(pending)

    failed = TaskCompleted(
        user_id="carol",
        list_id="list-c",
        task_id=task_id,
        task=_snapshot(task_id, now, status="completed"),
    )
    row, _ = outbox.pending("tasks", failed, now, members=["carol"])
    with pytest.raises(EtagMismatch):
        # The row exists now, so an insert-only upsert makes the whole transaction fail.
        await tasks.transact([StateOp.insert(key, failed.task.model_dump(mode="json")), row])
    assert await tasks.get(f"outbox|{failed.event_id}") is None  # nothing left behind

    await outbox.drain()
    published = reader.wait_for(lambda v: v.get("data", {}).get("task_id") == task_id)
    reader.poll(2)  # give a stray one time to show
    mine = [r.value["data"] for r in reader.records if r.value["data"].get("task_id") == task_id]
    assert [m["event_id"] for m in mine] == [str(ok.event_id)], mine
    assert [r.key for r in published] == [b"carol"]  # keyed by the actor
    stored = await tasks.get(key)
    assert stored is not None
    assert stored.value["status"] == "open"
    assert published


async def test_secret_is_read_from_the_secret_store(
    stack: Stack, sidecars: dict[str, DaprSidecar]
) -> None:
    """(e)"""
    on_disk = json.loads(stack.sidecars.secrets_file.read_text())
    secret = await sidecars["todo-api"].secrets.get_secret("jwt")
    assert secret == on_disk["jwt"]
    assert secret["privateKey"].startswith("-----BEGIN PRIVATE")
    public = await sidecars["realtime"].secrets.get_secret("jwt-public")
    assert public == on_disk["jwt-public"]
    assert secret["kid"] in public


async def test_drop_goes_to_dead_letters(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    """(f) DROP: a poison message lands in task-events-dlq, and the stream keeps moving."""
    dlq = topic_reader(dead_letter(Topic.TASK_EVENTS))
    events = topic_reader(Topic.TASK_EVENTS.value)
    poison_id = str(uuid.uuid4())
    async with httpx.AsyncClient() as client:
        resp = await client.post(
            f"{stack.config.dapr_url('todo-api')}/v1.0/publish/pubsub/task-events",
            params={"metadata.cloudevent.id": poison_id, "metadata.partitionKey": "eve"},
            json={"type": "task.created", "title": "no ids, no task: not our schema"},
            timeout=10,
        )
    assert resp.status_code == 204
    dead = dlq.wait_for(lambda v: v.get("id") == poison_id)
    assert dead, "the poison message never reached the dead-letter topic"
    kept = _poll(lambda: _state(stack, "audit", "kv", f"deadletter|{poison_id}"))
    assert kept is not None
    assert kept["data"]["title"].startswith("no ids")
    assert kept["topic"] == Topic.TASK_EVENTS.value

    # A good event behind it (same partition key) is still handled.
    now = datetime.now(UTC)
    good = TaskCreated(user_id="eve", list_id="l-e", task_id="t-e", task=_snapshot("t-e", now))
    await sidecars["todo-api"].publisher.publish(Topic.TASK_EVENTS, good, partition_key="eve")
    assert _poll(lambda: _state(stack, "audit", "kv", f"event|{good.event_id}"))
    assert events.wait_for(lambda v: v.get("id") == str(good.event_id))


def _metric(stack: Stack, fn: str, name: str, **labels: str) -> float:
    text = httpx.get(stack.config.metrics_url(fn), timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_recurring_and_reminders_are_sent_only_the_events_they_act_on(
    stack: Stack, sidecars: dict[str, DaprSidecar]
) -> None:
    """Their subscriptions' routing rules (dapr/subscriptions/): daprd acknowledges every
    other event without calling the app, and sends none of them to a dead-letter topic."""

    def handled(fn: str) -> float:
        return _metric(stack, fn, "taskwave_events_total", topic="task-events")

    before = {fn: handled(fn) for fn in ("recurring", "reminders")}
    now = datetime.now(UTC)
    due = now + timedelta(days=3)
    plain = _snapshot("t-plain", now, due_at=due)
    reminding = _snapshot("t-rem", now, due_at=due, reminders=[{"before": "PT10M"}])
    repeating = _snapshot(
        "t-rep", now, due_at=due, recurrence={"frequency": "daily"}, status="completed"
    )
    done = _snapshot("t-done", now, due_at=due, reminders=[{"before": "PT10M"}], status="completed")
    ignored = [
        TaskCreated(user_id="gus", list_id="list-1", task_id="t-plain", task=plain),
        TaskCompleted(user_id="gus", list_id="list-1", task_id="t-plain", task=plain),
        TaskUpdated(
            user_id="gus", list_id="list-1", task_id="t-plain", task=plain, changed=["title"]
        ),
        # a completed task has no job before or after a rename
        TaskUpdated(
            user_id="gus", list_id="list-1", task_id="t-done", task=done, changed=["title"]
        ),
    ]
    wanted = [  # behind the ignored ones, in the same partition
        TaskCreated(user_id="gus", list_id="list-1", task_id="t-rem", task=reminding),
        TaskCompleted(user_id="gus", list_id="list-1", task_id="t-rep", task=repeating),
        # a removal of reminders still reaches reminders, to cancel the jobs
        TaskUpdated(
            user_id="gus", list_id="list-1", task_id="t-plain", task=plain, changed=["reminders"]
        ),
        # ...and so does the completion of a reminding task, and the rename of an open one
        TaskCompleted(user_id="gus", list_id="list-1", task_id="t-done", task=done),
        TaskUpdated(
            user_id="gus", list_id="list-1", task_id="t-rem", task=reminding, changed=["title"]
        ),
    ]
    await sidecars["todo-api"].publisher.publish_many(
        Topic.TASK_EVENTS, [(e, "gus") for e in [*ignored, *wanted]]
    )
    expected = {"recurring": 1, "reminders": 4}
    assert _poll(lambda: all(handled(fn) - before[fn] >= n for fn, n in expected.items()))
    await asyncio.sleep(1)  # anything more would have come with them
    assert {fn: handled(fn) - before[fn] for fn in expected} == expected


async def test_retry_is_redelivered_until_it_succeeds(
    stack: Stack, sidecars: dict[str, DaprSidecar]
) -> None:
    """(f) RETRY: audit cannot store while PostgreSQL is down, answers RETRY, and Dapr
    redelivers until the event is stored once PostgreSQL is back."""
    before = _metric(stack, "audit", "taskwave_events_total", topic="task-events", outcome="retry")
    postgres = next(p for p in stack.sup.procs if p.name == "postgres")
    stack.sup.stop(postgres)
    try:
        now = datetime.now(UTC)
        event = TaskCreated(
            user_id="frank", list_id="l-f", task_id="t-f", task=_snapshot("t-f", now)
        )
        await sidecars["todo-api"].publisher.publish(
            Topic.TASK_EVENTS, event, partition_key="frank"
        )
        retried = _poll(
            lambda: (
                _metric(
                    stack, "audit", "taskwave_events_total", topic="task-events", outcome="retry"
                )
                > before
            ),
            timeout=30,
        )
        assert retried, "audit never answered RETRY while the store was down"
    finally:
        stack.start_postgres()
        stack.wait("postgres", stack._postgres_ready, 60)
    entry = _poll(lambda: _state(stack, "audit", "kv", f"event|{event.event_id}"), timeout=60)
    assert entry is not None, "the event was lost instead of redelivered"


async def test_completing_a_repeating_task_creates_the_next_one_once(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    """(d) end to end: task.completed -> recurring -> Dapr invocation -> todo-api, idempotent."""
    reader = topic_reader(Topic.TASK_EVENTS.value)
    now = datetime.now(UTC)
    series = str(uuid.uuid4())
    gina = User(stack.config.url("todo-api"))
    due = datetime(2027, 3, 31, 7, tzinfo=UTC)  # 09:00 in Berlin (CEST)
    done = _snapshot(
        series,
        now,
        list_id=gina.default_list,
        status="completed",
        completed_at=now,
        due_at=due,
        timezone="Europe/Berlin",
        recurrence={"frequency": "monthly"},
        series_id=series,
        series_start=due,
    )
    event = TaskCompleted(user_id=gina.id, list_id=gina.default_list, task_id=series, task=done)
    await commit_like_todo_api(sidecars["todo-api"], event)

    next_id = occurrence_id(series, 2)
    row = _poll(lambda: _state(stack, "todo-api", "tasks", f"task|{next_id}"), timeout=45)
    assert row is not None, "recurring never created the next occurrence"
    # Monthly on the 31st: April has 30 days; still 09:00 Berlin time.
    assert row["due_at"].startswith("2027-04-30T07:00:00")
    assert (row["occurrence"], row["series_id"], row["title"]) == (2, series, "water the plants")

    # A redelivered completion (the same CloudEvent again) creates nothing new.
    await sidecars["todo-api"].publisher.publish(Topic.TASK_EVENTS, event, partition_key=gina.id)
    copies = reader.wait_for(lambda v: v.get("id") == str(event.event_id), count=2, timeout=60)
    assert len(copies) == 2
    assert {r.key for r in copies} == {gina.id.encode()}

    def is_created(v: dict[str, Any]) -> bool:
        data = v.get("data", {})
        return bool(data.get("type") == "task.created" and data.get("task_id") == next_id)

    # The occurrence's own event: wait for it, then give a duplicate time to show.
    reader.wait_for(is_created, timeout=60)
    reader.poll(5)
    assert len([r for r in reader.records if is_created(r.value)]) == 1
