from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from shared.events import (
    EVENT_TYPES,
    TOPIC_OF,
    ReminderDue,
    TaskCreated,
    TaskSnapshot,
    parse_event,
)
from shared.topics import Topic, all_topics, dead_letter

NOW = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)


def _task(**extra: object) -> TaskSnapshot:
    return TaskSnapshot(id="t1", list_id="l1", title="x", created_at=NOW, updated_at=NOW, **extra)


def test_round_trip_through_the_discriminated_union() -> None:
    event = TaskCreated(user_id="u", list_id="l1", task_id="t1", task=_task())
    parsed = parse_event(event.model_dump_json())
    assert isinstance(parsed, TaskCreated)
    assert parsed == event


def test_occurred_at_is_normalised_to_utc() -> None:
    berlin = timezone(timedelta(hours=2))
    event = TaskCreated(
        user_id="u",
        list_id="l",
        task_id="t",
        task=_task(),
        occurred_at=datetime(2026, 7, 1, 11, tzinfo=berlin),
    )
    assert event.occurred_at == datetime(2026, 7, 1, 9, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "task.exploded", "user_id": "u", "list_id": "l"},
        {"type": "task.created", "user_id": "u", "list_id": "l", "task_id": "t"},  # no task
        {
            "type": "reminder.due",
            "user_id": "",
            "list_id": "l",
            "task_id": "t",
            "reminder_index": 0,
            "occurrence": 1,
            "fire_at": NOW.isoformat(),
            "job_name": "j",
            "title": "x",
        },  # empty user
    ],
)
def test_invalid_events_are_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_event(payload)


def test_unknown_fields_are_rejected() -> None:
    data = TaskCreated(user_id="u", list_id="l", task_id="t", task=_task()).model_dump(mode="json")
    data["surprise"] = 1
    with pytest.raises(ValidationError):
        parse_event(data)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValidationError):
        ReminderDue(
            user_id="u",
            list_id="l",
            task_id="t",
            reminder_index=0,
            occurrence=1,
            fire_at=datetime(2026, 1, 1),  # noqa: DTZ001 - naive on purpose: refused
            job_name="j",
            title="x",
        )


def test_every_type_has_a_topic_and_the_partition_key_is_the_user() -> None:
    assert set(TOPIC_OF) == set(EVENT_TYPES)
    assert {TOPIC_OF[t] for t in EVENT_TYPES if t.startswith("task.")} == {Topic.TASK_EVENTS}
    assert TaskCreated(user_id="u9", list_id="l", task_id="t", task=_task()).partition_key == "u9"


def test_every_topic_has_a_dead_letter_topic() -> None:
    topics = all_topics()
    for topic in Topic:
        assert dead_letter(topic) in topics
        assert topics[topic.value] >= 1
