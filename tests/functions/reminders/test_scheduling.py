"""Task events -> reminder jobs, over the in-memory Dapr fake: schedule, replace, cancel,
and stay right when events come twice, late, or at the same time."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from functions.reminders.app import create_app
from functions.reminders.jobs import TRACEPARENT, ReminderJob, fired_key, job_name, sched_key
from functions.reminders.members import ListDirectory
from functions.reminders.plan import JobPolicy, SchedState
from functions.reminders.scheduler import ReminderScheduler
from functions.reminders.service import ReminderFirer
from functions.reminders.settings import Settings
from shared.dapr import DaprError, JobSpec
from shared.dapr.fake import FakeDapr
from shared.events import (
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskEvent,
    TaskReopened,
    TaskSnapshot,
    TaskUpdated,
    parse_event,
)
from shared.telemetry import traceparent_of
from tests.functions.reminders.lists import TodoApi, tasklist
from tests.sidecar import FROM_SIDECAR, cloudevent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
DUE = NOW + timedelta(hours=2)
POLICY = JobPolicy(max_retries=7, retry_interval_s=1.5)


def _task(version: int = 1, **extra: Any) -> TaskSnapshot:
    fields: dict[str, Any] = {
        "id": "t1",
        "list_id": "l1",
        "title": "call mom",
        "due_at": DUE,
        "reminders": [{"before": "PT15M"}, {"before": "PT1H"}],
        "created_at": NOW,
        "updated_at": NOW,
        "version": version,
        "created_by": "alice",
    }
    fields.update(extra)
    return TaskSnapshot.model_validate(fields)


def _created(**extra: Any) -> TaskCreated:
    return TaskCreated(user_id="alice", list_id="l1", task_id="t1", task=_task(1, **extra))


def _updated(version: int, **extra: Any) -> TaskUpdated:
    task = _task(version, **extra)
    return TaskUpdated(user_id="bob", list_id="l1", task_id="t1", task=task)


def _scheduler(dapr: FakeDapr) -> ReminderScheduler:
    return ReminderScheduler(dapr.state("kv"), dapr.jobs, dapr.publisher, POLICY)


def _state(dapr: FakeDapr) -> SchedState:
    return SchedState.model_validate(dapr.state("kv").rows[sched_key("t1")][0])


def _published(dapr: FakeDapr, kind: str | None = None) -> list[dict[str, Any]]:
    msgs = dapr.publisher.on("reminders")
    return [m for m in msgs if kind is None or m["type"] == kind]


async def test_created_schedules_one_job_per_reminder() -> None:
    dapr = FakeDapr()
    assert await _scheduler(dapr).on_task_event(_created(), NOW)
    jobs = dapr.jobs.jobs
    assert sorted(jobs) == [job_name("t1", 0), job_name("t1", 1)]
    first = jobs[job_name("t1", 0)]
    assert first.due_time == DUE - timedelta(minutes=15)
    assert jobs[job_name("t1", 1)].due_time == DUE - timedelta(hours=1)
    assert (first.max_retries, first.retry_interval_s) == (7, 1.5)
    data = ReminderJob.model_validate(first.data)
    # The creator is reminded, whoever made the change.
    assert (data.user_id, data.title, data.occurrence, data.reminder_index) == (
        "alice",
        "call mom",
        1,
        0,
    )
    state = _state(dapr)
    assert (state.version, state.count, state.deleted, state.pending) == (1, 2, False, False)
    scheduled = _published(dapr, "reminder.scheduled")
    assert [m["job_name"] for m in scheduled] == [job_name("t1", 0), job_name("t1", 1)]
    assert dapr.publisher.messages[0].partition_key == "alice"


async def test_a_fire_time_already_past_is_scheduled_for_now() -> None:
    dapr = FakeDapr()
    event = _created(due_at=NOW + timedelta(minutes=5))  # PT15M before is 10 min ago
    await _scheduler(dapr).on_task_event(event, NOW)
    late = dapr.jobs.jobs[job_name("t1", 0)]
    assert late.due_time == NOW
    assert ReminderJob.model_validate(late.data).fire_at == NOW - timedelta(minutes=10)


async def test_moving_the_due_date_replaces_the_jobs() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    moved = DUE + timedelta(days=1)
    await scheduler.on_task_event(_updated(2, due_at=moved), NOW)
    assert dapr.jobs.jobs[job_name("t1", 0)].due_time == moved - timedelta(minutes=15)
    assert dapr.jobs.jobs[job_name("t1", 1)].due_time == moved - timedelta(hours=1)
    assert len(_published(dapr, "reminder.scheduled")) == 4
    assert _state(dapr).version == 2


async def test_an_unrelated_change_reschedules_nothing() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    before = list(dapr.publisher.messages)
    await scheduler.on_task_event(_updated(2, priority="high"), NOW)
    assert dapr.publisher.messages == before
    assert _state(dapr).version == 2


async def test_a_removed_reminder_is_cancelled() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    await scheduler.on_task_event(_updated(2, reminders=[{"before": "PT15M"}]), NOW)
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 0)]
    (cancelled,) = _published(dapr, "reminder.cancelled")
    assert cancelled["job_name"] == job_name("t1", 1)
    assert cancelled["reminder_index"] == 1
    assert _state(dapr).count == 1


async def test_completing_cancels_all_and_reopening_schedules_again() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    done = _task(2, status="completed", completed_at=NOW)
    await scheduler.on_task_event(
        TaskCompleted(user_id="alice", list_id="l1", task_id="t1", task=done), NOW
    )
    assert dapr.jobs.jobs == {}
    assert len(_published(dapr, "reminder.cancelled")) == 2
    reopened = TaskReopened(user_id="alice", list_id="l1", task_id="t1", task=_task(3))
    await scheduler.on_task_event(reopened, NOW)
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 0), job_name("t1", 1)]


async def test_an_edit_of_a_completed_task_schedules_nothing() -> None:
    dapr = FakeDapr()
    await _scheduler(dapr).on_task_event(
        _updated(2, status="completed", completed_at=NOW, title="renamed"), NOW
    )
    assert dapr.jobs.jobs == {}


async def test_deletion_cancels_and_wins_over_anything_after() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    # A deletion carries the task as it last was: the same version as the last change.
    await scheduler.on_task_event(
        TaskDeleted(user_id="alice", list_id="l1", task_id="t1", task=_task(1)), NOW
    )
    assert dapr.jobs.jobs == {}
    state = _state(dapr)
    assert state.deleted
    assert state.count == 0
    for late in (_updated(5, due_at=DUE + timedelta(days=2)), _created()):
        assert not await scheduler.on_task_event(late, NOW)
    assert dapr.jobs.jobs == {}


async def test_a_deletion_seen_first_still_cancels_every_index() -> None:
    dapr = FakeDapr()
    # Jobs left by a run whose state was lost: nothing says which exist, so cancel all.
    for index in (0, 1):
        name = job_name("t1", index)
        await dapr.jobs.schedule(JobSpec(name, DUE, {}))
    deleted = TaskDeleted(user_id="alice", list_id="l1", task_id="t1", task=_task(4))
    await _scheduler(dapr).on_task_event(deleted, NOW)
    assert dapr.jobs.jobs == {}


async def test_stale_and_duplicate_events_change_nothing() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    moved = DUE + timedelta(days=1)
    v2 = _updated(2, due_at=moved)
    await scheduler.on_task_event(v2, NOW)  # v2 overtook v1 on another partition
    before = list(dapr.publisher.messages)
    assert not await scheduler.on_task_event(_created(), NOW)  # v1 arrives late
    assert not await scheduler.on_task_event(v2, NOW)  # v2 redelivered
    assert dapr.publisher.messages == before
    assert dapr.jobs.jobs[job_name("t1", 0)].due_time == moved - timedelta(minutes=15)


async def test_a_redelivery_after_a_failure_finishes_the_work_with_the_same_event_ids() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    original = dapr.jobs.schedule
    calls = {"n": 0}

    async def flaky(job: JobSpec, *, overwrite: bool = True) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("scheduler unreachable")
        await original(job, overwrite=overwrite)

    dapr.jobs.schedule = flaky  # type: ignore[method-assign]
    event = _created()
    with pytest.raises(RuntimeError):
        await scheduler.on_task_event(event, NOW)
    assert _state(dapr).pending  # claimed, not applied: the redelivery must redo it
    assert await scheduler.on_task_event(event, NOW)
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 0), job_name("t1", 1)]
    assert not _state(dapr).pending
    ids = {m["event_id"] for m in _published(dapr, "reminder.scheduled")}
    assert len(ids) == 2  # however often published, two distinct events


async def test_a_newer_version_claimed_meanwhile_wins_the_jobs() -> None:
    """v2 and v3 handled at once: v3 claims and finishes while v2 is still scheduling;
    v2's late job call must not be the last word."""
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(reminders=[{"before": "PT15M"}]), NOW)
    original = dapr.jobs.schedule
    v2 = _updated(2, due_at=DUE + timedelta(days=1), reminders=[{"before": "PT15M"}])
    v3_due = DUE + timedelta(days=3)
    v3 = _updated(3, due_at=v3_due, reminders=[{"before": "PT15M"}])
    nested = {"done": False}

    async def overtaken(job: JobSpec, *, overwrite: bool = True) -> None:
        if not nested["done"]:
            nested["done"] = True
            dapr.jobs.schedule = original  # type: ignore[method-assign]
            await scheduler.on_task_event(v3, NOW)  # completes entirely first
        await original(job, overwrite=overwrite)  # v2's call lands last

    dapr.jobs.schedule = overtaken  # type: ignore[method-assign]
    await scheduler.on_task_event(v2, NOW)
    assert dapr.jobs.jobs[job_name("t1", 0)].due_time == v3_due - timedelta(minutes=15)
    state = _state(dapr)
    assert (state.version, state.pending) == (3, False)


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
async def test_concurrent_deliveries_of_many_versions_end_on_the_newest(seed: int | None) -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    events: list[TaskEvent] = [
        _updated(v, due_at=DUE + timedelta(hours=v), reminders=[{"before": "PT15M"}])
        for v in range(1, 9)
    ]
    if seed is not None:
        random.Random(seed).shuffle(events)
    results = await asyncio.gather(
        *(scheduler.on_task_event(e, NOW) for e in events), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    job = dapr.jobs.jobs[job_name("t1", 0)]
    assert job.due_time == DUE + timedelta(hours=8) - timedelta(minutes=15)
    assert _state(dapr).version == 8


async def test_a_before_reminder_waits_for_a_due_date() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(
        _created(due_at=None, reminders=[{"before": "PT15M"}, {"at": DUE}]), NOW
    )
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 1)]
    await scheduler.on_task_event(_updated(2, reminders=[{"before": "PT15M"}, {"at": DUE}]), NOW)
    assert dapr.jobs.jobs[job_name("t1", 0)].due_time == DUE - timedelta(minutes=15)


# -- firing against the schedule -------------------------------------------------------


def _job_of(dapr: FakeDapr, index: int = 0) -> ReminderJob:
    return ReminderJob.model_validate(dapr.jobs.jobs[job_name("t1", index)].data)


def _firer(dapr: FakeDapr) -> ReminderFirer:
    TodoApi(dapr, tasklist("alice", "bob"))  # the creator is still a member
    return ReminderFirer(dapr.state("kv"), dapr.publisher, ListDirectory(dapr.invoker, "todo-api"))


async def test_a_callback_in_flight_for_a_completed_task_delivers_nothing() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    job = _job_of(dapr)
    done = _task(2, status="completed", completed_at=NOW)
    await scheduler.on_task_event(
        TaskCompleted(user_id="alice", list_id="l1", task_id="t1", task=done), NOW
    )
    firer = _firer(dapr)
    assert not await firer.fire(job_name("t1", 0), job, job.fire_at)
    assert _published(dapr, "reminder.due") == []


async def test_a_reminder_moved_after_it_fired_fires_again_once() -> None:
    """Snooze: the due date moves after the reminder fired; the new time reminds again."""
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    firer = _firer(dapr)
    name = job_name("t1", 0)
    await scheduler.on_task_event(_created(reminders=[{"before": "PT15M"}]), NOW)
    first = _job_of(dapr)
    assert await firer.fire(name, first, first.fire_at)
    # The title changes after it fired: same time, the callback is not a new reminder.
    later = first.fire_at + timedelta(minutes=1)
    await scheduler.on_task_event(
        _updated(2, title="call mum", reminders=[{"before": "PT15M"}]), later
    )
    assert not await firer.fire(name, _job_of(dapr), later)
    snoozed = DUE + timedelta(hours=1)
    await scheduler.on_task_event(
        _updated(3, due_at=snoozed, reminders=[{"before": "PT15M"}]), later
    )
    second = _job_of(dapr)
    assert await firer.fire(name, second, second.fire_at)
    assert not await firer.fire(name, second, second.fire_at)  # a redelivered callback
    due = [parse_event(m) for m in _published(dapr, "reminder.due")]
    assert [e.fire_at for e in due] == [first.fire_at, second.fire_at]  # type: ignore[union-attr]
    assert len({e.event_id for e in due}) == 2
    assert fired_key(name, 1) in dapr.state("kv").rows


# -- the subscription endpoint ---------------------------------------------------------


def test_the_task_events_endpoint_schedules_and_ignores_what_is_not_for_it() -> None:
    dapr = FakeDapr()
    client = TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR)
    future = _created(due_at=datetime.now(UTC) + timedelta(days=1))
    resp = client.post("/events/task-events", json=cloudevent(future.model_dump(mode="json")))
    assert resp.json() == {"status": "SUCCESS"}
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 0), job_name("t1", 1)]
    # The subscription has a routing rule, so no Dapr dead-letter topic: reminders sends
    # the poison there itself, and acknowledges it.
    poison = client.post("/events/task-events", json=cloudevent({"type": "task.created"}))
    assert poison.json() == {"status": "SUCCESS"}
    assert dapr.publisher.on("task-events-dlq") == [{"type": "task.created"}]
    dapr.publisher.failing = DaprError("sidecar away")
    again = client.post("/events/task-events", json=cloudevent({"type": "task.created"}))
    assert again.json() == {"status": "RETRY"}


def test_only_the_primary_copy_schedules() -> None:
    """Members' feed copies belong on task-updates, which reminders does not read; one
    that strayed onto its route would make each member reschedule, so only the actor's
    copy (recipient == user_id) is acted on."""
    dapr = FakeDapr()
    client = TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR)
    change = _created(due_at=datetime.now(UTC) + timedelta(days=1))  # by alice

    def deliver(copy: TaskCreated) -> None:
        body = cloudevent(copy.model_dump(mode="json"), "task-events")
        assert client.post("/events/task-events", json=body).json() == {"status": "SUCCESS"}

    deliver(change.for_member("bob"))
    assert dapr.jobs.jobs == {}
    assert dapr.publisher.messages == []
    deliver(change.for_member("alice"))
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 0), job_name("t1", 1)]
    assert _state(dapr).version == 1
    assert client.post("/events/task-updates", json={}).status_code == 404  # one path


def test_a_failing_sidecar_asks_for_redelivery() -> None:
    dapr = FakeDapr()
    client = TestClient(create_app(Settings(), dapr), headers=FROM_SIDECAR)

    async def down(job: JobSpec, *, overwrite: bool = True) -> None:
        raise RuntimeError("scheduler unreachable")

    dapr.jobs.schedule = down  # type: ignore[method-assign]
    resp = client.post("/events/task-events", json=cloudevent(_created().model_dump(mode="json")))
    assert resp.json() == {"status": "RETRY"}


async def test_changes_that_touch_no_reminder_cost_one_write_or_none() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    store = dapr.state("kv")
    now = datetime.now(UTC)
    assert await scheduler.on_task_event(_created(reminders=[]), now)
    assert store.rows == {}  # created without reminders: nothing to remember
    assert await scheduler.on_task_event(_updated(2, title="renamed", reminders=[]), now)
    assert store.writes == 1
    assert _state(dapr).version == 2
    assert not _state(dapr).pending
    assert dapr.jobs.jobs == {}
    assert _published(dapr) == []
    # A late older version that had a reminder is known stale: no job appears.
    due = now + timedelta(days=1)
    late = _updated(1, due_at=due, reminders=[{"before": "PT1H"}])
    assert not await scheduler.on_task_event(late, now)
    assert dapr.jobs.jobs == {}


async def test_a_job_carries_the_trace_that_scheduled_it(spans: InMemorySpanExporter) -> None:
    dapr = FakeDapr()
    with trace.get_tracer("t").start_as_current_span("consume task-events") as span:
        await _scheduler(dapr).on_task_event(_created(), NOW)
    data = dict(dapr.jobs.jobs[job_name("t1", 0)].data)
    assert data.pop(TRACEPARENT) == traceparent_of(span.get_span_context())
    # Beside the job's fields, not one of them: the planned job is unchanged.
    assert ReminderJob.model_validate(data) == _state(dapr).jobs[0]
