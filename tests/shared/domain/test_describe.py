from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from shared.domain.describe import occurrences, preview, say_when, summarize, when_would
from shared.domain.recurrence import Recurrence

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(y: int, m: int, d: int, h: int = 9, mi: int = 0, tz: str = BERLIN) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo(tz))


def iso(dates: list[datetime]) -> list[str]:
    return [d.isoformat() for d in dates]


def test_weekly_across_spring_forward_keeps_local_time_and_changes_offset() -> None:
    dates, ends = occurrences(Recurrence(frequency="weekly"), at(2026, 3, 22), BERLIN, 3)
    assert iso(dates) == [
        "2026-03-22T09:00:00+01:00",
        "2026-03-29T09:00:00+02:00",  # Berlin switched to summer time that night
        "2026-04-05T09:00:00+02:00",
    ]
    assert not ends


def test_daily_across_fall_back_in_new_york() -> None:
    dates, _ = occurrences(
        Recurrence(frequency="daily"), at(2026, 10, 31, 8, 30, NEW_YORK), NEW_YORK, 3
    )
    assert [d.strftime("%d %H:%M %z") for d in dates] == [
        "31 08:30 -0400",
        "01 08:30 -0500",
        "02 08:30 -0500",
    ]


def test_month_ends_fall_back_to_the_last_day_and_return_to_the_31st() -> None:
    dates, _ = occurrences(Recurrence(frequency="monthly"), at(2027, 1, 31), BERLIN, 5)
    assert [d.date().isoformat() for d in dates] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
    ]


def test_feb_29_yearly_uses_feb_28_in_common_years() -> None:
    p = preview(Recurrence(frequency="yearly"), at(2028, 2, 29), BERLIN, 5)
    assert [d.date().isoformat() for d in p.occurrences] == [
        "2028-02-29",
        "2029-02-28",
        "2030-02-28",
        "2031-02-28",
        "2032-02-29",
    ]
    assert p.summary == "every year on 29 Feb (28 Feb in other years) at 09:00"


def test_count_ends_the_preview_early() -> None:
    dates, ends = occurrences(Recurrence(frequency="daily", count=3), at(2026, 5, 1), BERLIN, 5)
    assert len(dates) == 3
    assert ends
    dates, ends = occurrences(Recurrence(frequency="daily", count=3), at(2026, 5, 1), BERLIN, 3)
    assert len(dates) == 3
    assert ends


def test_until_is_inclusive_and_ends_the_preview() -> None:
    rec = Recurrence(rrule="FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20270331")
    p = preview(rec, at(2027, 1, 31), BERLIN, 5)
    assert [d.date().isoformat() for d in p.occurrences] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
    ]
    assert p.ends
    assert p.summary == "every month on the last day at 09:00, until 31 Mar"


def test_preview_agrees_with_recurrings_next_occurrence_for_a_long_series() -> None:
    rec = Recurrence(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH")
    dates, _ = occurrences(rec, at(2026, 1, 6, 18), BERLIN, 50)
    assert len(dates) == 50
    assert all(d.strftime("%a %H:%M") in ("Tue 18:00", "Thu 18:00") for d in dates)
    assert all(b > a for a, b in zip(dates, dates[1:], strict=False))


@pytest.mark.parametrize(
    ("rec", "start", "summary"),
    [
        (
            Recurrence(frequency="weekly", interval=2),
            at(2026, 12, 10),
            "every other week on Thursday at 09:00",
        ),
        (Recurrence(frequency="daily", interval=3), at(2026, 12, 10), "every 3 days at 09:00"),
        (
            Recurrence(frequency="weekly", weekdays=["MO", "TU", "WE", "TH", "FR"]),
            at(2026, 12, 10),
            "every weekday at 09:00",
        ),
        (
            Recurrence(frequency="monthly"),
            at(2027, 1, 30, 7, 15),
            "every month on the 30th (the last day in shorter months) at 07:15",
        ),
        (Recurrence(frequency="monthly"), at(2027, 1, 15), "every month on the 15th at 09:00"),
        (
            Recurrence(rrule="FREQ=MONTHLY;BYDAY=-1FR"),
            at(2026, 3, 27),
            "every month on the last Friday at 09:00",
        ),
        (
            Recurrence(rrule="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
            at(2026, 3, 31),
            "every month on the last weekday at 09:00",
        ),
        (
            Recurrence(rrule="FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
            at(2026, 11, 26),
            "every year on the 4th Thursday of November at 09:00",
        ),
        (
            Recurrence(frequency="daily", count=1),
            at(2026, 11, 26),
            "every day at 09:00, once",
        ),
        (
            Recurrence(frequency="daily", basis="completion", until=at(2027, 1, 2, 23)),
            at(2026, 11, 26),
            "every day at 09:00, until 2 Jan 2027, counted from each completion",
        ),
        (
            Recurrence(rrule="FREQ=DAILY;BYMONTH=6,7"),
            at(2026, 6, 1),
            "every day in June and July at 09:00",
        ),
    ],
)
def test_summaries(rec: Recurrence, start: datetime, summary: str) -> None:
    assert summarize(rec, start, BERLIN) == summary


def test_say_when_names_the_next_two_dates() -> None:
    text = say_when(Recurrence(frequency="weekly", interval=2), at(2026, 12, 10), BERLIN)
    assert text == (
        "every other week on Thursday at 09:00: next on Thu 10 Dec 2026 and Thu 24 Dec 2026"
    )


def test_bad_arguments_are_refused() -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - naive on purpose: refused
    with pytest.raises(ValueError, match="aware"):
        occurrences(Recurrence(frequency="daily"), naive, BERLIN, 3)
    with pytest.raises(ValueError, match="n must be"):
        occurrences(Recurrence(frequency="daily"), at(2026, 1, 1), BERLIN, 0)
    with pytest.raises(ValueError, match="unknown time zone"):
        occurrences(Recurrence(frequency="daily"), at(2026, 1, 1), "Mars/Olympus", 3)


def test_when_would_every_other_thursday_fall_from_a_friday() -> None:
    rec = Recurrence(frequency="weekly", interval=2, weekdays=["TH"])
    now = at(2026, 12, 4, 15)  # a Friday afternoon
    assert when_would(rec, BERLIN, now) == (
        "every other week on Thursday at 09:00: next on Thu 10 Dec 2026 and Thu 24 Dec 2026"
    )


def test_when_would_takes_today_if_the_time_is_still_ahead() -> None:
    rec = Recurrence(rrule="FREQ=MONTHLY;BYMONTHDAY=-1")
    text = when_would(rec, BERLIN, at(2027, 1, 31, 8), at=time(18), n=3)
    assert text == (
        "every month on the last day at 18:00: next on Sun 31 Jan 2027, Sun 28 Feb 2027 "
        "and Wed 31 Mar 2027"
    )
