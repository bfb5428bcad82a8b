from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.domain.recurrence import Recurrence, next_occurrence, validate_timezone

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # a `now` that never triggers skipping


def at(y: int, m: int, d: int, h: int = 9, mi: int = 0, tz: str = BERLIN) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo(tz))


def local(moment: datetime | None, tz: str = BERLIN) -> str | None:
    return None if moment is None else moment.astimezone(ZoneInfo(tz)).isoformat()


def next_after(
    rec: Recurrence, previous: datetime, *, start: datetime, now: datetime = LONG_AGO, **more: Any
) -> datetime | None:
    """The due date after `previous` in the series that began at `start`, asked at `now`;
    `more`: next_occurrence's other arguments, where not Berlin's first occurrence."""
    args: dict[str, Any] = {"tz": BERLIN, "occurrence": 1} | more
    return next_occurrence(rec, series_start=start, previous_due=previous, now=now, **args)


def series(rec: Recurrence, start: datetime, n: int, tz: str = BERLIN) -> list[datetime | None]:
    """The first n due dates, completing each one on time."""
    out: list[datetime | None] = [start]
    for occurrence in range(1, n):
        previous = out[-1]
        if previous is None:
            break
        out.append(next_after(rec, previous, start=start, tz=tz, occurrence=occurrence))
    return out


def dates(moments: list[datetime | None], tz: str = BERLIN) -> list[str | None]:
    return [None if m is None else m.astimezone(ZoneInfo(tz)).date().isoformat() for m in moments]


# --- calendar anchoring ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            at(2024, 1, 31),
            ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"],
        ),
        (
            at(2023, 1, 31),
            ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30", "2023-05-31"],
        ),
        (
            at(2023, 1, 30),
            ["2023-01-30", "2023-02-28", "2023-03-30", "2023-04-30", "2023-05-30"],
        ),
        (
            at(2023, 1, 29),
            ["2023-01-29", "2023-02-28", "2023-03-29", "2023-04-29", "2023-05-29"],
        ),
        (
            at(2024, 8, 31),
            ["2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31"],
        ),
    ],
)
def test_monthly_keeps_the_intended_day(start: datetime, expected: list[str]) -> None:
    got = series(Recurrence(frequency="monthly"), start, len(expected))
    assert dates(got) == expected
    assert all(m is not None and m.astimezone(ZoneInfo(BERLIN)).hour == 9 for m in got)


def test_monthly_interval_counts_from_the_series_start() -> None:
    got = series(Recurrence(frequency="monthly", interval=3), at(2023, 11, 30), 4)
    assert dates(got) == ["2023-11-30", "2024-02-29", "2024-05-30", "2024-08-30"]


@pytest.mark.parametrize(
    "rec",
    [Recurrence(frequency="yearly"), Recurrence(rrule="FREQ=YEARLY")],
    ids=["structured", "rrule"],
)
def test_yearly_on_feb_29(rec: Recurrence) -> None:
    got = series(rec, at(2024, 2, 29), 6)
    assert dates(got) == [
        "2024-02-29",
        "2025-02-28",
        "2026-02-28",
        "2027-02-28",
        "2028-02-29",
        "2029-02-28",
    ]


@pytest.mark.parametrize(
    "rec",
    [
        Recurrence(frequency="weekly", weekdays=["MO", "WE", "FR"]),
        Recurrence(rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    ],
    ids=["structured", "rrule"],
)
@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (at(2024, 6, 3), at(2024, 6, 5)),  # Mon -> Wed
        (at(2024, 6, 5), at(2024, 6, 7)),  # Wed -> Fri
        (at(2024, 6, 7), at(2024, 6, 10)),  # Fri -> next Mon
        (at(2024, 6, 4), at(2024, 6, 5)),  # moved to Tue -> Wed
        (at(2024, 6, 8, 12), at(2024, 6, 10)),  # moved to Sat -> Mon
    ],
)
def test_weekly_on_listed_weekdays(rec: Recurrence, previous: datetime, expected: datetime) -> None:
    assert next_after(rec, previous, start=at(2024, 6, 3)) == expected


@pytest.mark.parametrize(
    ("rec", "start", "expected"),
    [
        (
            Recurrence(frequency="weekly", interval=2),
            at(2024, 6, 5),
            ["2024-06-05", "2024-06-19", "2024-07-03", "2024-07-17"],
        ),
        (
            Recurrence(frequency="weekly", interval=2, weekdays=["TU", "TH"]),
            at(2024, 6, 4),
            ["2024-06-04", "2024-06-06", "2024-06-18", "2024-06-20", "2024-07-02"],
        ),
        (
            Recurrence(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH"),
            at(2024, 6, 4),
            ["2024-06-04", "2024-06-06", "2024-06-18", "2024-06-20", "2024-07-02"],
        ),
        (
            Recurrence(frequency="daily", interval=3),
            at(2024, 2, 27),
            ["2024-02-27", "2024-03-01", "2024-03-04"],
        ),
    ],
)
def test_every_n_periods(rec: Recurrence, start: datetime, expected: list[str]) -> None:
    assert dates(series(rec, start, len(expected))) == expected


def test_interval_phase_stays_with_the_series_start() -> None:
    # The user moved one occurrence to Monday; the fortnight rhythm still counts from the
    # first Wednesday, so the next one is not "two weeks after Monday".
    got = next_after(
        Recurrence(frequency="weekly", interval=2), at(2024, 6, 10), start=at(2024, 6, 5)
    )
    assert got == at(2024, 6, 19)


# --- DST -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "start", "expected_utc"),
    [
        # Berlin springs forward on 2024-03-31 (+01 -> +02)
        (BERLIN, (2024, 3, 30), ["2024-03-30T08:00", "2024-03-31T07:00", "2024-04-01T07:00"]),
        # ... and falls back on 2024-10-27 (+02 -> +01)
        (BERLIN, (2024, 10, 26), ["2024-10-26T07:00", "2024-10-27T08:00", "2024-10-28T08:00"]),
        # New York springs forward on 2024-03-10 (-05 -> -04)
        (NEW_YORK, (2024, 3, 9), ["2024-03-09T14:00", "2024-03-10T13:00", "2024-03-11T13:00"]),
        # ... and falls back on 2024-11-03 (-04 -> -05)
        (NEW_YORK, (2024, 11, 2), ["2024-11-02T13:00", "2024-11-03T14:00", "2024-11-04T14:00"]),
    ],
)
def test_daily_0900_stays_0900_across_dst(
    tz: str, start: tuple[int, int, int], expected_utc: list[str]
) -> None:
    got = series(Recurrence(frequency="daily"), at(*start, tz=tz), len(expected_utc), tz)
    assert [m.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for m in got if m] == expected_utc
    assert {m.astimezone(ZoneInfo(tz)).strftime("%H:%M") for m in got if m} == {"09:00"}
    assert all(m is not None and m.tzinfo is UTC for m in got[1:])


def test_weekly_keeps_wall_clock_across_dst() -> None:
    got = series(Recurrence(frequency="weekly"), at(2024, 10, 21, 18, 30, NEW_YORK), 3, NEW_YORK)
    assert [local(m, NEW_YORK) for m in got] == [
        "2024-10-21T18:30:00-04:00",
        "2024-10-28T18:30:00-04:00",
        "2024-11-04T18:30:00-05:00",
    ]


def test_wall_clock_time_missing_on_spring_forward_day_moves_forward() -> None:
    got = series(Recurrence(frequency="daily"), at(2024, 3, 30, 2, 30), 4)
    assert [local(m) for m in got] == [
        "2024-03-30T02:30:00+01:00",
        "2024-03-31T03:30:00+02:00",
        "2024-04-01T02:30:00+02:00",
        "2024-04-02T02:30:00+02:00",
    ]


# --- ending the series -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (
            Recurrence(frequency="daily", until=at(2024, 1, 3)),  # inclusive
            ["2024-01-01", "2024-01-02", "2024-01-03", None],
        ),
        (
            Recurrence(frequency="daily", until=at(2024, 1, 3, 8, 59)),
            ["2024-01-01", "2024-01-02", None],
        ),
        (Recurrence(frequency="daily", count=3), ["2024-01-01", "2024-01-02", "2024-01-03", None]),
        (Recurrence(frequency="daily", count=1), ["2024-01-01", None]),
        (Recurrence(rrule="FREQ=DAILY;COUNT=2"), ["2024-01-01", "2024-01-02", None]),
        (Recurrence(rrule="FREQ=DAILY;UNTIL=20240102"), ["2024-01-01", "2024-01-02", None]),
        (
            Recurrence(rrule="FREQ=DAILY;UNTIL=20240102T080000Z"),  # 09:00 Berlin, inclusive
            ["2024-01-01", "2024-01-02", None],
        ),
        (
            Recurrence(rrule="FREQ=DAILY;UNTIL=20240102T075959Z"),
            ["2024-01-01", None],
        ),
    ],
)
def test_until_and_count_end_the_series(rec: Recurrence, expected: list[str | None]) -> None:
    assert dates(series(rec, at(2024, 1, 1), len(expected) + 2)) == expected


def test_skipped_slots_do_not_use_up_count() -> None:
    rec, start = Recurrence(frequency="daily", count=3), at(2024, 1, 1)
    assert next_after(rec, start, start=start, now=at(2024, 1, 20, 12)) == at(2024, 1, 21)


def test_skipping_past_until_ends_the_series() -> None:
    rec, start = Recurrence(frequency="daily", until=at(2024, 1, 10)), at(2024, 1, 1)
    assert next_after(rec, start, start=start, now=at(2024, 1, 20)) is None


# --- basis -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "start", "now", "expected"),
    [
        # missed four days: the next is tomorrow, not 2024-06-02
        (Recurrence(frequency="daily"), at(2024, 6, 1), at(2024, 6, 5, 12), at(2024, 6, 6)),
        # today's slot is still ahead
        (Recurrence(frequency="daily"), at(2024, 6, 1), at(2024, 6, 5, 8), at(2024, 6, 5)),
        # a slot exactly at `now` is already gone
        (Recurrence(frequency="daily"), at(2024, 6, 1), at(2024, 6, 5, 9), at(2024, 6, 6)),
        # on time: plain next one
        (Recurrence(frequency="daily"), at(2024, 6, 1), at(2024, 6, 1, 10), at(2024, 6, 2)),
        (
            Recurrence(frequency="weekly", weekdays=["MO", "WE", "FR"]),
            at(2024, 6, 3),
            at(2024, 6, 8, 12),  # Saturday
            at(2024, 6, 10),
        ),
        (Recurrence(frequency="monthly"), at(2024, 1, 31), at(2024, 4, 15), at(2024, 4, 30)),
        (
            Recurrence(frequency="weekly", interval=2),
            at(2024, 6, 5),
            at(2024, 7, 10, 12),
            at(2024, 7, 17),
        ),
    ],
)
def test_basis_due_skips_missed_occurrences_once(
    rec: Recurrence, start: datetime, now: datetime, expected: datetime
) -> None:
    assert next_after(rec, start, start=start, now=now) == expected


@pytest.mark.parametrize(
    ("rec", "due", "completed", "expected"),
    [
        # completed late: counted from the completion day, time of day kept
        (Recurrence(frequency="daily", interval=3, basis="completion"),
         at(2024, 6, 1), at(2024, 6, 5, 18), at(2024, 6, 8)),
        (Recurrence(frequency="weekly", basis="completion"),
         at(2024, 6, 3), at(2024, 6, 6, 7), at(2024, 6, 13)),
        (Recurrence(frequency="monthly", basis="completion"),
         at(2024, 1, 31), at(2024, 2, 3, 20), at(2024, 3, 3)),
        (Recurrence(frequency="monthly", basis="completion"),
         at(2024, 1, 15), at(2024, 1, 31, 10), at(2024, 2, 29)),
        (Recurrence(frequency="weekly", weekdays=["MO", "WE", "FR"], basis="completion"),
         at(2024, 6, 3), at(2024, 6, 4, 12), at(2024, 6, 5)),
        # completing early never moves the series before the due date just completed
        (Recurrence(frequency="daily", basis="completion"),
         at(2024, 6, 10), at(2024, 6, 5, 12), at(2024, 6, 11)),
        # completion late in the evening local time (already the next day in UTC)
        (Recurrence(frequency="daily", basis="completion"),
         at(2024, 6, 1, 9, 0, NEW_YORK), at(2024, 6, 3, 23, 30, NEW_YORK),
         at(2024, 6, 4, 9, 0, NEW_YORK)),
    ],
)  # fmt: skip
def test_basis_completion(
    rec: Recurrence, due: datetime, completed: datetime, expected: datetime
) -> None:
    got = next_after(
        rec,
        due,
        start=due,
        now=completed + timedelta(seconds=1),
        tz=str(expected.tzinfo),
        completed_at=completed,
    )
    assert got == expected


def test_basis_completion_keeps_wall_clock_across_dst() -> None:
    done = at(2024, 3, 30, 21)
    rec = Recurrence(frequency="daily", basis="completion")
    got = next_after(
        rec, at(2024, 3, 30), start=at(2024, 3, 25), now=done, completed_at=done, occurrence=6
    )
    assert local(got) == "2024-03-31T09:00:00+02:00"


def test_basis_completion_defaults_completed_at_to_now() -> None:
    rec, start = Recurrence(frequency="daily", basis="completion"), at(2024, 6, 1)
    assert next_after(rec, start, start=start, now=at(2024, 6, 4, 12)) == at(2024, 6, 5)


# --- RRULE strings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", at(2024, 6, 3), ["2024-06-03", "2024-06-05", "2024-06-07"]),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            at(2023, 1, 31),
            ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30"],
        ),
        ("FREQ=MONTHLY;BYDAY=-1FR", at(2024, 1, 26), ["2024-01-26", "2024-02-23", "2024-03-29"]),
        ("FREQ=MONTHLY;BYDAY=2TU", at(2024, 1, 9), ["2024-01-09", "2024-02-13", "2024-03-12"]),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",  # last workday
            at(2024, 3, 29),
            ["2024-03-29", "2024-04-30", "2024-05-31", "2024-06-28"],
        ),
        ("FREQ=DAILY;INTERVAL=2", at(2024, 2, 28), ["2024-02-28", "2024-03-01", "2024-03-03"]),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            at(2024, 6, 6),
            ["2024-06-06", "2024-06-07", "2024-06-10"],
        ),
        (
            "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1",
            at(2024, 1, 1),
            ["2024-01-01", "2024-07-01", "2025-01-01"],
        ),
        ("rrule:freq=weekly;interval=2", at(2024, 6, 5), ["2024-06-05", "2024-06-19"]),
        # an explicit BYMONTHDAY follows RFC 5545 and skips months without that day
        (
            "FREQ=MONTHLY;BYMONTHDAY=31",
            at(2024, 1, 31),
            ["2024-01-31", "2024-03-31", "2024-05-31"],
        ),
        # ... while a start on the 31st without BY parts keeps month-end clamping
        ("FREQ=MONTHLY", at(2024, 1, 31), ["2024-01-31", "2024-02-29", "2024-03-31"]),
    ],
)
def test_rrule_strings(rule: str, start: datetime, expected: list[str]) -> None:
    assert dates(series(Recurrence(rrule=rule), start, len(expected))) == expected


def test_rrule_is_stored_normalised() -> None:
    rec = Recurrence(rrule=" RRULE:freq=weekly; byday=MO,we ")
    assert rec.rrule == "FREQ=WEEKLY;BYDAY=MO,WE"


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"rrule": "FREQ=HOURLY"}, "FREQ=HOURLY is finer than DAILY"),
        ({"rrule": "FREQ=MINUTELY;INTERVAL=5"}, "finer than DAILY"),
        ({"rrule": "DTSTART:20240101T090000Z\nRRULE:FREQ=DAILY"}, "DTSTART"),
        ({"rrule": "FREQ=DAILY;DTSTART=20240101"}, "DTSTART is not supported"),
        ({"rrule": "FREQ=DAILY;BYHOUR=9"}, "BYHOUR is not supported"),
        ({"rrule": "FREQ=YEARLY;BYWEEKNO=20"}, "BYWEEKNO is not supported"),
        ({"rrule": "BYDAY=MO"}, "FREQ is required"),
        ({"rrule": "FREQ=FORTNIGHTLY"}, "FREQ=FORTNIGHTLY is unknown"),
        ({"rrule": "FREQ=DAILY;FOO=1"}, "unknown RRULE part FOO"),
        ({"rrule": "FREQ=DAILY;FREQ=WEEKLY"}, "FREQ is given twice"),
        ({"rrule": "every monday"}, "is not NAME=VALUE"),
        ({"rrule": "FREQ=DAILY;INTERVAL=0"}, "INTERVAL=0: 0 is outside 1..1000"),
        ({"rrule": "FREQ=DAILY;INTERVAL=x"}, "INTERVAL=X"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "BYDAY=XX"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=1MO"}, "ordinals like 1MO need MONTHLY or YEARLY"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=6MO"}, "6MO is outside -5..5"),
        ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=32"}, "BYMONTHDAY=32"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=13"}, "BYMONTH=13"),
        ({"rrule": "FREQ=WEEKLY;BYMONTHDAY=1"}, "BYMONTHDAY is not supported with FREQ=WEEKLY"),
        ({"rrule": "FREQ=MONTHLY;BYSETPOS=1"}, "BYSETPOS needs BYDAY or BYMONTHDAY"),
        ({"rrule": "FREQ=DAILY;COUNT=2;UNTIL=20250101"}, "UNTIL and COUNT"),
        ({"rrule": "FREQ=DAILY;UNTIL=20250101T000000"}, "UTC date-time"),
        ({"rrule": "FREQ=DAILY;UNTIL=20250231"}, "not a valid date"),
        ({"rrule": "FREQ=DAILY;WKST=XX"}, "WKST=XX"),
        ({"rrule": "FREQ=DAILY;INTERVAL=7;BYDAY=TU"}, "use WEEKLY"),
        ({"rrule": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30"}, "never produces an occurrence"),
        ({"rrule": ""}, "at least 1 character"),
        ({"frequency": "daily", "until": "2025-01-01T00:00:00Z", "count": 3}, "until and count"),
        ({"frequency": "hourly"}, "frequency"),
        ({"frequency": "daily", "interval": 0}, "interval"),
        ({"frequency": "daily", "interval": 1001}, "interval"),
        ({"frequency": "weekly", "weekdays": ["MO", "MO"]}, "weekdays must not repeat"),
        ({"frequency": "weekly", "weekdays": ["XX"]}, "weekdays"),
        ({"frequency": "weekly", "weekdays": []}, "weekdays"),
        ({"frequency": "monthly", "weekdays": ["MO"]}, "weekdays apply to daily or weekly"),
        ({"frequency": "daily", "interval": 14, "weekdays": ["MO"]}, "use weekly"),
        ({"frequency": "daily", "until": "2025-01-01T00:00:00"}, "timezone"),
        ({"frequency": "daily", "count": 0}, "count"),
        ({"frequency": "daily", "basis": "start"}, "basis"),
        ({"frequency": "daily", "every": 2}, "every"),
        ({"frequency": "daily", "rrule": "FREQ=DAILY"}, "rrule cannot be combined with frequency"),
        ({"rrule": "FREQ=DAILY", "interval": 2}, "rrule cannot be combined with interval"),
        ({}, "give either frequency"),
        ({"basis": "completion"}, "give either frequency"),
    ],
)
def test_invalid_recurrence_is_rejected_clearly(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        Recurrence.model_validate(payload)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "payload",
    [
        {"frequency": "daily"},
        {"frequency": "weekly", "interval": 2, "weekdays": ["MO", "FR"], "basis": "completion"},
        {"frequency": "monthly", "until": "2025-06-30T22:00:00+02:00"},
        {"frequency": "yearly", "count": 5},
        {"rrule": "FREQ=MONTHLY;BYMONTHDAY=-1", "basis": "due"},
        {"rrule": "FREQ=DAILY;UNTIL=20251231T230000Z"},
    ],
)
def test_round_trips_through_json(payload: dict[str, Any]) -> None:
    rec = Recurrence.model_validate(payload)
    assert Recurrence.model_validate_json(rec.model_dump_json()) == rec
    assert Recurrence.model_validate(rec.model_dump(mode="json", exclude_none=True)) == rec


def test_structured_defaults() -> None:
    rec = Recurrence(frequency="weekly")
    assert (rec.interval, rec.basis, rec.weekdays) == (1, "due", None)
    assert Recurrence(frequency="daily", until=at(2025, 1, 1)).until == datetime(
        2025, 1, 1, 8, tzinfo=UTC
    )


# --- time zones and arguments ----------------------------------------------------------


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"])
def test_known_time_zones_pass(name: str) -> None:
    assert validate_timezone(name) == name


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "europe/berlin", "Europe/Berlin ", "", "America", "localtime", "../x"]
)
def test_unknown_time_zones_fail(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        validate_timezone(name)


def test_next_occurrence_rejects_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Berln'"):
        next_occurrence(
            Recurrence(frequency="daily"),
            series_start=at(2024, 1, 1),
            previous_due=at(2024, 1, 1),
            tz="Europe/Berln",
            now=LONG_AGO,
            occurrence=1,
        )


NAIVE = datetime(2024, 1, 1)  # noqa: DTZ001 - naive on purpose: refused


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"now": NAIVE}, "now must be timezone-aware"),
        ({"series_start": NAIVE}, "series_start must be timezone-aware"),
        ({"completed_at": NAIVE}, "completed_at must be timezone-aware"),
        ({"occurrence": 0}, "occurrence is 1-based"),
    ],
)
def test_next_occurrence_rejects_bad_arguments(override: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {
        "series_start": at(2024, 1, 1),
        "previous_due": at(2024, 1, 1),
        "tz": BERLIN,
        "now": LONG_AGO,
        "occurrence": 1,
    }
    with pytest.raises(ValueError, match=message):
        next_occurrence(Recurrence(frequency="daily"), **(kwargs | override))


def test_result_is_utc_and_independent_of_input_offsets() -> None:
    start = at(2024, 6, 3)
    got = next_occurrence(
        Recurrence(frequency="daily"),
        series_start=start.astimezone(ZoneInfo("Asia/Tokyo")),
        previous_due=start.astimezone(UTC),
        tz=BERLIN,
        now=LONG_AGO,
        occurrence=1,
    )
    assert got == at(2024, 6, 4)
    assert got is not None
    assert got.tzinfo is UTC
