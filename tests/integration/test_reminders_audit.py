"""Issue 4 on the real stack: task events published the way todo-api publishes them
(a transaction on its `tasks` store whose outbox emits the event) drive reminder jobs
in the Dapr scheduler; audit and reminders serve what happened to todo-api."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from functions.reminders.jobs import fired_key, job_name
from shared.dapr.sidecar import DaprSidecar
from shared.events import TaskCompleted, TaskCreated, TaskEvent, TaskSnapshot, TaskUpdated
from shared.topics import Topic
from stack.services import Stack
from tests.integration.api import User, commit_like_todo_api, poll, sidecar_state
from tests.integration.kafka import TopicReader

pytestmark = pytest.mark.integration


def _poll(probe: Any, timeout: float = 30.0, every: float = 0.1) -> Any:
    return poll(probe, timeout, every)


async def _has_jobs(jobs: Any, *names: str) -> bool:
    return all([await jobs.get(n) is not None for n in names])


async def _apoll(
    probe: Any,
    timeout: float = 20.0,  # noqa: ASYNC109 - a polling deadline: False when it passes
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await probe():
            return True
        await asyncio.sleep(0.2)
    return False


def _state(stack: Stack, fn: str, key: str) -> Any:
    return sidecar_state(stack.config.dapr_url(fn), "kv", key)


def _get_via(stack: Stack, caller: str, app: str, method: str, **params: Any) -> httpx.Response:
    """GET an internal route by Dapr service invocation from `caller`'s sidecar."""
    url = f"{stack.config.dapr_url(caller)}/v1.0/invoke/{app}/method/{method}"
    return httpx.get(url, params=params, timeout=10)


def _task(task_id: str, user: str, version: int, **extra: Any) -> TaskSnapshot:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": task_id,
        "list_id": f"list-{user}",
        "title": "water the plants",
        "created_at": now,
        "updated_at": now,
        "version": version,
        "created_by": user,
    }
    fields.update(extra)
    return TaskSnapshot.model_validate(fields)


async def _commit(sidecars: dict[str, DaprSidecar], event: TaskEvent) -> None:
    await commit_like_todo_api(sidecars["todo-api"], event)


async def _publish(sidecars: dict[str, DaprSidecar], event: TaskEvent) -> None:
    """A delivery of `event` without the outbox (a redelivery, or when timing matters)."""
    await sidecars["todo-api"].publisher.publish(
        Topic.TASK_EVENTS, event, partition_key=event.user_id
    )


def _data(record: Any) -> dict[str, Any]:
    data = record.value.get("data")
    return data if isinstance(data, dict) else {}


def _of(reader: TopicReader, kind: str, names: set[str]) -> list[dict[str, Any]]:
    return [
        _data(r)
        for r in reader.records
        if _data(r).get("type") == kind and _data(r).get("job_name") in names
    ]


def _job_due(job: dict[str, Any] | None) -> datetime | None:
    return None if job is None else datetime.fromisoformat(job["dueTime"])


async def test_a_reminder_fires_once_and_audit_and_notifications_show_it(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    reader: TopicReader = topic_reader(Topic.REMINDERS.value)
    # A real account: whom a reminder reaches is its list's membership when it fires.
    owner = User(stack.config.url("todo-api"))
    user, task_id = owner.id, str(uuid.uuid4())
    due = datetime.now(UTC) + timedelta(seconds=6)
    created = TaskCreated(
        user_id=user,
        list_id=owner.default_list,
        task_id=task_id,
        task=_task(
            task_id,
            user,
            1,
            list_id=owner.default_list,
            due_at=due,
            reminders=[{"before": "PT2S"}],
        ),
    )
    await _commit(sidecars, created)
    name = job_name(task_id, 0)

    # task-updates brings it at once; the outbox copy comes ≥ 1 s later, more after a
    # fault (another test restarts PostgreSQL): wait for the job, assume no timing.
    scheduled = reader.wait_for(
        lambda v: (
            v.get("data", {}).get("type") == "reminder.scheduled"
            and v["data"].get("job_name") == name
        ),
        timeout=45,
    )
    assert scheduled, "the task event never scheduled a job"
    fired = _poll(lambda: _state(stack, "reminders", fired_key(name, 1)), timeout=15)
    assert fired is not None, "the reminder never fired"
    fire_at = due - timedelta(seconds=2)
    assert datetime.fromisoformat(fired["fire_at"]) == fire_at
    scheduled_at = datetime.fromisoformat(_data(scheduled[0])["occurred_at"])
    # Due when it was scheduled, or fired right away if the event came after its time.
    expected = max(fire_at, scheduled_at)
    lateness = (datetime.fromisoformat(fired["fired_at"]) - expected).total_seconds()
    when = "on time" if scheduled_at < fire_at else "late event, fired at once"
    print(f"\nreminder lateness: {lateness * 1000:.0f} ms ({when})")
    assert 0 <= lateness < 1.5

    reader.wait_for(lambda v: v.get("data", {}).get("job_name") == name, count=2, timeout=10)
    reader.poll(3)  # time for a duplicate to show
    assert len(_of(reader, "reminder.scheduled", {name})) == 1
    (due_event,) = _of(reader, "reminder.due", {name})
    assert due_event["user_id"] == user
    assert due_event["title"] == "water the plants"

    # audit, asked by todo-api through its sidecar: every event of the task, in order.
    # Each check polls: audit stores behind the topic, and while another stack runs on
    # this machine, mDNS may route an invocation to ITS audit (see the report).
    want = ["task.created", "reminder.scheduled", "reminder.due"]

    def audit_types() -> list[str] | None:
        resp = _get_via(
            stack, "todo-api", "audit", "internal/v1/audit", user_id=user, task_id=task_id
        )
        types = [i["type"] for i in resp.json()["items"]] if resp.status_code == 200 else []
        return types if types == want else None

    assert _poll(audit_types, timeout=20), "audit did not list the three events in order"

    walked: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in want:
        params: dict[str, Any] = {"user_id": user, "task_id": task_id, "limit": 1}
        if cursor:
            params["cursor"] = cursor

        def page(params: dict[str, Any] = params) -> dict[str, Any] | None:
            resp = _get_via(stack, "todo-api", "audit", "internal/v1/audit", **params)
            body = resp.json() if resp.status_code == 200 else {}
            return body if len(body.get("items", [])) == 1 else None

        body = _poll(page, timeout=10)
        assert body is not None, f"no page {len(walked) + 1} of one entry"
        walked += body["items"]
        cursor = body["next_cursor"]
    assert cursor is None, "a fourth page was announced"
    assert [i["type"] for i in walked] == want
    assert [i["occurred_at"] for i in walked] == sorted(i["occurred_at"] for i in walked)
    other = _get_via(stack, "todo-api", "audit", "internal/v1/audit", user_id=f"x-{user}")
    assert other.status_code == 200
    assert other.json()["items"] == []

    def notifications() -> list[dict[str, Any]] | None:
        resp = _get_via(stack, "todo-api", "reminders", "internal/v1/notifications", user_id=user)
        items: list[dict[str, Any]] = resp.json()["items"] if resp.status_code == 200 else []
        return items or None

    notes = _poll(notifications, timeout=10)
    assert [(n["task_id"], n["title"]) for n in notes] == [(task_id, "water the plants")]
    assert notes[0]["event_id"] == due_event["event_id"]

    # Only todo-api may ask: another app's sidecar is refused (several calls: see above).
    for caller, app, method in [
        ("recurring", "audit", "internal/v1/audit"),
        ("audit", "reminders", "internal/v1/notifications"),
    ]:
        codes = [_get_via(stack, caller, app, method, user_id=user).status_code for _ in range(4)]
        assert 403 in codes, (caller, app, codes)
        assert 200 not in codes, (caller, app, codes)


async def test_moving_the_due_date_replaces_and_completing_cancels(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    reader: TopicReader = topic_reader(Topic.REMINDERS.value)
    jobs = sidecars["reminders"].jobs
    user, task_id = f"u-{uuid.uuid4()}", str(uuid.uuid4())
    first, second = job_name(task_id, 0), job_name(task_id, 1)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    both = [{"before": "PT10M"}, {"before": "PT5M"}]
    v1 = _task(task_id, user, 1, due_at=due, reminders=both)
    await _commit(sidecars, TaskCreated(user_id=user, list_id=v1.list_id, task_id=task_id, task=v1))
    assert await _apoll(lambda: _has_jobs(jobs, first, second), timeout=45), "never scheduled"
    assert _job_due(await jobs.get(first)) == due - timedelta(minutes=10)

    moved = due + timedelta(days=1)
    v2 = _task(task_id, user, 2, due_at=moved, reminders=both[:1])
    update = TaskUpdated(user_id=user, list_id=v2.list_id, task_id=task_id, task=v2)
    await _commit(sidecars, update)

    async def replaced() -> bool:
        return _job_due(await jobs.get(first)) == moved - timedelta(minutes=10) and (
            await jobs.get(second) is None
        )

    assert await _apoll(replaced), "moving the due date did not replace the job"

    v3 = v2.model_copy(
        update={"version": 3, "status": "completed", "completed_at": datetime.now(UTC)}
    )
    await _commit(
        sidecars, TaskCompleted(user_id=user, list_id=v3.list_id, task_id=task_id, task=v3)
    )

    async def gone() -> bool:
        return await jobs.get(first) is None

    assert await _apoll(gone), "completing the task did not cancel its job"
    cancelled = reader.wait_for(
        lambda v: (
            v.get("data", {}).get("type") == "reminder.cancelled"
            and v["data"].get("task_id") == task_id
        ),
        count=2,
        timeout=10,
    )
    assert sorted(_data(r)["job_name"] for r in cancelled) == [first, second]

    # v2 delivered again (late, on another partition) changes nothing: the task stays done.
    # A marker behind it on the same partition tells when reminders has read it.
    await _publish(sidecars, update)
    marker_id = str(uuid.uuid4())
    marker = _task(marker_id, user, 1, due_at=due, reminders=both[:1])
    await _publish(
        sidecars, TaskCreated(user_id=user, list_id=marker.list_id, task_id=marker_id, task=marker)
    )
    assert await _apoll(lambda: _has_jobs(jobs, job_name(marker_id, 0)))
    assert await jobs.get(first) is None
    await jobs.delete(job_name(marker_id, 0))


async def test_reminders_due_while_the_function_is_down_fire_once_on_recovery(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    # Straight to task-events rather than through the outbox: the timing below needs
    # the jobs in place before their time, and the outbox may hold a message for seconds.
    reader: TopicReader = topic_reader(Topic.REMINDERS.value)
    jobs = sidecars["reminders"].jobs
    owner = User(stack.config.url("todo-api"))
    user, task_id = owner.id, str(uuid.uuid4())
    inbox = {"list_id": owner.default_list}
    start = datetime.now(UTC)
    # Ten reminders fall due while reminders is down: nine of one task, one of a task
    # whose event arrives during the outage.
    times = [start + timedelta(seconds=5 + 0.25 * i) for i in range(9)]
    task = _task(task_id, user, 1, reminders=[{"at": t} for t in times], **inbox)
    await _publish(
        sidecars, TaskCreated(user_id=user, list_id=task.list_id, task_id=task_id, task=task)
    )
    names = [job_name(task_id, i) for i in range(9)]
    assert await _apoll(lambda: _has_jobs(jobs, *names), timeout=4.5), "jobs not scheduled"

    stack.stop_function("reminders")
    try:
        # And a task whose event reaches Kafka while reminders is down, due meanwhile.
        late_id = str(uuid.uuid4())
        late_at = start + timedelta(seconds=6)
        late = _task(late_id, user, 1, reminders=[{"at": late_at}], **inbox)
        await _publish(
            sidecars, TaskCreated(user_id=user, list_id=late.list_id, task_id=late_id, task=late)
        )
        names.append(job_name(late_id, 0))
        times.append(late_at)
        await asyncio.sleep(max(0.0, (max(times) - datetime.now(UTC)).total_seconds()) + 1.0)
        reader.poll(0.5)
        assert _of(reader, "reminder.due", set(names)) == [], "fired while reminders was down"
    finally:
        back = time.monotonic()
        stack.start_function("reminders")
        stack.wait_function("reminders")

    def fired_rows() -> list[Any] | None:
        rows = [_state(stack, "reminders", fired_key(n, 1)) for n in names]
        return rows if all(rows) else None

    rows = _poll(fired_rows, timeout=30)
    assert rows, "not every reminder fired after the restart"
    print(f"\nreminders back {time.monotonic() - back:.1f} s after the restart began")
    for name, row, fire_at in zip(names, rows, times, strict=True):
        late_s = (datetime.fromisoformat(row["fired_at"]) - fire_at).total_seconds()
        print(f"  {name[-40:]}: delivered {late_s:.1f} s after its time")
    reader.poll(4)  # time for a duplicate to show
    delivered = _of(reader, "reminder.due", set(names))
    assert sorted(d["job_name"] for d in delivered) == sorted(names), delivered
