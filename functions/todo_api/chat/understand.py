"""From a chat message to a structured Intent (intent.py). Pure: the clock and zone come in
as arguments.

Messages about lists go to the list grammar (understand_lists.py) first; what is left is
read here as a task command. Some words may or may not name a list ("add milk to
groceries", "show groceries"): the reference is then marked `maybe`, and only a list called
exactly so counts; otherwise the message means what it always meant. Where a message has
two readings ("remove milk from groceries": a member, or a task), `fallback` holds the other
one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from functions.todo_api.chat.intent import LIST_KINDS, Intent, ListRef, Ref
from functions.todo_api.chat.understand_lists import (
    INTO_VERB,
    TASKY,
    into_list,
    list_command,
    list_name,
    list_ref,
    move_into,
    shown_list,
)
from functions.todo_api.chat.when import MONTHS, WEEKDAYS, find_when, parse_time

# Kept importable from here, where they were defined before intent.py.
__all__ = ["LIST_KINDS", "Intent", "ListRef", "Ref", "understand"]


# --- vocabulary -------------------------------------------------------------------------

PRIORITY = [
    (
        re.compile(
            r"\b(?:p1|urgent(?:ly)?|asap|critical|top priority|highest priority)\b|!!!", re.I
        ),
        "urgent",
    ),
    (re.compile(r"\b(?:p2|high(?:est)?[- ]priority|important|high prio)\b", re.I), "high"),
    (re.compile(r"\b(?:p3|medium[- ]priority|normal[- ]priority)\b", re.I), "medium"),
    (re.compile(r"\b(?:p4|low[- ]priority|low prio|whenever|someday)\b", re.I), "low"),
]
TAG = re.compile(r"(?<![\w&])#([\w-]{1,40})")
ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": -1,
}
ORD = re.compile(
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)"
    r"(?:\s+(?:one|task|item))?\b|(?:#|number\s+|no\.?\s*)(\d{1,2})\b",
    re.I,
)
IT = re.compile(r"^(?:it|that|this|that one|this one|that task|this task)$", re.I)

_CREATE = re.compile(
    r"^(?:please\s+)?(?:(?:can|could) you\s+)?(?:(?:add|create|make)(?:\s+an?)?(?:\s+new)?"
    r"(?:\s+(?:task|todo))?(?::|\s+to\b)?|new task:?|new|"
    r"put|schedule|set up|remember to|i need to|i have to|i must|don't forget to|"
    r"remind me to|todo:?|task:?)\s+",
    re.I,
)
_COMPLETE = re.compile(
    r"^(?:mark\s+(?P<a>.+?)\s+(?:as\s+)?(?:done|complete[d]?|finished)|"
    r"(?:complete|finish|finished|done with|check off|tick off|close)\s+(?P<b>.+)|"
    r"(?P<c>.+?)\s+(?:is|are)\s+(?:done|finished|complete[d]?))$",
    re.I,
)
_REOPEN = re.compile(
    r"^(?:reopen|re-open|undo|uncomplete|mark\s+(?P<a>.+?)\s+(?:as\s+)?"
    r"(?:not done|open|undone|incomplete))\s*(?P<b>.*)$",
    re.I,
)
_DELETE = re.compile(r"^(?:delete|remove|drop|cancel|get rid of|trash|erase)\s+(?P<a>.+)$", re.I)
_RESCHEDULE = re.compile(
    r"^(?:reschedule|move|postpone|push|change the due date of|set the due date of)\s+"
    r"(?P<a>.+?)\s+(?:to|until|for|till)\s+(?P<when>.+)$"
    r"|^(?:postpone|push back|delay)\s+(?P<b>.+?)\s+by\s+(?P<by>.+)$",
    re.I,
)
_RENAME = re.compile(
    r"^(?:rename|retitle|change the title of)\s+(?P<a>.+?)\s+to\s+(?P<to>.+)$", re.I
)
_SETPRIO = re.compile(
    r"^(?:make|set|mark)\s+(?P<a>.+?)\s+(?:as\s+|to\s+)?(?P<p>urgent|high|medium|low|p[1-4]|"
    r"important|high priority|low priority)(?:\s+priority)?$"
    r"|^(?:prioriti[sz]e|bump)\s+(?P<b>.+)$",
    re.I,
)
_TAGIT = re.compile(r"^(?:tag|label)\s+(?P<a>.+?)\s+(?:with|as)\s+(?P<tags>.+)$", re.I)
_REMIND = re.compile(
    r"^remind me(?:\s+about\s+(?P<a>.+?))?\s+(?P<rest>(?:\d|an?\s|one\s|at\s|"
    r"in\s|tomorrow|tonight|on\s|half an hour).*)$",
    re.I,
)
_LIST = re.compile(
    r"^(?:show|list|what(?:'s| is| are)|what do i have|give me|display|see|view|any)\b"
    r"|\b(?:my (?:tasks|todos|list)|to-?do list)\b|^(?:tasks|todos|agenda)\b"
    r"|^what have i (?:done|finished|completed)",
    re.I,
)
_SEARCH = re.compile(
    r"^(?:search|find|look for|look up|where(?:'s| is))\s+(?:for\s+)?"
    r"(?:(?:my|the|a)\s+)?(?:tasks?\s+)?(?:about\s+|with\s+|called\s+)?(?P<q>.+)$",
    re.I,
)
_YES = re.compile(r"^(?:y|yes|yep|yeah|sure|ok|okay|confirm|do it|go ahead|please do)\W*$", re.I)
_NO = re.compile(r"^(?:n|no|nope|cancel|stop|don't|do not|never mind|nevermind|abort)\W*$", re.I)
_HELP = re.compile(r"^(?:help|\?|what can you do|how does this work|commands)\W*$", re.I)
_GREET = re.compile(
    r"^(?:hi|hello|hey|good (?:morning|afternoon|evening)|thanks|thank you)\W*$", re.I
)


# --- recurrence ---------------------------------------------------------------------------

_WDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?s?"
_WDLIST = rf"{_WDAY}(?:\s*(?:,|and|&|,\s*and)\s*{_WDAY})*"
_MONTHDAY = (
    rf"(?:{MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS})"
)
_EVERY = re.compile(
    r"\b(?:every|each)\s+(?P<n>\d+|other|second|two|three)?\s*"
    r"(?P<unit>weekdays?|work ?days?|business days?|weekends?|days?|mornings?|evenings?|nights?"
    rf"|weeks?|fortnight|months?|years?|{_WDLIST})"
    rf"(?:\s+on\s+(?:the\s+)?(?P<on>last day(?: of the month)?|\d{{1,2}}(?:st|nd|rd|th)?"
    rf"|{_MONTHDAY}|{_WDLIST}))?"
    r"|\b(?P<adv>daily|weekly|monthly|yearly|annually|fortnightly)\b"
    rf"(?:\s+on\s+(?:the\s+)?(?P<on2>last day|\d{{1,2}}(?:st|nd|rd|th)?|{_MONTHDAY}|{_WDLIST}))?",
    re.I,
)
_EVERY_FORM = re.compile(_EVERY.pattern.split("|\\b(?P<adv>")[0], re.I)
_WD_SHORT = {w[:2].upper(): w for w in WEEKDAYS}


def _weekday_codes(text: str) -> list[str]:
    codes = []
    for word in re.findall(r"[a-z]+", text.lower()):
        for code, name in _WD_SHORT.items():
            if len(word) >= 3 and name.startswith(word[:3]) and code not in codes:
                codes.append(code)
    return codes


def _recurrence(text: str) -> tuple[dict[str, Any] | None, tuple[int, int] | None, str]:
    """(recurrence, span, the date phrase it implies for the first due date, e.g. 'monday')."""
    rec, span, implied = _rule(text)
    if rec is not None and rec.get("interval") == 1:
        rec = {k: v for k, v in rec.items() if k != "interval"}  # 1 is the default
    return rec, span, implied


def _rule(text: str) -> tuple[dict[str, Any] | None, tuple[int, int] | None, str]:
    # "weekly report every friday": the "every" phrase is the rule, "weekly" a word.
    m = _EVERY_FORM.search(text) or _EVERY.search(text)
    if m is None:
        return None, None, ""
    span = (m.start(), m.end())
    groups = m.groupdict()
    on = (groups.get("on") or groups.get("on2") or "").lower()
    if adv := groups.get("adv"):
        unit = {
            "daily": "day",
            "weekly": "week",
            "monthly": "month",
            "yearly": "year",
            "annually": "year",
            "fortnightly": "fortnight",
        }[adv.lower()]
        n = ""
    else:
        unit, n = m.group("unit").lower(), (m.group("n") or "").lower()
    interval = {"": 1, "other": 2, "second": 2, "two": 2, "three": 3}.get(n) or int(n)
    if unit.startswith(("weekday", "work", "business")):
        return {"frequency": "weekly", "weekdays": ["MO", "TU", "WE", "TH", "FR"]}, span, ""
    if unit.startswith("weekend"):
        return {"frequency": "weekly", "weekdays": ["SA", "SU"]}, span, "saturday"
    if unit.startswith(("day", "morning", "evening", "night")):
        return {"frequency": "daily", "interval": interval}, span, ""
    if unit.startswith(("week", "fortnight")):
        if unit.startswith("fortnight"):
            interval = 2
        days = _weekday_codes(on)
        rec: dict[str, Any] = {"frequency": "weekly", "interval": interval}
        return (rec | {"weekdays": days} if days else rec), span, on if days else ""
    if unit.startswith("month"):
        if on.startswith("last day"):
            rrule = "FREQ=MONTHLY;BYMONTHDAY=-1" + (f";INTERVAL={interval}" if interval > 1 else "")
            return {"rrule": rrule}, span, ""
        return {"frequency": "monthly", "interval": interval}, span, on and f"on the {on}"
    if unit.startswith("year"):
        return {"frequency": "yearly", "interval": interval}, span, on
    days = _weekday_codes(unit)
    first = next(w for w in WEEKDAYS if w[:2].upper() == days[0])
    return {"frequency": "weekly", "interval": interval, "weekdays": days}, span, first


# --- reminders -----------------------------------------------------------------------------

_REMINDER = re.compile(
    r"\b(?:and\s+|,\s*)?(?:remind me|with a reminder|reminder|alert me|ping me|notify me)"
    r"(?:\s+(?P<n>\d+|an?|one|two|half an?)\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h|days?|"
    r"d|weeks?)\s+(?:before|ahead|earlier|prior)"
    r"|\s+(?:the\s+)?day before"
    r"|\s+at\s+(?P<at>[\w: .]+?)(?=$|\s+(?:on|tomorrow|today|#)\b))",
    re.I,
)
_UNIT = {
    "m": "M",
    "min": "M",
    "mins": "M",
    "minute": "M",
    "minutes": "M",
    "h": "H",
    "hr": "H",
    "hrs": "H",
    "hour": "H",
    "hours": "H",
    "d": "D",
    "day": "D",
    "days": "D",
    "week": "W",
    "weeks": "W",
}


def _reminder(
    text: str, now: datetime, tz: str
) -> tuple[dict[str, Any] | None, tuple[int, int] | None]:
    m = _REMINDER.search(text)
    if m is None:
        return None, None
    span = (m.start(), m.end())
    if m.group("at"):
        at, _ = find_when("at " + m.group("at"), now, tz)
        return ({"at": at.isoformat()} if at else None), span
    if m.group("unit"):
        raw = m.group("n").lower()
        unit = _UNIT[m.group("unit").lower()]
        if raw.startswith("half"):
            return {"before": "PT30M" if unit == "H" else "PT12H"}, span
        n = {"a": 1, "an": 1, "one": 1, "two": 2}.get(raw) or int(raw)
        if unit == "W":
            return {"before": f"P{n}W"}, span
        return {"before": f"P{n}D" if unit == "D" else f"PT{n}{unit}"}, span
    if "day before" in m.group(0).lower():
        return {"before": "P1D"}, span
    return None, None


# --- helpers ------------------------------------------------------------------------------

_FILLER = re.compile(r"\s*\b(?:by|due|on|at|for|starting|from|before|until|and)\s*$", re.I)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    text = re.sub(r"\s+", " ", text).strip(" ,.;:-")
    while (stripped := _FILLER.sub("", text)) != text:
        text = stripped.strip(" ,.;:-")
    text = re.sub(r"^(?:to|a|an)\s+", "", text, flags=re.I)
    return text


def _priority(text: str) -> tuple[str | None, list[tuple[int, int]]]:
    for pattern, name in PRIORITY:
        if m := pattern.search(text):
            return name, [(m.start(), m.end())]
    return None, []


def _ref(text: str) -> Ref:
    text = text.strip().rstrip(".!?")
    text = re.sub(r"^(?:the\s+)?(?:task|todo|item)\s+(?:called\s+|named\s+)?", "", text, flags=re.I)
    if IT.match(text):
        return Ref(it=True)
    if re.match(
        r"^(?:all|everything|all of them|all (?:my\s+)?(?:tasks|completed|done)"
        r"(?: tasks)?)$",
        text,
        re.I,
    ):
        return Ref(all=True)
    if m := ORD.fullmatch(text.strip()) or ORD.match(text.strip()):
        number = ORDINALS.get((m.group(1) or "").lower()) or int(m.group(2) or 0)
        if number and (m.end() >= len(text.strip()) - 5):
            return Ref(ordinal=number)
    return Ref(words=re.sub(r"^(?:the|my)\s+", "", text, flags=re.I))


def _tags(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    found = [(m.group(1).lower(), (m.start(), m.end())) for m in TAG.finditer(text)]
    return list(dict.fromkeys(t for t, _ in found)), [s for _, s in found]


# --- the entry point ---------------------------------------------------------------------


def understand(message: str, now: datetime, tz: str) -> Intent:
    text = re.sub(r"\s+", " ", message).strip()
    if not text:
        return Intent("unknown")
    for pattern, kind in ((_YES, "confirm"), (_NO, "deny"), (_HELP, "help"), (_GREET, "greet")):
        if pattern.match(text):
            return Intent(kind)  # type: ignore[arg-type]

    def read_task(words: str) -> Intent:
        return _task_command(words, now, tz)

    return list_command(text, read_task) or read_task(text)


def _task_command(text: str, now: datetime, tz: str) -> Intent:
    if m := _RENAME.match(text):
        ref = _ref(m.group("a"))
        title = m.group("to").strip(" \"'")
        # "rename groceries to food" with no such task: the list, if one is called so.
        other = list_ref(m.group("a"), maybe=True) if ref.words else None
        fallback = Intent("list_rename", tasklist=other, name=list_name(title)) if other else None
        return Intent("update", task={"title": title}, ref=ref, fallback=fallback)
    if m := _TAGIT.match(text):
        tags = [
            t.strip("# ").lower()
            for t in re.split(r"[,\s]+(?:and\s+)?", m.group("tags"))
            if t.strip("# ")
        ]
        return Intent("update", task={"add_tags": tags}, ref=_ref(m.group("a")))
    if m := _SETPRIO.match(text):
        if m.group("b"):
            return Intent("update", task={"priority": "high"}, ref=_ref(m.group("b")))
        prio, _ = _priority(m.group("p"))
        prio = prio or {"high": "high", "low": "low", "medium": "medium", "urgent": "urgent"}.get(
            m.group("p").lower(), "high"
        )
        return Intent("update", task={"priority": prio}, ref=_ref(m.group("a")))
    if moving := move_into(text, now, tz):
        words, tasklist = moving
        return Intent("move", ref=_ref(words), tasklist=tasklist)
    if m := _RESCHEDULE.match(text):
        if m.group("by"):
            return Intent("reschedule", task={"shift": m.group("by")}, ref=_ref(m.group("b")))
        when, _ = find_when(m.group("when"), now, tz)
        return Intent("reschedule", task={"due_at": when}, ref=_ref(m.group("a")))
    if m := _REMIND.match(text):
        reminder, _ = _reminder("remind me " + m.group("rest"), now, tz)
        if reminder is None:
            when, _ = find_when(m.group("rest"), now, tz)
            reminder = {"at": when.isoformat()} if when else None
        if m.group("a") and reminder:
            return Intent("remind", task={"reminder": reminder}, ref=_ref(m.group("a")))
        if reminder:
            return Intent("remind", task={"reminder": reminder}, ref=Ref(it=True))
    if m := _REOPEN.match(text):
        target = (m.group("a") or m.group("b") or "it").strip() or "it"
        return Intent("reopen", ref=_ref(target))
    if m := _COMPLETE.match(text):
        target = m.group("a") or m.group("b") or m.group("c")
        return Intent("complete", ref=_ref(target))
    if m := _DELETE.match(text):
        target = m.group("a")
        if re.search(r"\b(?:completed|done|finished)\b", target, re.I) and re.search(
            r"\b(?:all|every)", target, re.I
        ):
            return Intent("delete", ref=Ref(all=True), filters={"status": "completed"})
        ref = _ref(target)
        # "delete groceries" with no such task: the list, if one is called so (asks first).
        listish = ref.words and not text.lower().startswith("cancel") and not TASKY.search(target)
        other = list_ref(ref.words, maybe=True) if listish else None
        return Intent(
            "delete", ref=ref, fallback=Intent("list_delete", tasklist=other) if other else None
        )
    if m := _SEARCH.match(text):
        return Intent("search", filters={"q": m.group("q").strip(" ?.\"'")})
    if m := _CREATE.match(text):
        return _create(text[m.end() :], now, tz, into=bool(INTO_VERB.match(text)))
    if _LIST.search(text):
        return _list(text, now, tz)
    # Anything that reads like a to-do with a date, a tag, a priority or a rule is a new task.
    when, _ = find_when(text, now, tz)
    prio, _ = _priority(text)
    if when is not None or TAG.search(text) or _EVERY.search(text) or prio:
        return _create(text, now, tz)
    return Intent("unknown")


def _create(text: str, now: datetime, tz: str, *, into: bool = False) -> Intent:
    spans: list[tuple[int, int]] = []
    task: dict[str, Any] = {}
    reminder, rspan = _reminder(text, now, tz)
    if rspan:
        spans.append(rspan)
    rec, recspan, implied = _recurrence(_mask(text, spans))
    if recspan:
        spans.append(recspan)
    masked = _mask(text, spans)
    when, wspans = find_when(masked, now, tz, context=text)
    if rec is not None and implied and not any(s < e for s, e in wspans if _is_day(masked, s, e)):
        # "every monday at 9:30": the rule names the day, the rest of the text the time.
        first, _ = find_when(implied, now, tz)
        clock = parse_time(masked, text)
        if first is not None:
            when = first.replace(hour=clock[0].hour, minute=clock[0].minute) if clock else first
    if rec is not None:
        when = _align(when, rec, now, tz)
    if reminder and "at" in reminder and when is not None and rspan is not None:
        # "remind me at 5pm" about something due on another day means that day.
        clock = parse_time(text[rspan[0] : rspan[1]])
        if clock is not None and parse_day_free(text[rspan[0] : rspan[1]]):
            reminder = {"at": when.replace(hour=clock[0].hour, minute=clock[0].minute).isoformat()}
    spans += wspans
    prio, pspans = _priority(_mask(text, spans))
    spans += pspans
    tags, tag_spans = _tags(text)
    spans += tag_spans
    title = _cut(text, spans)
    title = re.sub(r"\b(?:with\s+)?priority\b", "", title, flags=re.I).strip(" ,.-")
    title, tasklist = into_list(title, into)
    task["title"] = _capital(title)
    if tasklist is not None and tasklist.title:
        tasklist.title = _capital(tasklist.title)
    if prio:
        task["priority"] = prio
    if tags:
        task["tags"] = tags
    if when is not None:
        task["due_at"] = when
    if rec is not None:
        task["recurrence"] = rec
    if reminder is not None:
        task["reminders"] = [reminder]
    return Intent("create", task=task, tasklist=tasklist)


def _capital(title: str) -> str:
    return title[:1].upper() + title[1:] if title else ""


def parse_day_free(text: str) -> bool:
    """True when the phrase names only a clock time, no day."""
    return not re.search(
        r"\b(?:today|tomorrow|tonight|on|next|mon|tue|wed|thu|fri|sat|sun)", text, re.I
    )


def _align(when: datetime | None, rec: dict[str, Any], now: datetime, tz: str) -> datetime:
    """The first due date that fits the rule: a listed weekday, the month's last day."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    start = when or local_now.replace(hour=9, minute=0, second=0, microsecond=0)
    if start <= local_now:
        start += timedelta(days=1)
    days = rec.get("weekdays") or []
    last_day = "BYMONTHDAY=-1" in str(rec.get("rrule", ""))
    for _ in range(370):
        fits = (not days or WEEKDAYS[start.weekday()][:2].upper() in days) and (
            not last_day or (start + timedelta(days=1)).day == 1
        )
        if fits:
            return start
        start += timedelta(days=1)
    return start


def _is_day(text: str, start: int, end: int) -> bool:
    """Whether the span names a day (not just a clock time)."""
    return parse_time(text[start:end]) is None or bool(
        re.search(
            r"[a-z]{3,}",
            re.sub(r"\b(?:at|am|pm|noon|midnight|midday)\b", "", text[start:end], flags=re.I),
            re.I,
        )
    )


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Blank out what was already understood, keeping offsets stable."""
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _list(text: str, now: datetime, tz: str) -> Intent:
    """A listing: its filters, and the list it is limited to."""
    lowered = text.lower()
    filters: dict[str, Any] = {}
    if re.search(r"\b(?:done|completed|finished)\b", lowered):
        filters["status"] = "completed"
    elif re.search(r"\b(?:open|pending|left|remaining|to do|todo|to-do)\b", lowered):
        filters["status"] = "open"
    if "overdue" in lowered or "late" in lowered:
        filters["overdue"] = True
    prio, _ = _priority(text)
    if prio:
        filters["priority"] = [prio]
    tags, _ = _tags(text)
    if tags:
        filters["tag"] = tags
    m = re.search(r"\b(today|tomorrow|this week|next week)\b", lowered)
    if m:
        local = now.astimezone(ZoneInfo(tz))
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if m.group(1) == "tomorrow":
            start += timedelta(days=1)
            end = start + timedelta(days=1)
        elif m.group(1) == "today":
            end = start + timedelta(days=1)
        elif m.group(1) == "this week":
            end = start + timedelta(days=7 - start.weekday())
        else:
            start += timedelta(days=7 - start.weekday())
            end = start + timedelta(days=7)
        filters["due_after"] = (start - timedelta(seconds=1)).isoformat()
        filters["due_before"] = end.isoformat()
    tasklist = shown_list(text, now, tz, filtered=bool(filters))
    return Intent("list", filters=filters, tasklist=tasklist)
