from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.recurrence import Recurrence, Weekday, next_occurrence

SETTINGS = settings(max_examples=200, deadline=None)
# DST zones on both hemispheres, a half-hour zone and UTC; none switches at midnight, so
# a local date always has the intended wall-clock time or the one shifted by the gap.
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
WEEKDAYS: list[Weekday] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

zones = st.sampled_from(ZONES)
wall_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
days = st.dates(date(2000, 1, 1), date(2060, 12, 31))
lateness = st.timedeltas(timedelta(days=-30), timedelta(days=800))


@st.composite
def recurrences(draw: st.DrawFn, basis: str = "due") -> Recurrence:
    frequency = draw(st.sampled_from(["daily", "weekly", "monthly", "yearly"]))
    interval = draw(st.integers(1, 4))
    weekdays = None
    if frequency == "weekly" and draw(st.booleans()):
        weekdays = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    return Recurrence.model_validate(
        {"frequency": frequency, "interval": interval, "weekdays": weekdays, "basis": basis}
    )


def aware(day: date, wall: time, tz: str) -> datetime:
    return datetime.combine(day, wall, tzinfo=ZoneInfo(tz))


def intended(moment: datetime, wall: time, tz: str) -> datetime:
    """The instant of `wall` on `moment`'s local date (shifted forward if it does not exist)."""
    return aware(moment.astimezone(ZoneInfo(tz)).date(), wall, tz).astimezone(UTC)


@SETTINGS
@given(recurrences(), zones, days, wall_times, lateness)
def test_basis_due_is_after_previous_due_and_now(
    rec: Recurrence, tz: str, day: date, wall: time, late: timedelta
) -> None:
    start = aware(day, wall, tz)
    now = start + late
    got = next_occurrence(rec, series_start=start, previous_due=start, tz=tz, now=now, occurrence=1)
    assert got is not None
    assert got > start
    assert got > now
    assert got.tzinfo is UTC
    assert got == intended(got, wall, tz)  # wall-clock time kept, whatever the DST state


@SETTINGS
@given(recurrences(basis="completion"), zones, days, wall_times, lateness)
def test_basis_completion_is_after_previous_due_and_completion_day(
    rec: Recurrence, tz: str, day: date, wall: time, late: timedelta
) -> None:
    start = aware(day, wall, tz)
    completed = start + late
    got = next_occurrence(
        rec,
        series_start=start,
        previous_due=start,
        completed_at=completed,
        now=completed,
        tz=tz,
        occurrence=1,
    )
    assert got is not None
    assert got > start
    zone = ZoneInfo(tz)
    assert got.astimezone(zone).date() > completed.astimezone(zone).date()
    assert got == intended(got, wall, tz)


@SETTINGS
@given(
    st.sampled_from(["daily", "weekly"]),
    st.integers(1, 3),
    zones,
    days,
    wall_times,
    st.integers(1, 40),
)
def test_chains_keep_wall_clock_time_and_phase(
    frequency: str, interval: int, tz: str, day: date, wall: time, steps: int
) -> None:
    rec = Recurrence.model_validate({"frequency": frequency, "interval": interval})
    start = aware(day, wall, tz)
    previous = start
    period = timedelta(days=interval * (7 if frequency == "weekly" else 1))
    for occurrence in range(1, steps + 1):
        got = next_occurrence(
            rec,
            series_start=start,
            previous_due=previous,
            tz=tz,
            now=start - timedelta(days=1),
            occurrence=occurrence,
        )
        assert got is not None
        assert got == intended(got, wall, tz)
        local_day = got.astimezone(ZoneInfo(tz)).date()
        assert local_day - previous.astimezone(ZoneInfo(tz)).date() == period
        previous = got


@SETTINGS
@given(
    st.integers(2000, 2060),
    st.integers(1, 12),
    st.integers(29, 31),
    st.integers(1, 3),
    zones,
    wall_times,
    st.integers(0, 3650),
)
def test_monthly_lands_on_min_of_anchor_day_and_month_end(
    year: int, month: int, anchor: int, interval: int, tz: str, wall: time, later: int
) -> None:
    anchor = min(anchor, calendar.monthrange(year, month)[1])  # a real start date
    start = aware(date(year, month, anchor), wall, tz)
    rec = Recurrence(frequency="monthly", interval=interval)
    got = next_occurrence(
        rec,
        series_start=start,
        previous_due=start,
        tz=tz,
        now=start + timedelta(days=later),
        occurrence=1,
    )
    assert got is not None
    local = got.astimezone(ZoneInfo(tz))
    assert local.day == min(anchor, calendar.monthrange(local.year, local.month)[1])
    assert ((local.year - year) * 12 + local.month - month) % interval == 0
    assert got == intended(got, wall, tz)


@SETTINGS
@given(st.integers(2000, 2096).map(lambda y: y - y % 4), zones, wall_times, st.integers(1, 12))
def test_yearly_feb_29_falls_back_to_feb_28(leap: int, tz: str, wall: time, years: int) -> None:
    start = aware(date(leap, 2, 29), wall, tz)
    got = next_occurrence(
        Recurrence(frequency="yearly"),
        series_start=start,
        previous_due=start,
        tz=tz,
        now=aware(date(leap + years, 1, 1), wall, tz),
        occurrence=1,
    )
    assert got is not None
    local = got.astimezone(ZoneInfo(tz))
    assert (local.year, local.month) == (leap + years, 2)
    assert local.day == (29 if calendar.isleap(local.year) else 28)


@SETTINGS
@given(
    st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
    st.integers(1, 3),
    zones,
    days,
    wall_times,
    lateness,
)
def test_weekly_weekdays_land_on_listed_days_in_phase(
    weekdays: list[Weekday], interval: int, tz: str, day: date, wall: time, late: timedelta
) -> None:
    start = aware(day, wall, tz)
    rec = Recurrence(frequency="weekly", interval=interval, weekdays=weekdays)
    got = next_occurrence(
        rec, series_start=start, previous_due=start, tz=tz, now=start + late, occurrence=1
    )
    assert got is not None
    local = got.astimezone(ZoneInfo(tz)).date()
    assert WEEKDAYS[local.weekday()] in weekdays
    start_week = day - timedelta(days=day.weekday())
    got_week = local - timedelta(days=local.weekday())
    assert ((got_week - start_week).days // 7) % interval == 0
