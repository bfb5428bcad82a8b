"""The unit tests' event factories (tests/factories.py) build what taskwave publishes:
each model survives the wire, and what a test names is what it gets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from shared.events import EventBase, ListCreated, TaskCompleted, TaskDeleted, parse_event
from tests.factories import (
    T0,
    list_snapshot,
    reminder_due,
    series_completion,
    task_event,
    task_snapshot,
)

LATER = T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    "event",
    [
        task_event(TaskDeleted),
        series_completion({"frequency": "daily"}),
        reminder_due(),
        ListCreated(user_id="u1", list_id="l1", tasklist=list_snapshot("u1", "u2")),
    ],
    ids=lambda e: e.type,
)
def test_every_model_survives_the_wire(event: EventBase) -> None:
    assert parse_event(event.model_dump_json()) == event


def test_a_task_event_is_in_its_tasks_list_and_keeps_what_the_test_names() -> None:
    task = task_snapshot("t9", "l9", title="call mom", updated_at=LATER, priority="high")
    event = task_event(TaskCompleted, task, user_id="bob", occurred_at=LATER)
    assert isinstance(event, TaskCompleted)
    assert (event.user_id, event.list_id, event.task_id) == ("bob", "l9", "t9")
    assert (event.task.title, event.task.priority) == ("call mom", "high")
    assert (event.task.created_at, event.task.updated_at, event.occurred_at) == (T0, LATER, LATER)
    # Without a snapshot: task t1 in list l1, by u1.
    default = task_event(TaskDeleted)
    assert (default.user_id, default.list_id, default.task_id) == ("u1", "l1", "t1")


def test_a_series_completion_is_on_time() -> None:
    event = series_completion({"frequency": "weekly"}, at=LATER, occurrence=3, created_by="ann")
    task = event.task
    assert task.due_at == task.completed_at == event.occurred_at == LATER
    assert (task.series_id, task.occurrence, task.status, task.created_by) == (
        "s1",
        3,
        "completed",
        "ann",
    )
    assert task.recurrence is not None
    assert task.recurrence.frequency == "weekly"


def test_a_reminder_names_its_job_after_its_task() -> None:
    due = reminder_due("t7", user_id="bob", fire_at=LATER, title="call mom")
    assert (due.task_id, due.user_id, due.fire_at, due.title) == ("t7", "bob", LATER, "call mom")
    assert (due.reminder_index, due.occurrence, due.job_name) == (0, 1, "reminder--t7--0")


def test_a_list_has_its_owner_then_its_editors() -> None:
    shared = list_snapshot("alice", "bob", "carol", list_id="l2", updated_at=LATER)
    assert (shared.id, shared.owner_id, shared.created_at, shared.updated_at) == (
        "l2",
        "alice",
        T0,
        LATER,
    )
    assert [(m.user_id, m.username, m.role) for m in shared.members] == [
        ("alice", "alice", "owner"),
        ("bob", "bob", "editor"),
        ("carol", "carol", "editor"),
    ]


def test_a_field_the_model_does_not_have_is_refused() -> None:
    with pytest.raises(ValidationError):
        task_snapshot(colour="red")
