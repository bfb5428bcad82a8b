"""Tasks <-> iCalendar, pure: export parsed back with icalendar, import of foreign
files with the report of what could not be mapped, and the round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from functions.todo_api.ical import MAX_IMPORT, export_calendar, parse
from functions.todo_api.models import TaskCreate
from shared.events import TaskSnapshot

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def task(**fields: object) -> TaskSnapshot:
    base: dict[str, object] = {
        "id": "t1",
        "list_id": "L",
        "title": "Pay rent",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return TaskSnapshot.model_validate(base | fields)


RENT = task(
    description="to the landlord\nby transfer",
    priority="high",
    tags=["home", "money"],
    due_at=datetime(2027, 1, 31, 9, tzinfo=BERLIN),
    timezone="Europe/Berlin",
    recurrence={"frequency": "monthly", "until": "2027-06-30T21:59:59Z"},
    reminders=[{"before": "PT90M"}, {"at": "2027-01-30T10:00:00Z"}],
)


def ics(*components: str) -> bytes:
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *components])
    return (body + "\r\nEND:VCALENDAR\r\n").encode()


def test_export_is_valid_icalendar_with_every_field() -> None:
    done = task(id="t2", title="Filed", status="completed", completed_at=NOW, priority="low")
    cal: Any = Calendar.from_ical(export_calendar([RENT, done], "Home", NOW))
    assert cal["X-WR-CALNAME"] == "Home"
    todos: list[Any] = cal.walk("VTODO")
    assert [str(t["SUMMARY"]) for t in todos] == ["Pay rent", "Filed"]
    rent, filed = todos
    assert rent.decoded("DUE") == datetime(2027, 1, 31, 9, tzinfo=BERLIN)
    assert rent["DUE"].params["TZID"] == "Europe/Berlin"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert rent["PRIORITY"] == 3
    assert filed["PRIORITY"] == 9
    assert [str(c) for c in rent["CATEGORIES"].cats] == ["home", "money"]
    assert rent["RRULE"]["FREQ"] == ["MONTHLY"]
    assert rent["RRULE"]["UNTIL"] == [datetime(2027, 6, 30, 21, 59, 59, tzinfo=UTC)]
    assert str(rent["STATUS"]) == "NEEDS-ACTION"
    assert str(filed["STATUS"]) == "COMPLETED"
    assert filed.decoded("COMPLETED") == NOW
    alarms: list[Any] = rent.walk("VALARM")
    assert alarms[0].decoded("TRIGGER") == -timedelta(minutes=90)
    assert alarms[0]["TRIGGER"].params["RELATED"] == "END"
    assert alarms[1].decoded("TRIGGER") == datetime(2027, 1, 30, 10, tzinfo=UTC)
    assert str(rent["DESCRIPTION"]) == "to the landlord\nby transfer"


def test_round_trip_gives_the_same_tasks() -> None:
    tasks = [
        RENT,
        task(id="t2", title="Filed", status="completed", completed_at=NOW, timezone="Asia/Tokyo"),
        task(
            id="t3",
            title="Standup",
            due_at=datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("America/New_York")),
            timezone="America/New_York",
            recurrence={"frequency": "weekly", "weekdays": ["MO", "WE"], "basis": "completion"},
            priority="urgent",
        ),
        task(
            id="t4",
            title="Last friday",
            due_at=datetime(2026, 12, 25, 17, tzinfo=UTC),
            recurrence={"rrule": "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4"},
            reminders=[{"before": "P1D"}],
        ),
    ]
    plan = parse(export_calendar(tasks, "x", NOW), default_tz="UTC")
    assert plan.skipped == []
    assert [c.not_mapped for c in plan.items] == [[], [], [], []]
    fields = TaskCreate.model_fields.keys() - {"list_id"}
    for original, imported in zip(tasks, plan.items, strict=True):
        assert {f: getattr(imported.body, f) for f in fields} == {
            f: getattr(original, f) for f in fields
        }
        assert imported.completed == (original.status == "completed")


def test_foreign_vtodo_and_vevent_are_mapped() -> None:
    data = ics(
        "BEGIN:VTODO",
        "UID:a",
        "SUMMARY:Dentist",
        "DUE;TZID=Europe/Berlin:20270105T143000",
        "PRIORITY:2",
        "CATEGORIES:Health,Family Stuff",
        "RRULE:FREQ=YEARLY",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER;RELATED=END:-PT15M",
        "END:VALARM",
        "END:VTODO",
        "BEGIN:VEVENT",
        "UID:b",
        "SUMMARY:Offsite",
        "DTSTART:20270110T080000Z",
        "DTEND:20270110T170000Z",
        "LOCATION:Hamburg",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-P1D",
        "END:VALARM",
        "END:VEVENT",
    )
    plan = parse(data, default_tz="UTC")
    dentist, offsite = plan.items
    assert dentist.body.due_at == datetime(2027, 1, 5, 14, 30, tzinfo=BERLIN)
    assert dentist.body.timezone == "Europe/Berlin"
    assert dentist.body.priority == "urgent"
    assert dentist.body.tags == ["health", "family-stuff"]
    assert dentist.body.recurrence is not None
    assert dentist.body.recurrence.rrule == "FREQ=YEARLY"
    assert [r.before for r in dentist.body.reminders] == ["PT15M"]
    assert dentist.not_mapped == []
    assert offsite.kind == "VEVENT"
    assert offsite.body.due_at == datetime(2027, 1, 10, 8, tzinfo=UTC)
    assert [r.before for r in offsite.body.reminders] == ["P1D"]
    assert offsite.not_mapped == ["location", "end time (a task has a due date only)"]


def test_what_cannot_be_mapped_is_reported_not_dropped() -> None:
    data = ics(
        "BEGIN:VTODO",
        "UID:c",
        "SUMMARY:Water plants",
        "DUE;VALUE=DATE:20270105",
        "RRULE:FREQ=HOURLY",
        "EXDATE:20270106T090000Z",
        "CATEGORIES:ok,no/slash",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER;RELATED=END:PT1H",
        "END:VALARM",
        "END:VTODO",
        "BEGIN:VTODO",
        "UID:d",
        "SUMMARY:Gone",
        "STATUS:CANCELLED",
        "END:VTODO",
        "BEGIN:VJOURNAL",
        "UID:e",
        "SUMMARY:Diary",
        "END:VJOURNAL",
        "BEGIN:VEVENT",
        "UID:f",
        "SUMMARY:Moved one",
        "RECURRENCE-ID:20270110T080000Z",
        "DTSTART:20270111T080000Z",
        "END:VEVENT",
    )
    plan = parse(data, default_tz="Europe/Berlin")
    (plants,) = plan.items
    assert plants.body.due_at == datetime(2027, 1, 5, 9, tzinfo=BERLIN)
    assert plants.body.recurrence is None
    assert plants.body.tags == ["ok"]
    notes = " | ".join(plants.not_mapped)
    for expected in (
        "whole day",
        "FREQ=HOURLY",
        "imported as not repeating",
        "excluded dates",
        "no/slash",
        "after the due time",
    ):
        assert expected in notes, notes
    assert [(s.uid, s.reason) for s in plan.skipped] == [
        ("d", "cancelled"),
        ("e", "not a to-do or an event"),
        ("f", "a changed occurrence of a series (RECURRENCE-ID)"),
    ]


def test_floating_times_take_the_default_zone_and_completed_is_kept() -> None:
    data = ics(
        "BEGIN:VTODO",
        "SUMMARY:Floating",
        "DUE:20270105T080000",
        "STATUS:COMPLETED",
        "END:VTODO",
    )
    (item,) = parse(data, default_tz="Asia/Tokyo").items
    assert item.body.due_at == datetime(2027, 1, 5, 8, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert item.completed


def test_not_icalendar_is_refused_and_large_files_are_capped() -> None:
    with pytest.raises(ValueError, match="not an iCalendar file"):
        parse(b"hello", default_tz="UTC")
    many = [f"BEGIN:VTODO\r\nSUMMARY:n{i}\r\nEND:VTODO" for i in range(MAX_IMPORT + 2)]
    plan = parse(ics(*many), default_tz="UTC")
    assert len(plan.items) == MAX_IMPORT
    assert len(plan.skipped) == 2
