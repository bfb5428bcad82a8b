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
from functions.reminders.jobs import (
    TRACEPARENT,
    VERSION,
    ReminderJob,
    fired_key,
    job_name,
    read_job,
    sched_key,
)
from functions.reminders.members import ListDirectory
from functions.reminders.plan import JobPolicy, SchedState, desired_jobs
from functions.reminders.scheduler import ReminderScheduler
from functions.reminders.service import RecordLags, ReminderFirer
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
from tests.factories import task_event, task_snapshot
from tests.functions.reminders.calls import Counted
from tests.functions.reminders.lists import TodoApi, tasklist
from tests.sidecar import FROM_SIDECAR, cloudevent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
DUE = NOW + timedelta(hours=2)
POLICY = JobPolicy(max_retries=7, retry_interval_s=1.5)


def _task(version: int = 1, **extra: Any) -> TaskSnapshot:
    fields: dict[str, Any] = {
        "title": "call mom",
        "due_at": DUE,
        "reminders": [{"before": "PT15M"}, {"before": "PT1H"}],
        "version": version,
        "created_by": "alice",
    }
    return task_snapshot(at=NOW, **(fields | extra))


def _created(**extra: Any) -> TaskCreated:
    return task_event(TaskCreated, _task(1, **extra), user_id="alice")


def _updated(version: int, **extra: Any) -> TaskUpdated:
    return task_event(TaskUpdated, _task(version, **extra), user_id="bob")


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
    data, _, version = read_job(first.data)
    assert version == 1  # the task version it was planned for
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
    assert read_job(late.data)[0].fire_at == NOW - timedelta(minutes=10)


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
    await scheduler.on_task_event(task_event(TaskCompleted, done, user_id="alice"), NOW)
    assert dapr.jobs.jobs == {}
    assert len(_published(dapr, "reminder.cancelled")) == 2
    reopened = task_event(TaskReopened, _task(3), user_id="alice")
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
    await scheduler.on_task_event(task_event(TaskDeleted, _task(1), user_id="alice"), NOW)
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
    deleted = task_event(TaskDeleted, _task(4), user_id="alice")
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
    # Not applied, so not recorded: the redelivery is not taken for a duplicate.
    assert sched_key("t1") not in dapr.state("kv").rows
    assert await scheduler.on_task_event(event, NOW)
    assert sorted(dapr.jobs.jobs) == [job_name("t1", 0), job_name("t1", 1)]
    assert (_state(dapr).version, _state(dapr).pending) == (1, False)
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
    return read_job(dapr.jobs.jobs[job_name("t1", index)].data)[0]


async def _fire(firer: ReminderFirer, dapr: FakeDapr, at: datetime, index: int = 0) -> bool:
    """The callback of the job as it is scheduled now, as the handler makes it."""
    job, _, version = read_job(dapr.jobs.jobs[job_name("t1", index)].data)
    return await firer.fire(job_name("t1", index), job, at, version)


def _firer(dapr: FakeDapr) -> ReminderFirer:
    TodoApi(dapr, tasklist("alice", "bob"))  # the creator is still a member
    return ReminderFirer(dapr.state("kv"), dapr.publisher, ListDirectory(dapr.invoker, "todo-api"))


async def test_a_callback_in_flight_for_a_completed_task_delivers_nothing() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    job = _job_of(dapr)
    done = _task(2, status="completed", completed_at=NOW)
    await scheduler.on_task_event(task_event(TaskCompleted, done, user_id="alice"), NOW)
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
    assert await _fire(firer, dapr, first.fire_at)
    # The title changes after it fired: same time, the callback is not a new reminder.
    later = first.fire_at + timedelta(minutes=1)
    await scheduler.on_task_event(
        _updated(2, title="call mum", reminders=[{"before": "PT15M"}]), later
    )
    assert not await _fire(firer, dapr, later)
    snoozed = DUE + timedelta(hours=1)
    await scheduler.on_task_event(
        _updated(3, due_at=snoozed, reminders=[{"before": "PT15M"}]), later
    )
    second = _job_of(dapr)
    assert await _fire(firer, dapr, second.fire_at)
    assert not await _fire(firer, dapr, second.fire_at)  # a redelivered callback
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
    assert data.pop(VERSION) == 1
    # Beside the job's fields, not one of them: the planned job is unchanged.
    assert ReminderJob.model_validate(data) == _state(dapr).jobs[0]


# -- what an event costs, and acting before recording ----------------------------------


async def test_each_change_costs_one_read_its_calls_and_one_write() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    counted = Counted(dapr)
    one = [{"before": "PT15M"}]
    await scheduler.on_task_event(_created(reminders=one), NOW)
    assert counted.take() == ["jobs.schedule", "publish", "state.get", "state.insert"]
    done = _task(2, status="completed", completed_at=NOW, reminders=one)
    await scheduler.on_task_event(task_event(TaskCompleted, done, user_id="alice"), NOW)
    assert counted.take() == ["jobs.delete", "publish", "state.get", "state.save"]
    await scheduler.on_task_event(
        task_event(TaskReopened, _task(3, reminders=one), user_id="alice"),
        NOW,
    )
    assert counted.take() == ["jobs.schedule", "publish", "state.get", "state.save"]
    await scheduler.on_task_event(_updated(3, reminders=one), NOW)  # a redelivery
    assert counted.take() == ["state.get"]


async def test_a_renamed_task_keeps_its_job_and_its_reminder_says_the_new_title() -> None:
    """The job's time did not change: no Jobs API call and nothing to announce, one read
    and one write; the callback takes the title from the record."""
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    firer = _firer(dapr)
    one = [{"before": "PT15M"}]
    await scheduler.on_task_event(_created(reminders=one), NOW)
    scheduled = dapr.jobs.jobs[job_name("t1", 0)]
    counted = Counted(dapr)
    await scheduler.on_task_event(_updated(2, title="call mum", reminders=one), NOW)
    assert counted.take() == ["state.get", "state.save"]
    assert dapr.jobs.jobs[job_name("t1", 0)] is scheduled  # not rescheduled
    assert len(_published(dapr)) == 1  # the first reminder.scheduled only
    assert _state(dapr).version == 2
    assert [j.title if j else None for j in _state(dapr).jobs] == ["call mum"]
    assert await _fire(firer, dapr, _job_of(dapr).fire_at)
    (due,) = _published(dapr, "reminder.due")
    assert due["title"] == "call mum"
    # A change of time still replaces it, under the version that planned it.
    await scheduler.on_task_event(_updated(3, due_at=DUE + timedelta(hours=1), reminders=one), NOW)
    assert read_job(dapr.jobs.jobs[job_name("t1", 0)].data)[2] == 3


async def test_a_job_that_falls_due_before_its_record_is_written_waits_for_it() -> None:
    """The scheduler acts, then records: a job due at once can call back in between. Its
    callback must neither be dropped as replaced (the record still has the old time)
    nor deliver against the old record: it fails, and the scheduler's retry delivers."""
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    firer = _firer(dapr)
    one = [{"before": "PT15M"}]
    await scheduler.on_task_event(_created(reminders=one), NOW)
    store = dapr.state("kv")
    save = store.save
    outcomes: list[str] = []

    async def callback_first(key: str, value: Any, *, etag: str | None = None) -> None:
        try:
            outcomes.append(str(await _fire(firer, dapr, NOW)))
        except RecordLags:
            outcomes.append("retry")
        await save(key, value, etag=etag)

    store.save = callback_first  # type: ignore[method-assign]
    soon = NOW + timedelta(minutes=10)  # PT15M before it is already past: due now
    await scheduler.on_task_event(_updated(2, due_at=soon, reminders=one), NOW)
    assert outcomes == ["retry"]
    store.save = save  # type: ignore[method-assign]
    assert await _fire(firer, dapr, NOW)  # the retry, once recorded
    (due,) = _published(dapr, "reminder.due")
    assert due["fire_at"] == (soon - timedelta(minutes=15)).isoformat().replace("+00:00", "Z")


async def test_a_crash_before_the_record_is_redone_by_the_redelivery() -> None:
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    await scheduler.on_task_event(_created(), NOW)
    store = dapr.state("kv")
    save = store.save

    async def crash(key: str, value: Any, *, etag: str | None = None) -> None:
        raise DaprError("sidecar went away")

    store.save = crash  # type: ignore[method-assign]
    moved = _updated(2, due_at=DUE + timedelta(days=1))
    with pytest.raises(DaprError):
        await scheduler.on_task_event(moved, NOW)
    assert _state(dapr).version == 1
    store.save = save  # type: ignore[method-assign]
    assert await scheduler.on_task_event(moved, NOW)  # not taken for a duplicate
    assert _state(dapr).version == 2
    assert dapr.jobs.jobs[job_name("t1", 0)].due_time == DUE + timedelta(days=1, minutes=-15)
    ids = [m["event_id"] for m in _published(dapr, "reminder.scheduled")]
    assert len(ids) == 6  # the redo republished...
    assert len(set(ids)) == 4  # ...under the same ids


@pytest.mark.parametrize("seed", range(40))
async def test_interleaved_handlings_end_with_the_newest_jobs(seed: int) -> None:
    """Every call yields a random number of times, so handlings of one task interleave
    at every step: reads, job calls, publishes and writes."""
    rng = random.Random(seed)
    dapr = FakeDapr()
    scheduler = _scheduler(dapr)
    targets = [dapr.state("kv"), dapr.jobs, dapr.publisher]
    for target, names in zip(
        targets, [("get", "save", "insert"), ("schedule", "delete"), ("publish",)], strict=True
    ):
        for name in names:
            inner = getattr(target, name)

            async def slow(*args: Any, _inner: Any = inner, **kwargs: Any) -> Any:
                for _ in range(rng.randint(0, 4)):
                    await asyncio.sleep(0)
                result = await _inner(*args, **kwargs)
                for _ in range(rng.randint(0, 4)):
                    await asyncio.sleep(0)
                return result

            setattr(target, name, slow)
    two = [{"before": "PT15M"}, {"before": "PT1H"}]
    events: list[TaskEvent] = [_created(reminders=two)]
    for v in range(2, 9):
        kind = rng.choice(["move", "rename", "drop", "complete", "reopen"])
        if kind == "move":
            events.append(_updated(v, due_at=DUE + timedelta(hours=v), reminders=two))
        elif kind == "rename":
            events.append(_updated(v, title=f"v{v}", reminders=two))
        elif kind == "drop":
            events.append(_updated(v, reminders=two[:1]))
        elif kind == "complete":
            done = _task(v, status="completed", completed_at=NOW, reminders=two)
            events.append(task_event(TaskCompleted, done, user_id="alice"))
        else:
            again = _task(v, reminders=two)
            events.append(task_event(TaskReopened, again, user_id="alice"))
    rng.shuffle(events)
    results = await asyncio.gather(
        *(scheduler.on_task_event(e, NOW) for e in events), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    state = _state(dapr)
    assert state.version == 8
    newest = max(events, key=lambda e: e.task.version)
    want = {
        job_name("t1", i): job.fire_at
        for i, job in enumerate(desired_jobs(newest))
        if job is not None
    }
    have = {name: read_job(spec.data)[0].fire_at for name, spec in dapr.jobs.jobs.items()}
    assert have == want

    # The last announcement about each reminder says what the record says.
    last: dict[str, Any] = {}
    for message in _published(dapr):
        last[message["job_name"]] = message
    said = {
        name: datetime.fromisoformat(m["fire_at"])
        for name, m in last.items()
        if m["type"] == "reminder.scheduled"
    }
    assert said == want


async def test_a_callback_says_the_newer_text_of_the_job_and_its_record() -> None:
    dapr = FakeDapr()
    await _scheduler(dapr).on_task_event(_created(reminders=[{"before": "PT15M"}]), NOW)
    firer = _firer(dapr)
    job = _job_of(dapr).model_copy(update={"title": "call mum"})
    # Planned for v2, not recorded yet: the job is the newer word.
    assert await firer.fire(job_name("t1", 0), job, job.fire_at, 2)
    # A job that does not say its version: the record is.
    dapr2 = FakeDapr()
    await _scheduler(dapr2).on_task_event(_created(reminders=[{"before": "PT15M"}]), NOW)
    assert await _firer(dapr2).fire(job_name("t1", 0), job, job.fire_at)
    titles = [m["title"] for d in (dapr, dapr2) for m in _published(d, "reminder.due")]
    assert titles == ["call mum", "call mom"]
