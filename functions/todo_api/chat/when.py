"""Dates and times in chat messages: "tomorrow 9am", "next friday", "in 2 hours", "on the 3rd".

Pure: the current time and zone are passed in. Day phrases go to dateparser; the
parts it gets wrong (ordinal days of the month, bare hours like "at 9") are read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser
from dateutil.relativedelta import relativedelta

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# A weekday as people write it ("mon", "tues", "thursday"): the grammar modules share it.
WEEKDAY_WORD = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?"
MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"

TIME = re.compile(
    r"\b(?:at\s+)?(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)"
    r"|\bat\s+(?P<h2>\d{1,2})(?::(?P<m2>\d{2}))?\b(?!\s*(?:minutes?|mins?|hours?|hrs?|days?))"
    r"|(?<![\d:/.])(?:(?:for|by|until|till|before|around|about|@)\s+)?(?P<h3>\d{1,2}):(?P<m3>\d{2})"
    r"(?![\d:])"
    r"|\b(?P<word>noon|midday|midnight)\b",
    re.I,
)
DAY_WORDS = {
    "tonight": time(20, 0),
    "this evening": time(18, 0),
    "this morning": time(9, 0),
    "this afternoon": time(15, 0),
}
DAY = re.compile(
    r"\b(?:(?P<off>an?|one|two|three|four|\d{1,2})\s+(?P<offu>days?|weeks?)\s+(?:from|after)\s+"
    rf"(?:(?P<offnext>next|this|coming)\s+)?(?P<anchor>tomorrow|{WEEKDAY_WORD})"
    r"|(?P<rel>(?:the\s+)?day after tomorrow|today|tonight|tomorrow"
    r"|this (?:evening|morning|afternoon))"
    rf"|(?:on\s+)?(?P<next>next|this|coming)?\s*(?P<wd>{WEEKDAY_WORD})\b"
    r"|(?:on\s+)?the\s+(?P<ord>\d{1,2})(?:st|nd|rd|th)\b(?:\s+of\s+(?P<ordmonth>"
    + MONTHS
    + r"|next month|this month))?"
    rf"|(?:on\s+)?(?P<md>{MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS}(?:\s+\d{{4}})?)"
    r"|(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?:on\s+)?(?P<slash>\d{1,2}/\d{1,2}(?:/\d{2,4})?)"
    r"|in\s+(?P<n>\d+|an?|one|two|three|a couple of)\s+"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)"
    r"|(?P<nextweek>next week|next month|next year|end of (?:the )?(?:day|week|month)"
    r"|(?:this|next|the)\s+weekend))\b",
    re.I,
)
_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "a couple of": 2}


@dataclass(frozen=True)
class Found:
    at: datetime | None  # aware, in the user's zone
    start: int
    end: int
    has_time: bool


def parse_time(text: str, context: str = "") -> tuple[time, int, int] | None:
    """The first clock time; `context` is the whole message, for "morning" hints."""
    m = TIME.search(text)
    if m is None:
        return None
    if m.group("word"):
        t = time(12, 0) if m.group("word").lower() in ("noon", "midday") else time(0, 0)
        return t, m.start(), m.end()
    h = int(m.group("h") or m.group("h2") or m.group("h3"))
    minute = int(m.group("m") or m.group("m2") or m.group("m3") or 0)
    ap = (m.group("ap") or "").replace(".", "").lower()
    if ap == "pm" and h < 12:
        h += 12
    elif ap == "am" and h == 12:
        h = 0
    elif not ap and 1 <= h <= 6 and not re.search(r"\bmorning\b", context or text, re.I):
        h += 12  # "at 5" means 17:00 for a task, unless it says morning
    elif (
        not ap
        and 7 <= h < 12
        and re.search(r"\b(?:evening|tonight|night)s?\b", context or text, re.I)
        and not re.search(r"\bmornings?\b", context or text, re.I)
    ):
        h += 12  # "this evening at quarter to 8"
    if h > 23 or minute > 59:
        return None
    return time(h, minute), m.start(), m.end()


_MONTH_NO = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
)}  # fmt: skip
_MD = re.compile(
    r"^(?:(?P<m1>[a-z]+)\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+"
    r"(?:of\s+)?(?P<m2>[a-z]+))(?:,?\s+(?P<y>\d{4}))?$",
    re.I,
)


def _ahead(month: int, day: int, year: int | None, today: date) -> date | None:
    """That day of that month: in the year given, else the next one still to come."""
    for y in [year] if year else range(today.year, today.year + 9):  # Feb 29: a leap year
        try:
            found = date(y, month, day)
        except ValueError:
            continue
        if year or found >= today:
            return found
    return None


def _month_day(text: str, today: date) -> date | None:
    """ "dec 24", "24 december", "january 3rd 2027": read here, without dateparser's cost."""
    m = _MD.match(text.strip())
    if m is None:
        return _dateparser(text, datetime.combine(today, time()), "")
    month = _MONTH_NO.get((m.group("m1") or m.group("m2")).lower()[:3])
    if month is None:
        return None
    day = int(m.group("d1") or m.group("d2"))
    return _ahead(month, day, int(m.group("y")) if m.group("y") else None, today)


def _slash_date(text: str, today: date, order: str) -> date | None:
    parts = [int(p) for p in text.split("/")]
    month, day = (parts[0], parts[1]) if order == "MDY" else (parts[1], parts[0])
    year = parts[2] if len(parts) > 2 else None
    if year is not None and year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return None
    return _ahead(month, day, year, today)


@lru_cache(maxsize=512)
def _dateparser(text: str, base: datetime, order: str) -> date | None:
    settings: dict[str, object] = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base}
    if order:
        settings["DATE_ORDER"] = order
    parsed = dateparser.parse(text, settings=settings)
    return parsed.date() if parsed else None


def _next_ordinal_day(day: int, today: date, month: str | None) -> date | None:
    if month:
        return _month_day(f"{month} {day}", today)
    for ahead in range(0, 13):
        first = today.replace(day=1) + relativedelta(months=ahead)
        try:
            candidate = first.replace(day=day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


_PART = re.compile(r"\s+(?:in\s+the\s+)?(morning|afternoon|evening|night)\b", re.I)
_PART_TIMES = {"morning": time(9, 0), "afternoon": time(15, 0), "evening": time(18, 0),
               "night": time(20, 0)}  # fmt: skip


def parse_day(text: str, now: datetime) -> tuple[date | None, time | None, int, int, bool] | None:
    """(date, implied time, start, end, exact instant?) of the first day phrase; "friday
    morning", "tomorrow evening" imply a time of day."""
    found = _parse_day(text, now)
    if found is None:
        return None
    d, implied, start, end, exact = found
    if not exact and (part := _PART.match(text, end)):
        return d, implied or _PART_TIMES[part.group(1).lower()], start, part.end(), exact
    return found


def _parse_day(text: str, now: datetime) -> tuple[date | None, time | None, int, int, bool] | None:
    m = DAY.search(text)
    if m is None:
        return None
    today = now.date()
    base = now.replace(tzinfo=None)
    if m.group("anchor"):
        # "a week from monday", "two days after tomorrow": that day, then the offset.
        anchor = _parse_day(f"{m.group('offnext') or ''} {m.group('anchor')}".strip(), now)
        if anchor is None or anchor[0] is None:
            return None
        n = _NUM.get(m.group("off").lower()) or int(m.group("off"))
        step = timedelta(weeks=n) if m.group("offu").lower().startswith("week") else timedelta(n)
        return anchor[0] + step, None, m.start(), m.end(), False
    if rel := m.group("rel"):
        rel = re.sub(r"^the\s+", "", rel.lower())
        if rel == "day after tomorrow":
            return today + timedelta(days=2), None, m.start(), m.end(), False
        if rel == "tomorrow":
            return today + timedelta(days=1), None, m.start(), m.end(), False
        return today, DAY_WORDS.get(rel), m.start(), m.end(), False
    if wd := m.group("wd"):
        index = next(i for i, name in enumerate(WEEKDAYS) if name.startswith(wd.lower()[:3]))
        ahead = (index - today.weekday()) % 7
        if ahead == 0 or (m.group("next") or "").lower() == "next" and ahead < 7:
            ahead = ahead or 7
        if week := re.match(r"\s+(?:of\s+)?next\s+week\b", text[m.end() :], re.I):
            # "wednesday next week": that day of the coming Monday-to-Sunday week.
            monday = today + timedelta(days=7 - today.weekday())
            return monday + timedelta(days=index), None, m.start(), m.end() + week.end(), False
        return today + timedelta(days=ahead), None, m.start(), m.end(), False
    if m.group("ord"):
        month = (m.group("ordmonth") or "").lower()
        if month in ("next month", "this month"):
            first = today.replace(day=1) + relativedelta(months=1 if month == "next month" else 0)
            try:
                return first.replace(day=int(m.group("ord"))), None, m.start(), m.end(), False
            except ValueError:
                return None
        found = _next_ordinal_day(int(m.group("ord")), today, m.group("ordmonth"))
        return (found, None, m.start(), m.end(), False) if found else None
    if slash := m.group("slash"):
        # 12/18 is month/day in the Americas, day/month elsewhere.
        zone = getattr(now.tzinfo, "key", "")
        order = "MDY" if str(zone).startswith("America/") else "DMY"
        found = _slash_date(slash, today, order)
        return (found, None, m.start(), m.end(), False) if found else None
    if md := m.group("md") or m.group("iso"):
        found = _month_day(md, today) if m.group("md") else _dateparser(md, base, "")
        return (found, None, m.start(), m.end(), False) if found else None
    if m.group("n"):
        n = _NUM.get(m.group("n").lower()) or int(m.group("n"))
        unit = m.group("unit").lower().rstrip("s")
        unit = {"min": "minute", "hr": "hour"}.get(unit, unit)
        steps = {
            "minute": timedelta(minutes=n),
            "hour": timedelta(hours=n),
            "day": timedelta(days=n),
            "week": timedelta(weeks=n),
        }
        later = relativedelta(years=n) if unit == "year" else relativedelta(months=n)
        exact = now + steps.get(unit, later)
        return (
            exact.date(),
            exact.time().replace(second=0, microsecond=0),
            m.start(),
            m.end(),
            unit in ("minute", "hour"),
        )
    phrase = m.group("nextweek").lower()
    if phrase == "next week":
        return today + timedelta(days=7 - today.weekday()), None, m.start(), m.end(), False
    if phrase.endswith("weekend"):
        ahead = (5 - today.weekday()) % 7 + (7 if phrase.startswith("next") else 0)
        return today + timedelta(days=ahead), None, m.start(), m.end(), False
    if phrase == "next month":
        return (today.replace(day=1) + relativedelta(months=1)), None, m.start(), m.end(), False
    if phrase == "next year":  # a year from today: no better guess for "renew it next year"
        return today + relativedelta(years=1), None, m.start(), m.end(), False
    if "day" in phrase:
        return today, time(18, 0), m.start(), m.end(), False
    if "week" in phrase:
        return (
            today + timedelta(days=(4 - today.weekday()) % 7),
            time(17, 0),
            m.start(),
            m.end(),
            False,
        )
    last = (today.replace(day=1) + relativedelta(months=1)) - timedelta(days=1)
    return last, time(17, 0), m.start(), m.end(), False


DEFAULT_TIME = time(9, 0)


def find_when(
    text: str, now: datetime, tz: str, context: str = ""
) -> tuple[datetime | None, list[tuple[int, int]]]:
    """The due moment named in `text` (aware, user's zone) and the spans it came from."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    spans: list[tuple[int, int]] = []
    day = parse_day(text, local)
    clock = parse_time(text, context)
    if day is None and clock is None:
        return None, []
    when_date: date
    when_time: time
    if day is not None:
        d, implied, s, e, exact = day
        spans.append((s, e))
        if d is None:
            return None, []
        when_date, when_time = d, implied or DEFAULT_TIME
        if exact:
            return datetime.combine(d, implied or DEFAULT_TIME, zone), spans
    else:
        when_date, when_time = local.date(), DEFAULT_TIME
    if clock is not None:
        t, s, e = clock
        spans.append((s, e))
        when_time = t
        if day is None and datetime.combine(local.date(), t, zone) <= local:
            when_date = local.date() + timedelta(days=1)  # "at 9am" after 9am: tomorrow
    return datetime.combine(when_date, when_time, zone), spans
