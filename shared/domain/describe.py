"""A recurrence rule in plain words and its next occurrences, before anything is saved.

Pure: the dates come from :func:`shared.domain.recurrence.next_occurrence`, the same
function recurring uses when a task is completed, so a preview shows exactly the dates
the series will have (DST-correct, the 31st falling back to a short month's last day,
Feb 29 to Feb 28). The first date is the start itself: a task is due at its ``due_at``
and the rule yields the ones after it. For ``basis: completion`` the preview assumes
each occurrence is done on its due day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from shared.domain.recurrence import Recurrence, _build, next_occurrence, validate_timezone

__all__ = [
    "MAX_PREVIEW",
    "Preview",
    "occurrences",
    "preview",
    "say_when",
    "summarize",
    "upcoming",
    "when_would",
]

MAX_PREVIEW = 50

_DAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_ORDER = list(_DAYS)
_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class Preview:
    summary: str
    timezone: str
    occurrences: list[datetime]  # aware, in ``timezone``
    ends: bool  # the series has no occurrence after the last one listed


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _nth(n: int) -> str:
    if n == -1:
        return "last"
    if n < 0:
        return f"{_nth(-n)}-to-last".replace("2nd-to-last", "second-to-last")
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day_list(days: list[str]) -> str:
    ordered = sorted(days, key=_ORDER.index)
    if ordered == _WEEKDAYS:
        return "weekdays (Monday to Friday)"
    if ordered == ["SA", "SU"]:
        return "weekends"
    return _and([_DAYS[d] for d in ordered])


def _byday(value: str) -> tuple[list[str], list[tuple[int, str]]]:
    """Plain weekdays and (ordinal, weekday) pairs of a BYDAY value."""
    plain: list[str] = []
    numbered: list[tuple[int, str]] = []
    for item in value.split(","):
        day = item[-2:]
        if item[:-2]:
            numbered.append((int(item[:-2]), day))
        else:
            plain.append(day)
    return plain, numbered


def _monthdays(value: str) -> str:
    days = [int(d) for d in value.split(",")]
    words = [f"the {_nth(d)} day" if d < 0 else f"the {_nth(d)}" for d in days]
    if days == [-1]:
        return "the last day"
    return _and(words)


def _every(interval: int, unit: str) -> str:
    if interval == 1:
        return f"every {unit}"
    if interval == 2:
        return f"every other {unit}"
    return f"every {interval} {unit}s"


def _on_what(parts: dict[str, str], local: datetime) -> str:
    """Which days of each period, in words ('' when the period itself says it)."""
    freq = parts["FREQ"]
    plain, numbered = _byday(parts["BYDAY"]) if "BYDAY" in parts else ([], [])
    in_month = ""
    if "BYMONTH" in parts:
        in_month = _and([_MONTH_NAMES[int(m) - 1] for m in parts["BYMONTH"].split(",")])
    if "BYSETPOS" in parts:
        pos = _and([_nth(int(p)) for p in parts["BYSETPOS"].split(",")])
        if plain:
            kinds = {"weekdays (Monday to Friday)": "weekday", "weekends": "weekend day"}
            what = kinds.get(_day_list(plain), f"of {_day_list(plain)}")
        else:
            what = f"of {_monthdays(parts['BYMONTHDAY'])}"
        return f"on the {pos} {what}".replace(" of the ", " of ")
    if numbered:
        said = _and([f"the {_nth(n)} {_DAYS[d]}" for n, d in numbered])
        if plain:
            said += f" and every {_day_list(plain)}"
        return f"on {said}" + (f" of {in_month}" if freq == "YEARLY" and in_month else "")
    if plain:
        return f"on {_day_list(plain)}"
    if "BYMONTHDAY" in parts:
        said = f"on {_monthdays(parts['BYMONTHDAY'])}"
        return said + (f" of {in_month}" if in_month and freq == "YEARLY" else "")
    # Nothing given: the start's own day, which the series keeps (see recurrence._build).
    if freq == "WEEKLY":
        return f"on {local.strftime('%A')}"
    if freq == "MONTHLY":
        if local.day > 28:
            return f"on the {_nth(local.day)} (the last day in shorter months)"
        return f"on the {_nth(local.day)}"
    if freq == "YEARLY":
        month = _MONTHS[int(parts["BYMONTH"]) - 1] if in_month else _MONTHS[local.month - 1]
        if in_month and "," in parts["BYMONTH"]:
            return f"on the {_nth(local.day)} of {in_month}"
        if (month, local.day) == ("Feb", 29):
            return "on 29 Feb (28 Feb in other years)"
        return f"on {local.day} {month}"
    return ""


def _until_text(until: date | datetime, zone: ZoneInfo, start_year: int) -> str:
    day = until.astimezone(zone).date() if isinstance(until, datetime) else until
    text = f"{day.day} {_MONTHS[day.month - 1]}"
    return text if day.year == start_year else f"{text} {day.year}"


def summarize(rec: Recurrence, start: datetime, tz: str) -> str:
    """ "every month on the last day at 09:00, until 30 Jun" for the rule as applied to a
    series that starts at ``start`` in zone ``tz``."""
    zone = ZoneInfo(validate_timezone(tz))
    local = start.astimezone(zone)
    rule = rec._rule()
    parts = rule.parts
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    on = _on_what(parts, local)
    if freq in ("DAILY", "WEEKLY") and interval == 1 and on == "on weekdays (Monday to Friday)":
        text = "every weekday"
    elif freq == "DAILY" and on and interval == 1:
        text = f"every {on.removeprefix('on ')}"
    else:
        text = " ".join(filter(None, [_every(interval, _UNITS[freq]), on]))
    if "BYMONTH" in parts and freq != "YEARLY":
        months = [_MONTH_NAMES[int(m) - 1] for m in parts["BYMONTH"].split(",")]
        text += f" in {_and(months)}"
    text += f" at {local.strftime('%H:%M')}"
    if rule.until is not None:
        text += f", until {_until_text(rule.until, zone, local.year)}"
    if rule.count is not None:
        text += ", once" if rule.count == 1 else f", {rule.count} times"
    if rec.basis == "completion":
        text += ", counted from each completion"
    return text


def occurrences(rec: Recurrence, start: datetime, tz: str, n: int) -> tuple[list[datetime], bool]:
    """The first ``n`` due dates of a series starting at ``start`` (aware, in ``tz``) and
    whether the series ends there (no occurrence after the last one returned)."""
    if start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if not 1 <= n <= MAX_PREVIEW:
        raise ValueError(f"n must be 1..{MAX_PREVIEW}")
    zone = ZoneInfo(validate_timezone(tz))
    found = [start.astimezone(UTC)]
    while True:
        prev = found[-1]
        # "now" is the previous due date: nothing is skipped as missed in a preview.
        nxt = next_occurrence(
            rec,
            series_start=found[0],
            previous_due=prev,
            tz=tz,
            now=prev,
            occurrence=len(found),
            completed_at=prev,
        )
        if nxt is None or len(found) == n:
            return [d.astimezone(zone) for d in found], nxt is None
        found.append(nxt)


def preview(rec: Recurrence, start: datetime, tz: str, n: int = 5) -> Preview:
    dates, ends = occurrences(rec, start, tz, n)
    return Preview(summarize(rec, start, tz), tz, dates, ends)


def say_when(rec: Recurrence, start: datetime, tz: str, n: int = 2) -> str:
    """One sentence for a chat reply: "every other week on Thursday at 09:00: next on
    Thu 10 Dec 2026 and Thu 24 Dec 2026"."""
    p = preview(rec, start, tz, n)
    days = [d.strftime("%a %-d %b %Y") for d in p.occurrences]
    tail = " (and then no more)" if p.ends else ""
    return f"{p.summary}: next on {_and(days)}{tail}"


def upcoming(rec: Recurrence, tz: str, now: datetime, *, at: time = time(9), n: int = 2) -> Preview:
    """The preview of a series that would start at the rule's first slot after ``now``
    (at ``at`` local time): for a question like "when would every other thursday fall?"
    where nobody gave a start date."""
    zone = ZoneInfo(validate_timezone(tz))
    local_start = datetime.combine(now.astimezone(zone).date(), at)
    # The first matching day, whatever the interval: "every other thursday" asked on a
    # Friday starts next Thursday, and the series counts its interval from there.
    parts = {k: v for k, v in rec._rule().parts.items() if k != "INTERVAL"}
    rule = _build(parts, local_start)
    for naive in rule.xafter(local_start, inc=True):
        first = naive.replace(tzinfo=zone)
        if first > now:
            return preview(rec, first, tz, n)
    raise ValueError("this rule has no date after now")  # pragma: no cover (validated rules)


def when_would(rec: Recurrence, tz: str, now: datetime, *, at: time = time(9), n: int = 2) -> str:
    """The chat's answer to "when would <rule> fall?": the rule in words and its next
    ``n`` dates from now, e.g. "every other week on Thursday at 09:00: next on Thu 10
    Dec 2026 and Thu 24 Dec 2026"."""
    p = upcoming(rec, tz, now, at=at, n=n)
    return say_when(rec, p.occurrences[0], tz, n)
