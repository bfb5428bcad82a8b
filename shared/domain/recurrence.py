"""Recurring tasks: the rule a user gives and the next due date it yields (DESIGN §4).

Everything is computed on naive wall-clock datetimes in the task's IANA zone with
``dateutil.rrule`` and attached to the zone only at the end, so 09:00 stays 09:00 across
DST; fixed-second arithmetic would drift by an hour twice a year.

Series model used by :func:`next_occurrence`:

* ``series_start`` is the first due date of the series. It fixes the interval phase
  ("every 2 weeks" counts from its week), the intended day (the 31st, Feb 29, the
  weekday of a plain weekly rule) and the wall-clock time of every occurrence. Carry it
  unchanged from occurrence to occurrence; start a new series when the user moves it.
* ``occurrence`` is the 1-based number of the occurrence just completed. ``count`` caps
  the number of occurrences (tasks) in the series: missed slots skipped by ``basis: due``
  do not use it up.
* ``until`` is inclusive. A date-only RRULE ``UNTIL`` lasts to the end of that local day.
* Occurrences have whole-second precision (dateutil drops microseconds).
* A wall-clock time that does not exist on a spring-forward day is shifted forward by
  the gap (02:30 becomes 03:30); an ambiguous one on a fall-back day takes the first
  (summer-time) instant.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, available_timezones

from dateutil import rrule as du
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from shared.domain.bounds import BoundedDatetime, in_range

__all__ = [
    "Basis",
    "Frequency",
    "Recurrence",
    "TimeZoneName",
    "Weekday",
    "next_occurrence",
    "validate_timezone",
]

Frequency = Literal["daily", "weekly", "monthly", "yearly"]
Basis = Literal["due", "completion"]
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

# "localtime" follows the host's clock and "Factory" has no real offset: neither names a
# place, so a task in them would change meaning between machines.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA zone, else raise ``ValueError``."""
    if name not in _zone_names():
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'")
    return name


TimeZoneName = Annotated[str, AfterValidator(validate_timezone)]
"""A pydantic field type for an IANA time zone name."""


# --- RRULE subset ----------------------------------------------------------------------

_DAY = r"(MO|TU|WE|TH|FR|SA|SU)"
_BYDAY_ITEM = re.compile(rf"([+-]?\d{{1,2}})?{_DAY}")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")
_SUB_DAILY = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
# Every rule must keep producing occurrences quickly: dateutil scans to year 9999 when a
# rule can never match, so only parts whose combinations stay cheap are accepted.
_ALLOWED_BY: dict[str, frozenset[str]] = {
    "DAILY": frozenset({"BYDAY", "BYMONTH"}),
    "WEEKLY": frozenset({"BYDAY", "BYMONTH"}),
    "MONTHLY": frozenset({"BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}),
    "YEARLY": frozenset({"BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}),
}
_BYDAY_ORDINAL = {"DAILY": 0, "WEEKLY": 0, "MONTHLY": 5, "YEARLY": 53}
_KNOWN = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}
)
_UNSUPPORTED = {
    "DTSTART": "DTSTART is not supported: the series starts at the task's due_at",
    "BYHOUR": "BYHOUR is not supported: the time of day comes from the task's due_at",
    "BYMINUTE": "BYMINUTE is not supported: the time of day comes from the task's due_at",
    "BYSECOND": "BYSECOND is not supported: the time of day comes from the task's due_at",
    "BYYEARDAY": "BYYEARDAY is not supported; use BYMONTH with BYMONTHDAY",
    "BYWEEKNO": "BYWEEKNO is not supported; use WEEKLY with INTERVAL",
    "BYEASTER": "BYEASTER is not supported",
}
_MAX_INTERVAL = 1000


def _ints(name: str, value: str, bound: int, *, negative: bool) -> None:
    for item in value.split(","):
        try:
            n = int(item)
        except ValueError:
            raise ValueError(f"{name}={value}: {item!r} is not a number") from None
        if n == 0 or abs(n) > bound or (n < 0 and not negative):
            span = f"-{bound}..-1 or 1..{bound}" if negative else f"1..{bound}"
            raise ValueError(f"{name}={value}: {n} is outside {span}")


def _parse_until(value: str) -> date | datetime:
    m = _UNTIL.fullmatch(value)
    if m is None or (m[2] is not None and m[3] != "Z"):
        raise ValueError(
            f"UNTIL={value}: use a UTC date-time (YYYYMMDDTHHMMSSZ) or a date (YYYYMMDD)"
        )
    try:
        if m[2] is None:
            until: date | datetime = date.fromisoformat(m[1])  # YYYYMMDD, checked
        else:
            until = datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"UNTIL={value} is not a valid date") from None
    try:
        in_range(until if isinstance(until, datetime) else datetime.combine(until, time(), UTC))
    except ValueError as exc:
        raise ValueError(f"UNTIL={value}: {exc}") from None
    return until


def _parse_rrule(text: str) -> dict[str, str]:
    """Split an RRULE into its parts and check them; raises ValueError naming the part."""
    body = text.strip().upper().removeprefix("RRULE:")
    if "\n" in body or ":" in body:
        raise ValueError("give one RRULE line only; DTSTART, RDATE and EXDATE are not supported")
    parts: dict[str, str] = {}
    for chunk in filter(None, (c.strip() for c in body.split(";"))):
        name, sep, value = (s.strip() for s in chunk.partition("="))
        if not sep or not name or not value:
            raise ValueError(f"{chunk!r} is not NAME=VALUE")
        if name in _UNSUPPORTED:
            raise ValueError(_UNSUPPORTED[name])
        if name not in _KNOWN:
            raise ValueError(f"unknown RRULE part {name}")
        if name in parts:
            raise ValueError(f"{name} is given twice")
        parts[name] = value

    freq = parts.get("FREQ")
    if freq is None:
        raise ValueError("FREQ is required")
    if freq in _SUB_DAILY:
        raise ValueError(f"FREQ={freq} is finer than DAILY; tasks repeat at most daily")
    if freq not in _ALLOWED_BY:
        raise ValueError(f"FREQ={freq} is unknown; use DAILY, WEEKLY, MONTHLY or YEARLY")
    for name in parts:
        if name.startswith("BY") and name not in _ALLOWED_BY[freq]:
            raise ValueError(f"{name} is not supported with FREQ={freq}")
    if "INTERVAL" in parts:
        _ints("INTERVAL", parts["INTERVAL"], _MAX_INTERVAL, negative=False)
        if "," in parts["INTERVAL"]:
            raise ValueError("INTERVAL takes one number")
    if "COUNT" in parts:
        _ints("COUNT", parts["COUNT"], 1_000_000, negative=False)
        if "," in parts["COUNT"]:
            raise ValueError("COUNT takes one number")
    if "UNTIL" in parts:
        if "COUNT" in parts:
            raise ValueError("UNTIL and COUNT cannot be used together")
        _parse_until(parts["UNTIL"])
    if "WKST" in parts and re.fullmatch(_DAY, parts["WKST"]) is None:
        raise ValueError(f"WKST={parts['WKST']} is not a weekday (MO..SU)")
    if "BYMONTH" in parts:
        _ints("BYMONTH", parts["BYMONTH"], 12, negative=False)
    if "BYMONTHDAY" in parts:
        _ints("BYMONTHDAY", parts["BYMONTHDAY"], 31, negative=True)
    if "BYSETPOS" in parts:
        _ints("BYSETPOS", parts["BYSETPOS"], 366, negative=True)
        if not {"BYDAY", "BYMONTHDAY"} & parts.keys():
            raise ValueError("BYSETPOS needs BYDAY or BYMONTHDAY to pick from")
    if "BYDAY" in parts:
        _check_byday(parts["BYDAY"], freq)
    if freq == "DAILY" and "BYDAY" in parts and int(parts.get("INTERVAL", "1")) % 7 == 0:
        raise ValueError("FREQ=DAILY with BYDAY and an INTERVAL in whole weeks; use WEEKLY")
    return parts


def _check_byday(value: str, freq: str) -> None:
    bound = _BYDAY_ORDINAL[freq]
    for item in value.split(","):
        m = _BYDAY_ITEM.fullmatch(item)
        if m is None:
            raise ValueError(f"BYDAY={value}: {item!r} is not a weekday like MO or -1FR")
        if m[1] is not None:
            n = int(m[1])
            if bound == 0:
                raise ValueError(f"BYDAY={value}: ordinals like {item} need MONTHLY or YEARLY")
            if n == 0 or abs(n) > bound:
                raise ValueError(f"BYDAY={value}: {item} is outside -{bound}..{bound}")


def _build(parts: dict[str, str], dtstart: datetime) -> du.rrule | du.rruleset:
    """An rrule on naive local time that keeps the intended day of month.

    RFC 5545 skips months that lack the start day; users mean "the 31st, or the last day
    when there is none", so a start day past the 28th becomes "the last of 28..day" in
    each period. Anchoring to ``dtstart`` (not the previous result) is what brings the
    series back to the 31st after a short month.
    """
    parts = dict(parts)
    parts.setdefault("WKST", "MO")  # the RFC default; dateutil would follow the locale
    freq = parts["FREQ"]
    own_day = not {"BYDAY", "BYMONTHDAY", "BYSETPOS"} & parts.keys()
    if own_day and dtstart.day > 28 and freq in ("MONTHLY", "YEARLY"):
        if freq == "YEARLY":
            parts.setdefault("BYMONTH", str(dtstart.month))
        if freq == "MONTHLY" or "," not in parts["BYMONTH"]:
            parts["BYMONTHDAY"] = ",".join(str(d) for d in range(28, dtstart.day + 1))
            parts["BYSETPOS"] = "-1"
    return du.rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=dtstart)


@dataclass(frozen=True)
class _Rule:
    parts: dict[str, str]  # without COUNT and UNTIL, which next_occurrence applies itself
    count: int | None
    until: date | datetime | None


# --- the model -------------------------------------------------------------------------

_STRUCTURED = ("frequency", "interval", "weekdays", "until", "count")


class Recurrence(BaseModel):
    """How a task repeats: ``{frequency, interval, weekdays?, until?, count?, basis}``
    or ``{rrule: "FREQ=...", basis?}`` (a single RRULE line, no DTSTART)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frequency: Frequency | None = None
    interval: int | None = Field(default=None, ge=1, le=_MAX_INTERVAL)
    weekdays: list[Weekday] | None = Field(default=None, min_length=1)
    until: BoundedDatetime | None = None
    count: int | None = Field(default=None, ge=1)
    rrule: str | None = Field(default=None, min_length=1, max_length=500)
    basis: Basis = "due"

    @model_validator(mode="before")
    @classmethod
    def _interval_defaults_to_one(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("frequency") is not None
            and data.get("rrule") is None
            and data.get("interval") is None
        ):
            return {**data, "interval": 1}
        return data

    @field_validator("weekdays")
    @classmethod
    def _unique_weekdays(cls, value: list[Weekday] | None) -> list[Weekday] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("weekdays must not repeat")
        return value

    @field_validator("until")
    @classmethod
    def _until_in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @field_validator("rrule")
    @classmethod
    def _valid_rrule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = _parse_rrule(value)
        probe = {k: v for k, v in parts.items() if k not in ("INTERVAL", "COUNT", "UNTIL")}
        try:
            # Interval phase depends on the real start, so only ask whether the BY parts
            # can ever match at all.
            probe_start = datetime(2000, 1, 1)  # noqa: DTZ001 - _build runs on naive wall time
            ever = _build(probe, probe_start).after(probe_start, inc=True)
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"invalid RRULE: {exc}") from None
        if ever is None:
            raise ValueError("this RRULE never produces an occurrence")
        return ";".join(f"{k}={v}" for k, v in parts.items())

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        given = [name for name in _STRUCTURED if getattr(self, name) is not None]
        if self.rrule is not None and given:
            raise ValueError(f"rrule cannot be combined with {', '.join(given)}")
        if self.rrule is None and self.frequency is None:
            raise ValueError("give either frequency (with interval, weekdays, ...) or rrule")
        if self.until is not None and self.count is not None:
            raise ValueError("until and count cannot be used together")
        if self.weekdays and self.frequency in ("monthly", "yearly"):
            raise ValueError("weekdays apply to daily or weekly only; use rrule for more")
        if self.weekdays and self.frequency == "daily" and (self.interval or 1) % 7 == 0:
            raise ValueError("daily with weekdays and an interval in whole weeks; use weekly")
        return self

    def _rule(self) -> _Rule:
        if self.rrule is not None:
            parts = _parse_rrule(self.rrule)
            count, until = parts.pop("COUNT", None), parts.pop("UNTIL", None)
            return _Rule(
                parts,
                None if count is None else int(count),
                None if until is None else _parse_until(until),
            )
        assert self.frequency is not None  # guaranteed by _one_form
        parts = {"FREQ": self.frequency.upper(), "INTERVAL": str(self.interval or 1)}
        if self.weekdays:
            parts["BYDAY"] = ",".join(self.weekdays)
        return _Rule(parts, self.count, self.until)


# --- next occurrence -------------------------------------------------------------------


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _first_after(
    rule: du.rrule | du.rruleset, zone: ZoneInfo, floor: datetime, after: datetime
) -> datetime | None:
    """First occurrence at or after the naive local ``floor`` whose instant is > ``after``.

    Occurrences are at least a day apart and share one time of day, so naive order is
    instant order and a floor a day early absorbs any DST shift.
    """
    for naive in rule.xafter(floor, inc=True):
        instant = naive.replace(tzinfo=zone).astimezone(UTC)
        if instant > after:
            return instant
    return None


def next_occurrence(
    rec: Recurrence,
    *,
    series_start: datetime,
    previous_due: datetime,
    tz: str,
    now: datetime,
    occurrence: int,
    completed_at: datetime | None = None,
) -> datetime | None:
    """The due date (aware, UTC) of the occurrence after ``occurrence``, or None when the
    series has ended.

    ``basis: due``: the first occurrence of the series strictly after ``previous_due``; if
    that one is already past ``now``, the first strictly after ``now`` instead, so missed
    occurrences are skipped once rather than piling up.

    ``basis: completion``: the series is restarted on the local date of ``completed_at``
    (``now`` when not given) at ``series_start``'s wall-clock time, and the first of its
    occurrences on a later local date wins, e.g. daily → the next day, monthly → the same
    day next month, weekly MO/WE/FR → the next listed weekday. It is never at or before
    ``previous_due``, so completing early does not move the series backwards.

    Pass the completion event's time as ``now`` so that replays compute the same date.
    """
    moments = {"series_start": series_start, "previous_due": previous_due, "now": now}
    moments["completed_at"] = completed_at or now
    for name, moment in moments.items():
        if moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if occurrence < 1:
        raise ValueError("occurrence is 1-based: the number of the occurrence just completed")
    zone = ZoneInfo(validate_timezone(tz))
    rule = rec._rule()
    if rule.count is not None and occurrence >= rule.count:
        return None

    start = _local(series_start, zone)
    if rec.basis == "due":
        after = max(previous_due, now)
        found = _first_after(
            _build(rule.parts, start), zone, _local(after, zone) - timedelta(days=1), after
        )
    else:
        done_on = _local(moments["completed_at"], zone).date()
        restart = datetime.combine(done_on, start.time())
        floor = datetime.combine(done_on + timedelta(days=1), time())
        found = _first_after(_build(rule.parts, restart), zone, floor, previous_due)

    if found is None or _past_until(found, rule.until, zone):
        return None
    return found


def _past_until(instant: datetime, until: date | datetime | None, zone: ZoneInfo) -> bool:
    if isinstance(until, datetime):
        return instant > until
    if isinstance(until, date):
        return instant.astimezone(zone).date() > until
    return False
