from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.domain.reminders import ReminderSpec, is_overdue, parse_duration, reminder_times

BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2024, 6, 10, 9, tzinfo=BERLIN)  # 07:00 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT15M", timedelta(minutes=15)),
        ("PT1H", timedelta(hours=1)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("PT90S", timedelta(seconds=90)),
        ("P1D", timedelta(days=1)),
        ("P2DT3H4M5S", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        ("P1W", timedelta(weeks=1)),
        ("pt5m", timedelta(minutes=5)),
        ("P0D", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"before": "P1M"}, "years and months have no fixed length"),
        ({"before": "P1Y"}, "years and months"),
        ({"before": "P"}, "not an ISO 8601 duration"),
        ({"before": "PT"}, "not an ISO 8601 duration"),
        ({"before": "P1DT"}, "not an ISO 8601 duration"),
        ({"before": "15 minutes"}, "not an ISO 8601 duration"),
        ({"before": "PT1.5H"}, "not an ISO 8601 duration"),
        ({"before": "-PT5M"}, "not an ISO 8601 duration"),
        ({"before": "PT0S"}, "longer than zero"),
        ({"before": "P367D"}, "at most 366 days"),
        ({"before": "P53W"}, "at most 366 days"),
        ({"at": "2024-06-10T09:00:00"}, "timezone"),
        ({"at": "tomorrow"}, "at"),
        ({}, "exactly one of before or at"),
        ({"before": "PT5M", "at": "2024-06-10T09:00:00Z"}, "exactly one of before or at"),
        ({"before": "PT5M", "repeat": 2}, "repeat"),
    ],
)
def test_invalid_reminders_are_rejected(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ReminderSpec.model_validate(payload)


def test_valid_specs_normalise() -> None:
    assert ReminderSpec(before="pt15m").before == "PT15M"
    assert ReminderSpec(before="P366D").before == "P366D"
    spec = ReminderSpec.model_validate({"at": "2024-06-10T09:00:00+02:00"})
    assert spec.at == datetime(2024, 6, 10, 7, tzinfo=UTC)
    assert spec.at is not None
    assert spec.at.tzinfo is UTC
    assert ReminderSpec.model_validate_json(spec.model_dump_json()) == spec


def test_reminder_times_keep_order_and_are_utc() -> None:
    specs = [
        ReminderSpec(before="P1D"),
        ReminderSpec.model_validate({"at": "2024-06-01T12:00:00-04:00"}),
        ReminderSpec(before="PT15M"),
        ReminderSpec(before="PT15M"),  # duplicates stay: the index names the job
    ]
    assert reminder_times(specs, DUE) == [
        datetime(2024, 6, 9, 7, tzinfo=UTC),
        datetime(2024, 6, 1, 16, tzinfo=UTC),
        datetime(2024, 6, 10, 6, 45, tzinfo=UTC),
        datetime(2024, 6, 10, 6, 45, tzinfo=UTC),
    ]
    assert all(t.tzinfo is UTC for t in reminder_times(specs, DUE))


def test_before_is_elapsed_time_across_dst() -> None:
    # 03:10 CEST on the spring-forward night is 01:10 UTC; 15 minutes earlier is 00:55 UTC
    # (wall-clock subtraction would give the non-existent 02:55, after the due time).
    due = datetime(2024, 3, 31, 3, 10, tzinfo=BERLIN)
    assert reminder_times([ReminderSpec(before="PT15M")], due) == [
        datetime(2024, 3, 31, 0, 55, tzinfo=UTC)
    ]


def test_before_needs_a_due_date() -> None:
    with pytest.raises(ValueError, match="needs a due date"):
        reminder_times([ReminderSpec(before="PT15M")], None)
    naive = datetime(2024, 6, 10, 9)  # noqa: DTZ001 - naive on purpose: refused
    with pytest.raises(ValueError, match="timezone-aware"):
        reminder_times([ReminderSpec(before="PT15M")], naive)


def test_at_needs_no_due_date() -> None:
    spec = ReminderSpec.model_validate({"at": "2024-06-10T09:00:00Z"})
    assert reminder_times([spec], None) == [datetime(2024, 6, 10, 9, tzinfo=UTC)]
    assert reminder_times([], None) == []


NOW = datetime(2024, 6, 10, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due_at", "status", "expected"),
    [
        (NOW - timedelta(seconds=1), "open", True),
        (NOW - timedelta(days=3), "open", True),
        (NOW, "open", False),
        (NOW + timedelta(minutes=1), "open", False),
        (None, "open", False),
        (NOW - timedelta(days=3), "completed", False),
        (DUE - timedelta(minutes=1), "open", True),  # other offsets compare as instants
    ],
)
def test_is_overdue(due_at: datetime | None, status: str, expected: bool) -> None:
    assert is_overdue(due_at, status, NOW) is expected
