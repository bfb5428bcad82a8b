"""Tasks <-> iCalendar (RFC 5545), pure: no I/O, no clock.

Export writes one VTODO per task: DUE in the task's zone (with its VTIMEZONE),
PRIORITY, CATEGORIES, RRULE, STATUS and one VALARM per reminder. What RFC 5545 cannot
say exactly (the recurrence's `basis`, a task's zone when it has no due date, the
reminder's own duration text) rides along in X-TASKWAVE-* properties, which other
apps ignore and our import prefers, so export -> import gives the same tasks.

Import reads VTODO (DUE) and VEVENT (DTSTART becomes the due date) into TaskCreate
bodies and says, per item, what it could not map; nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Todo, vRecur
from pydantic import ValidationError

from functions.todo_api.models import MAX_REMINDERS, MAX_TAGS, TaskCreate
from shared.domain.recurrence import Recurrence, validate_timezone
from shared.domain.reminders import ReminderSpec, parse_duration
from shared.events import Priority, TaskSnapshot

__all__ = ["MAX_IMPORT", "Candidate", "ImportPlan", "Skipped", "export_calendar", "parse"]

PRODID = "-//taskwave//tasks//EN"
MAX_IMPORT = 500  # components per file: each becomes one write

_TO_ICS: dict[Priority, int] = {"urgent": 1, "high": 3, "medium": 5, "low": 9}
# RFC 5545 §3.8.1.9: 1 highest .. 9 lowest, 0 undefined.
_FROM_ICS: dict[int, Priority] = {
    0: "medium",
    1: "urgent",
    2: "urgent",
    3: "high",
    4: "high",
    5: "medium",
    6: "low",
    7: "low",
    8: "low",
    9: "low",
}
# Properties that carry something a task cannot hold: named in the report.
_NOT_MAPPED = {
    "LOCATION": "location",
    "URL": "link",
    "ATTENDEE": "attendees",
    "ORGANIZER": "organizer",
    "ATTACH": "attachments",
    "RDATE": "extra dates (RDATE)",
    "EXDATE": "excluded dates (EXDATE)",
    "DTEND": "end time (a task has a due date only)",
    "DURATION": "duration (a task has a due date only)",
    "GEO": "position",
    "RESOURCES": "resources",
    "CONTACT": "contact",
    "COMMENT": "comments",
    "RELATED-TO": "links to other items",
}
_ALL_DAY_AT = time(9)  # a date without a time: due at 09:00 that day


# --- export --------------------------------------------------------------------------


def _duration(value: timedelta) -> str:
    days, rest = value.days, value.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def _rrule(rec: Recurrence) -> vRecur:
    if rec.rrule is not None:
        rule: vRecur = vRecur.from_ical(rec.rrule)
        return rule
    parts: dict[str, Any] = {"FREQ": (rec.frequency or "").upper(), "INTERVAL": rec.interval or 1}
    if rec.weekdays:
        parts["BYDAY"] = list(rec.weekdays)
    if rec.count is not None:
        parts["COUNT"] = rec.count
    if rec.until is not None:
        parts["UNTIL"] = rec.until.astimezone(UTC)
    return vRecur(parts)


def _todo(task: TaskSnapshot, now: datetime) -> Todo:
    todo = Todo()
    todo.add("uid", f"{task.id}@taskwave")
    todo.add("dtstamp", now.astimezone(UTC))
    todo.add("created", task.created_at.astimezone(UTC))
    todo.add("last-modified", task.updated_at.astimezone(UTC))
    todo.add("sequence", task.version - 1)
    todo.add("summary", task.title)
    if task.description:
        todo.add("description", task.description)
    todo.add("priority", _TO_ICS[task.priority])
    if task.tags:
        todo.add("categories", list(task.tags))
    zone = ZoneInfo(task.timezone)
    if task.due_at is not None:
        todo.add("due", task.due_at.astimezone(zone))
    todo.add("x-taskwave-timezone", task.timezone)
    if task.status == "completed":
        todo.add("status", "COMPLETED")
        todo.add("percent-complete", 100)
        if task.completed_at is not None:
            todo.add("completed", task.completed_at.astimezone(UTC))
    else:
        todo.add("status", "NEEDS-ACTION")
    if task.recurrence is not None:
        todo.add("rrule", _rrule(task.recurrence))
        todo.add("x-taskwave-recurrence", task.recurrence.model_dump_json(exclude_none=True))
    for spec in task.reminders:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", task.title)
        if spec.before is not None:
            # RELATED=END: for a VTODO the end is its DUE (RFC 5545 §3.8.6.3).
            alarm.add("trigger", -parse_duration(spec.before), parameters={"RELATED": "END"})
            alarm.add("x-taskwave-before", spec.before)
        elif spec.at is not None:
            alarm.add("trigger", spec.at.astimezone(UTC), parameters={"VALUE": "DATE-TIME"})
        todo.add_component(alarm)
    return todo


def export_calendar(tasks: Iterable[TaskSnapshot], name: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for task in tasks:
        cal.add_component(_todo(task, now))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


# --- import --------------------------------------------------------------------------

Kind = Literal["VTODO", "VEVENT"]


@dataclass(frozen=True)
class Candidate:
    """One task the file describes, ready for TaskService.create (list set there)."""

    kind: Kind
    uid: str | None
    body: TaskCreate
    completed: bool
    not_mapped: list[str]  # what this item had that the task does not keep


@dataclass(frozen=True)
class Skipped:
    kind: str
    uid: str | None
    title: str | None
    reason: str


@dataclass
class ImportPlan:
    items: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _text(comp: Any, name: str) -> str | None:
    value = comp.get(name)
    return None if value is None else str(value)


def _zone_name(moment: datetime) -> str | None:
    tz = moment.tzinfo
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        try:
            return validate_timezone(key)
        except ValueError:
            return None
    if tz is not None and moment.utcoffset() == timedelta(0):
        return "UTC"
    return None


def _moment(value: date | datetime, zone: str, notes: list[str], what: str) -> datetime:
    """An aware instant: floating times in `zone`, a date at 09:00 there."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(zone))
    notes.append(f"{what} is a whole day: due at 09:00 that day")
    return datetime.combine(value, _ALL_DAY_AT, ZoneInfo(zone))


def _tags(comp: Any, notes: list[str]) -> list[str]:
    raw: list[str] = []
    cats = comp.get("CATEGORIES")
    for prop in cats if isinstance(cats, list) else [cats] if cats is not None else []:
        raw += [str(c) for c in prop.cats]
    tags: list[str] = []
    for name in raw:
        tag = "-".join(name.strip().lower().removeprefix("#").split())
        if not tag or len(tag) > 40 or not all(c.isalnum() or c in "_-" for c in tag):
            notes.append(f"category {name!r} (not a valid tag)")
        elif tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        notes.append(f"categories beyond the first {MAX_TAGS}: {', '.join(tags[MAX_TAGS:])}")
    return tags[:MAX_TAGS]


def _recurrence(comp: Any, notes: list[str]) -> Recurrence | None:
    ours = _text(comp, "X-TASKWAVE-RECURRENCE")
    if ours:
        try:
            return Recurrence.model_validate(json.loads(ours))
        except (ValueError, ValidationError):
            pass  # fall back to the RRULE, which other apps may have edited
    rule = comp.get("RRULE")
    if rule is None:
        return None
    if isinstance(rule, list):
        notes.append("more than one RRULE: only the first is kept")
        rule = rule[0]
    text = rule.to_ical().decode()
    try:
        return Recurrence(rrule=text)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        notes.append(f"repeat rule {text} ({reason}): imported as not repeating")
        return None


def _reminders(comp: Any, kind: Kind, due: datetime | None, notes: list[str]) -> list[Any]:
    specs: list[ReminderSpec] = []
    for alarm in comp.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        if trigger is None:
            notes.append("an alarm without a trigger")
            continue
        value = trigger.dt
        ours = _text(alarm, "X-TASKWAVE-BEFORE")
        try:
            if isinstance(value, datetime):
                when = value if value.tzinfo else value.replace(tzinfo=UTC)
                specs.append(ReminderSpec(at=when))
                continue
            related = str(trigger.params.get("RELATED", "START")).upper()
            # What a relative trigger counts from: the due date we keep, or not.
            counts_from_due = kind == "VEVENT" or related == "END" or "DTSTART" not in comp
            if not counts_from_due:
                start = comp.decoded("DTSTART")
                if not isinstance(start, datetime):
                    raise ValueError("relative to a start date without a time")
                specs.append(ReminderSpec(at=start + value))
                continue
            if due is None:
                raise ValueError("relative to a due date the item does not have")
            if value > timedelta(0):
                raise ValueError(f"{_duration(value)} after the due time")
            if value == timedelta(0):
                specs.append(ReminderSpec(at=due))
            elif ours is not None and parse_duration(ours) == -value:
                specs.append(ReminderSpec(before=ours))
            else:
                specs.append(ReminderSpec(before=_duration(-value)))
        except (ValueError, ValidationError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            notes.append(f"alarm {trigger.to_ical().decode()} ({msg})")
    if len(specs) > MAX_REMINDERS:
        notes.append(f"alarms beyond the first {MAX_REMINDERS}")
    return specs[:MAX_REMINDERS]


def _candidate(comp: Any, kind: Kind, default_tz: str, list_id: str | None) -> Candidate:
    notes: list[str] = []
    title = (_text(comp, "SUMMARY") or "").strip()
    if not title:
        title = "(untitled)"
        notes.append("no SUMMARY: titled “(untitled)”")
    if len(title) > 200:
        notes.append("the title was longer than 200 characters and was cut")
        title = title[:200]
    description = _text(comp, "DESCRIPTION") or ""
    if len(description) > 5000:
        notes.append("the description was longer than 5000 characters and was cut")
        description = description[:5000]

    due_prop = "DUE" if kind == "VTODO" else "DTSTART"
    raw_due = comp.decoded(due_prop) if due_prop in comp else None
    zone = _text(comp, "X-TASKWAVE-TIMEZONE") or default_tz
    if isinstance(raw_due, datetime) and raw_due.tzinfo is not None:
        found = _zone_name(raw_due)
        if found is None:
            notes.append(f"time zone {raw_due.tzname()} (not an IANA zone): kept as {zone}")
        zone = found or zone
    try:
        zone = validate_timezone(zone)
    except ValueError:
        notes.append(f"time zone {zone!r}: kept as {default_tz}")
        zone = default_tz
    due = _moment(raw_due, zone, notes, due_prop) if raw_due is not None else None

    priority = _FROM_ICS.get(int(comp.get("PRIORITY", 0) or 0), "medium")
    for name, what in _NOT_MAPPED.items():
        if name in comp:
            notes.append(what)
    recurrence = _recurrence(comp, notes)
    if recurrence is not None and due is None:
        notes.append("a repeat rule without a due date: imported as not repeating")
        recurrence = None
    body = TaskCreate(
        title=title,
        list_id=list_id,
        description=description,
        priority=priority,
        tags=_tags(comp, notes),
        due_at=due,
        timezone=zone,
        recurrence=recurrence,
        reminders=_reminders(comp, kind, due, notes),
    )
    completed = str(comp.get("STATUS", "")).upper() == "COMPLETED" or (
        kind == "VTODO" and "COMPLETED" in comp
    )
    return Candidate(kind, _text(comp, "UID"), body, completed, notes)


def parse(data: bytes, *, default_tz: str, list_id: str | None = None) -> ImportPlan:
    """What importing `data` would create, and what it would skip and why. Raises
    ValueError when the file is not iCalendar at all."""
    try:
        calendars = Calendar.from_ical(data, multiple=True)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"not an iCalendar file: {exc}") from None
    if not calendars:
        raise ValueError("not an iCalendar file: no VCALENDAR")
    plan = ImportPlan()
    for cal in calendars:
        for comp in cal.subcomponents:
            kind = str(comp.name)
            uid, title = _text(comp, "UID"), _text(comp, "SUMMARY")
            if kind == "VTIMEZONE":
                continue
            if kind not in ("VTODO", "VEVENT"):
                plan.skipped.append(Skipped(kind, uid, title, "not a to-do or an event"))
                continue
            if len(plan.items) >= MAX_IMPORT:
                plan.skipped.append(Skipped(kind, uid, title, f"more than {MAX_IMPORT} items"))
                continue
            if str(comp.get("STATUS", "")).upper() == "CANCELLED":
                plan.skipped.append(Skipped(kind, uid, title, "cancelled"))
                continue
            if "RECURRENCE-ID" in comp:
                plan.skipped.append(
                    Skipped(kind, uid, title, "a changed occurrence of a series (RECURRENCE-ID)")
                )
                continue
            try:
                plan.items.append(
                    _candidate(comp, kind, default_tz, list_id)  # type: ignore[arg-type]
                )
            except (ValueError, ValidationError, KeyError) as exc:
                msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                plan.skipped.append(Skipped(kind, uid, title, msg))
    return plan
