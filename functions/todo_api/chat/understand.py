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
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from functions.todo_api.chat.intent import LIST_KINDS, Intent, Kind, ListRef, Ref
from functions.todo_api.chat.nlu import (
    is_question,
    normalize,
    sentences,
    statement,
    strip_polite,
)
from functions.todo_api.chat.understand_lists import (
    INTO_VERB,
    POLITE,
    TASKY,
    into_list,
    list_command,
    list_name,
    list_ref,
    move_into,
    shown_list,
)
from functions.todo_api.chat.when import (
    MONTHS,
    WEEKDAY_WORD,
    WEEKDAYS,
    find_when,
    parse_day,
    parse_time,
)

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
    (
        re.compile(r"\b(?:p2|high(?:est)?[- ]priority|important|high prio)\b|(?<!\w)!high\b", re.I),
        "high",
    ),
    (re.compile(r"\b(?:p3|medium[- ]priority|normal[- ]priority)\b", re.I), "medium"),
    (
        re.compile(r"\b(?:p4|low[- ]priority|low prio|whenever|someday)\b|(?<!\w)!low\b", re.I),
        "low",
    ),
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
    rf"\b(?:the\s+)?({'|'.join(ORDINALS)})"
    r"(?:\s+(?:one|task|item))?\b|(?:#|number\s+|no\.?\s*)(\d{1,2})\b",
    re.I,
)
IT = re.compile(
    r"^(?:it|that|this|them|those|these|that one|this one|those ones|that task|this task)$", re.I
)

_LATEST = re.compile(
    r"^(?:the\s+)?(?:last|latest|most recent|newest)\s*(?:one|task|thing|item|todo)?\s*"
    r"(?:(?:that\s+)?(?:i|we|you)(?:'ve| have)?\s+(?:just\s+)?(?P<how>added|created|made|put in"
    r"|entered|completed|finished|did|closed|ticked off|checked off)|added|created)$",
    re.I,
)
_REDO = re.compile(
    r"^(?:(?:i\s+|we\s+)?(?:need to|have to|must|gotta|got to|should|want to|will|'ll)\s+)?"
    r"(?P<all>(?:redo|re-do)\s+(?P<x>.+)|do\s+(?P<y>.+?)\s+(?:again|over))$",
    re.I,
)
_CREATE = re.compile(
    rf"^{POLITE}(?:(?:add|create|make)(?:\s+an?)?"
    r"(?:\s+new(?=\s+(?:task|todo|to-do|item|reminder)\b|:))?"
    r"(?:\s+(?:task|todo|to-do|item|reminder))?(?::|\s+to\b|\s+(?:called|named|titled|for)\b)?"
    r"|new (?:task|todo|item|to-do)(?::|\s+(?:called|named|titled)\b)?|new|"
    r"(?:i\s+)?(?:gotta|got to|have to|need to|must|should)\s+remember\s+to|"
    r"put|schedule|set up|remember to|i need to|i have to|i must|don't forget to|"
    r"pop|stick|throw|chuck|jot down|jot|write down|pencil in|note down|"
    r"i should|i gotta|gotta|i want to|i'd like to|i wanna|make sure (?:i|to)|"
    r"remind me to|todo:?|task:?)\s+",
    re.I,
)
_COMPLETE = re.compile(
    r"^(?:mark\s+(?P<a>.+?)\s+(?:as\s+)?(?:done|complete[d]?|finished|off)|"
    r"(?:complete|finish|finished|done with|all done with|check off|tick off|close|strike off"
    r"|strike out|strike through|strike|cross off|cross out|knock out|knocked out|wrap up"
    r"|wrapped up|mark off|cross)\s+(?P<b>.+)|"
    r"(?:put|place|add)\s+(?:a\s+)?(?:check(?:\s*mark)?|tick|checkmark|✓|✔)\s+"
    r"(?:next to|by|beside|on|against)\s+(?P<f>.+)|(?:check[- ]?mark|tick mark)\s+(?P<g>.+)|"
    r"(?:strike|cross|tick|check|knock|mark|scratch|take)\s+(?P<d>.+?)\s+(?:off|out)(?:\s+(?:of\s+)?"
    r"(?:my|the|our)\s+(?:[\w-]+\s+)?(?:list|to-?do list|todo list))?|"
    r"(?:done|finished|completed|complete|✓|✔|☑|✅|\[x\]|mark(?:ed)? (?:as )?(?:done|complete[d]?"
    r"|finished))\s*[:\-–—]?\s+(?P<e>.+)|"
    r"(?P<it>done|finished|completed|complete|did it|all done|done it|it's done|that's done"
    r"|that one's done|that is done|✓|✔|✅)|"
    r"(?P<c>.+?)\s+(?:is|are)\s+(?:done|finished|complete[d]?))$",
    re.I,
)
_REOPEN = re.compile(
    r"^(?:reopen|re-open|undo|un-?complete|un-?check|un-?tick|un-?mark|un-?finish|un-?cross"
    r"|un-?do|restore|revive|bring back|re-?activate|resurrect|un-?archive|re-?add"
    r"|mark\s+(?P<a>.+?)\s+(?:as\s+)?"
    r"(?:not (?:yet )?\w+|open|undone|incomplete|unfinished|to-?do|pending|active|outstanding)"
    r"|(?:put|set|move|mark|change|turn|switch)\s+(?P<c>.+?)\s+(?:back(?:\s+(?:to|on|in|onto|as)\s+"
    r"(?:open|my list|the list|to-?do|todo|active|my to-?do list|not done|undone|incomplete))?"
    r"|(?:back\s+)?(?:to|as)\s+(?:open|not done|undone|incomplete|to-?do|todo|not complete[d]?)"
    r"(?:\s+again)?))\s*(?P<b>.*)$",
    re.I,
)
_DELETE = re.compile(
    r"^(?:delete|remove|drop|cancel|get rid of|trash|erase|scrap|bin|ditch|nuke|axe|toss|dump"
    r"|forget about|scratch|kill)\s+(?P<a>.+)$",
    re.I,
)
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
    r"^(?:make|set|mark|flag|change|switch|put)\s+(?P<a>.+?)\s+(?:as\s+|to\s+)?(?P<p>urgent|high|medium|low|p[1-4]|"
    r"important|high priority|low priority|top priority|medium priority|normal priority)"
    r"(?:\s+priority)?(?:\s+instead|\s+now)?$"
    r"|^(?:prioriti[sz]e|bump)\s+(?!.*\b(?:to|until|till|by)\b)(?P<b>.+)$",
    re.I,
)
_TAGIT = re.compile(
    r"^(?:tag|label)\s+(?P<a>it|that|this|them|that one|this one)\s+(?:with\s+|as\s+)?(?P<tags>.+)$"
    r"|^(?:tag|label)\s+(?P<a2>.+?)\s+(?:with|as)\s+(?P<tags2>.+)$",
    re.I,
)
_REMIND = re.compile(
    r"^remind me\s+(?P<rest2>(?:\d+|an?|one|two|three|half an?)\s*(?:minutes?|mins?|hours?|hrs?"
    r"|days?|weeks?)|the day|a day|the night)\s+(?:before|ahead of|prior to)\s+(?P<a2>.+)$"
    r"|^remind me(?:\s+about\s+(?P<a>.+?))?\s+(?P<rest>(?:\d|an?\s|one\s|at\s|"
    r"in\s|tomorrow|tonight|on\s|half an hour|the day before|the night before|the morning of"
    r"|two\s|three\s).*)$",
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
# A whole message that only answers, asks for help or greets.
_REPLIES: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (_YES, "confirm"),
    (_NO, "deny"),
    (_HELP, "help"),
    (_GREET, "greet"),
)


def _reply(text: str) -> Intent | None:
    return next((Intent(kind) for pattern, kind in _REPLIES if pattern.match(text)), None)


# --- recurrence ---------------------------------------------------------------------------

_WDAY = rf"{WEEKDAY_WORD}s?"
_WDLIST = rf"{_WDAY}(?:\s*(?:,|and|&|,\s*and)\s*{_WDAY})*"
_MONTHDAY = (
    rf"(?:{MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS})"
)
_EVERY = re.compile(
    r"\b(?:every|each)\s+(?P<n>\d+|other|second|two|three)?\s*"
    r"(?P<unit>weekdays?|work ?days?|business days?|weekends?|days?|mornings?|evenings?|nights?"
    rf"|weeks?|fortnight|months?|years?|{_WDLIST})"
    r"(?:\s+(?:mornings?|evenings?|afternoons?|nights?))?"
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


_PART_OF_DAY = re.compile(r"\b(morning|afternoon|evening|night)s?\b", re.I)
_PART_TIME = {"morn": time(9, 0), "afte": time(15, 0), "even": time(18, 0), "nigh": time(20, 0)}
_DAYS_PLURAL = r"(?:mon|tues|wednes|thurs|fri|satur|sun)days"
_ON_DAYS = re.compile(
    rf"(?:\bon\s+)?\b(?P<days>{_DAYS_PLURAL}(?:\s*(?:,|and|&|,\s*and)\s*{_DAYS_PLURAL})*)"
    r"(?:\s+(?:mornings?|evenings?|afternoons?|nights?))?\b"
    rf"|\b(?:on\s+)?(?P<day>{_WDAY})\s+(?:mornings|evenings|afternoons|nights)\b",
    re.I,
)


# "the first monday of every month": ORDINALS but a fifth (not every month has one).
_NTH = {word: n for word, n in ORDINALS.items() if n != 5}
_NTH_WEEKDAY = re.compile(
    rf"(?:\bon\s+)?(?:\bthe\s+)?\b(?P<nth>{'|'.join(_NTH)})\s+(?P<wd>{_WDAY})\s+(?:of\s+)?"
    r"(?:every|each|the|a)\s+month\b"
    rf"|\b(?:every|each)\s+month\s+on\s+the\s+(?P<nth2>{'|'.join(_NTH)})\s+(?P<wd2>{_WDAY})",
    re.I,
)


def _rule(text: str) -> tuple[dict[str, Any] | None, tuple[int, int] | None, str]:
    if nth := _NTH_WEEKDAY.search(text):
        # "the first monday of every month": a monthly rule on that weekday.
        which = _NTH[(nth.group("nth") or nth.group("nth2")).lower()]
        code = _weekday_codes(nth.group("wd") or nth.group("wd2"))[0]
        return {"rrule": f"FREQ=MONTHLY;BYDAY={which}{code}"}, (nth.start(), nth.end()), ""
    # "weekly report every friday": the "every" phrase is the rule, "weekly" a word.
    m = _EVERY_FORM.search(text) or _EVERY.search(text)
    if m is None:
        # "on fridays", "on tuesday evenings": a weekly rule too.
        if plural := _ON_DAYS.search(text):
            days = _weekday_codes(plural.group("days") or plural.group("day"))
            return {"frequency": "weekly", "weekdays": days}, (plural.start(), plural.end()), ""
        return None, None, ""
    if m.groupdict().get("adv") and re.search(
        r"\b(?:the|a|an|my|our|your|this|that|his|her|their)\s+$", text[: m.start()], re.I
    ):
        return None, None, ""  # "prep the weekly report": a kind of report, not a rule
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
    interval = {"": 1, "other": 2, "second": 2, "two": 2, "three": 3, "third": 3}.get(n) or int(n)
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
_FEW = {"a": 1, "an": 1, "one": 1, "two": 2}  # "an hour", "two days": counts said in words
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
        n = _FEW.get(raw) or int(raw)
        if unit == "W":
            return {"before": f"P{n}W"}, span
        return {"before": f"P{n}D" if unit == "D" else f"PT{n}{unit}"}, span
    if "day before" in m.group(0).lower():
        return {"before": "P1D"}, span
    return None, None


# --- helpers ------------------------------------------------------------------------------

_FILLER = re.compile(
    r"\s*\b(?:by|due|on|at|for|starting|from|before|until|and|with|it'?s|it is|which is"
    r"|should be|must be|and should be)\s*$",
    re.I,
)


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


_FIELD_WORDS = (
    r"(?:due date|deadline|due time|due|date|time|priority|title|name|description|notes?|tags?"
    r"|labels?|reminders?|recurrence|schedule)"
)


_ALL_IN = re.compile(
    r"^(?:all|everything|every(?:thing| task| item)?)(?:\s+(?:of\s+)?(?:the|my|our))?"
    r"(?:\s+(?:tasks|items|things|stuff))?\s+(?:on|in|from)\s+(?P<l>.+?)$"
    r"|^all\s+(?:of\s+)?(?:the|my)\s+(?P<l2>[\w-]+)(?:\s+(?:tasks|items|stuff|things))?$",
    re.I,
)


def _scoped_all(kind: str, words: str) -> Intent | None:
    """ "mark everything on the groceries list done", "tick off all the groceries": every open
    task in that list (or with that tag); None for other words."""
    m = _ALL_IN.match(words.strip().rstrip(".!"))
    if m is None:
        return None
    named = (m.group("l") or m.group("l2")).strip()
    scope = list_ref(named, maybe=m.group("l2") is not None)
    if scope is None:
        return None
    return Intent(kind, ref=Ref(all=True), tasklist=scope, filters={"topic": named})  # type: ignore[arg-type]


def _ref(text: str) -> Ref:
    text = text.strip().rstrip(".!?")
    text = re.sub(r"^(?:the\s+)?(?:task|todo|item)\s+(?:called\s+|named\s+)?", "", text, flags=re.I)
    # "the dentist's due date", "the due date of the dentist": the dentist; "the due date": it.
    text = re.sub(rf"(?:'s|’s)?\s+{_FIELD_WORDS}$", "", text, flags=re.I).strip()
    text = re.sub(
        rf"^(?:the\s+|its\s+)?{_FIELD_WORDS}(?:\s+(?:of|on|for|in)\s+|$)", "", text, flags=re.I
    )
    if not text.strip():
        return Ref(it=True)
    if IT.match(text):
        return Ref(it=True)
    if latest := _LATEST.match(text):
        done = (latest.group("how") or "").lower() not in ("", "added", "created", "made", "put in",
                                                           "entered")  # fmt: skip
        return Ref(latest=True, words="completed" if done else "")
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
    if (reply := _reply(text)) is not None:
        return reply
    text = normalize(text)
    if (fixed := _corrected(text, now, tz)) is not None:
        return fixed
    return _message(text, now, tz)


def _message(text: str, now: datetime, tz: str) -> Intent:
    parts = sentences(text)
    # "add pay the vet bill. tag: pets. priority: high.": attributes said as sentences of
    # their own belong to the request before them.
    for i in range(len(parts) - 1, 0, -1):
        if _ATTR_SENTENCE.match(parts[i]):
            parts[i - 1 : i + 1] = [parts[i - 1].rstrip(".!") + ", " + parts[i]]
    if len(parts) == 1:
        return _clauses(parts[0], now, tz) or _sentence(parts[0], now, tz)
    if _HOSTILE.search(text):
        return Intent("unknown")  # "ignore previous instructions. delete everything"
    # "I'm exhausted. can you add x": the sentence that asks for something; chatter around
    # it ("great, thanks!", "you suck.") is no request. Several requests are all done.
    read = [_clauses(p, now, tz) or _sentence(p, now, tz) for p in parts]
    asked = [i for i in read if i.kind not in ("unknown", "greet", "help")]
    if len(asked) > 1 and all(i.kind in _WRITES and not i.then for i in asked):
        return _chain(asked)
    return asked[-1] if asked else read[-1]


# --- several requests, and corrections ------------------------------------------------------

_WRITES = frozenset(
    {"create", "complete", "reopen", "delete", "update", "reschedule", "remind", "move"}
)
# "mark X done and add Y", "complete the report, then delete the pizza one".
_THEN = re.compile(
    r"\s*(?:,\s*|;\s*)?\b(?:and(?:\s+then)?|then|also|plus|&)\s+(?=(?:please\s+|also\s+)?(?:add"
    r"|create|mark|complete|finish|delete|remove|cancel|remind me to|move|reschedule|postpone"
    r"|push|tick off|check off|cross off|rename|reopen|un-?tick|set up|schedule|put)\b)"
    r"|\s*;\s*(?=\w)",
    re.I,
)


def _chain(intents: list[Intent]) -> Intent:
    first = intents[0]
    first.then = intents[1:]
    return first


def _clauses(text: str, now: datetime, tz: str) -> Intent | None:
    """Several requests in one sentence, each a command of its own; None when it is one."""
    parts = [p.strip(" ,") for p in _THEN.split(text) if p and p.strip(" ,")]
    if len(parts) < 2:
        return None
    read = [_sentence(p, now, tz) for p in parts]
    if not all(i.kind in _WRITES and not i.then for i in read):
        return None
    if read[0].kind == "create" and any(i.kind == "remind" for i in read[1:]):
        return None  # "add X and remind me at 5": the reminder is the new task's
    return _chain(read)


# "add buy milk tomorrow, no wait, friday", "move the dentist to friday, I mean thursday",
# "add buy eggs. actually make that a dozen eggs", "mark call mom done, no, the dentist".
_CORRECTION = re.compile(
    r"\s*(?:[,;.!]+|\s--?|\s[–—])\s*(?:no\s*,?\s*wait|wait\s*,?\s*no|no\s*,?\s*sorry|sorry\s*,?"
    r"(?:\s*i\s+mean[t]?)?|i\s+mean[t]?|or rather|correction|make that|no\s*[,.!:]|actually\s*,?"
    r"\s*make\s+(?:that|it)|scratch that\s*,?(?:\s*make it)?|oops)\s*[,:.!]*\s+(?P<after>.+)$",
    re.I,
)
_BARE_CLOCK = re.compile(r"^(?:at\s+)?\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?$", re.I)


def _corrected(text: str, now: datetime, tz: str) -> Intent | None:
    """A message that corrects itself: what it says after the correction wins."""
    m = _CORRECTION.search(text)
    if m is None or m.start() == 0:
        return None
    before, after = text[: m.start()].strip(), m.group("after").strip(" .!")
    after = re.sub(r"^(?:make|change)\s+(?:that|it)(?:\s+to)?\s+", "", after, flags=re.I)
    first = _message(before, now, tz)
    if first.kind not in _WRITES or first.then:
        return None
    if _BARE_CLOCK.match(after) and not after.lower().startswith("at"):
        after = f"at {after}"  # "at 5 -- sorry, 6"
    when, spans = find_when(after, now, tz)
    if when is not None and not _cut(after, spans):
        # Only the when changes: the first request with the new date or time.
        cut = _cut_when(before, now, tz)
        again = _message(f"{cut} {after}", now, tz)
        return again if again.kind == first.kind else None
    second = _message(after, now, tz)
    if second.kind in _WRITES and second.kind != "create":
        return second
    if first.kind == "create":
        if second.kind == "create" and re.match(r"^(?:add|create|put|new)\b", after, re.I):
            return second
        # "make that a dozen eggs": the new title; what else was said still holds.
        made = _create(after, now, tz)
        made.task = {**{k: v for k, v in first.task.items() if k != "title"}, **made.task}
        made.tasklist = made.tasklist or first.tasklist
        return made if made.task.get("title") else None
    if first.ref is not None and not first.ref.it and len(after.split()) <= 6:
        first.ref = _ref(after)  # "mark call mom done, no, the dentist": another task
        first.fallback = None
        return first
    return None


def _cut_when(text: str, now: datetime, tz: str) -> str:
    """The text without its date and time (the spans find_when read)."""
    _, spans = find_when(text, now, tz)
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return re.sub(r"\s+(?:on|at|by|for)?\s*$", "", re.sub(r"\s+", " ", text)).strip()


_ATTR_SENTENCE = re.compile(
    r"^(?:(?:it'?s|it is|this is|that'?s)\s+(?:(?:very|really|super|quite)\s+)?(?:urgent|important"
    r"|high|low|medium|top|not|a\s+(?:high|low|top))|(?:tag|tags|label|labels|priority|prio"
    r"|importance)\b|(?:tag|label|mark|flag|make)\s+it\b|(?:and\s+)?(?:should|must)\s+be\s+"
    r"(?:tagged|labell?ed|high|low|urgent)|#\w)",
    re.I,
)


def _sentence(text: str, now: datetime, tz: str) -> Intent:
    cleaned = strip_polite(text)
    text = cleaned.text
    if (reply := _reply(text)) is not None:
        return reply
    if _HOSTILE.search(text):
        return Intent("unknown")
    # "show me what's in groceries", "tell me if the report is done": the question inside.
    text = re.sub(
        r"^(?:show|tell|give|let)\s+me\s+(?:know\s+)?(?=(?:what|which|how|when|where|who|if"
        r"|whether)\b)(?:if\s+|whether\s+)?",
        "",
        text,
        flags=re.I,
    )

    def read_task(words: str) -> Intent:
        return _task_command(words, now, tz)

    if is_question(text, cleaned.polite):
        return _question(text, now, tz, read_task)
    if (m := _CLAUSE_THEN_IT.match(text)) and not _CREATE.match(m.group("a")):
        # "just got back from the dentist, mark it off": "it" is what the first clause names.
        said = m.group("b")
        if not re.search(r"\b(?:it|that|them|this|those)\b", said, re.I):
            said = re.sub(r"^(mark)(\s+as)?\b", r"\1 it\2", said, flags=re.I)
            said = said if said.lower().startswith("mark it") else f"{said} it"
        then = list_command(said, read_task) or read_task(said)
        if then.ref is not None and then.ref.it and then.kind not in ("create", "unknown"):
            then.ref = Ref(it=True, words=_hint(m.group("a")))
            return then
    read = list_command(text, read_task) or read_task(text)
    if read.kind == "unknown" and "," in text:
        # "you're an idiot, just add fix the gate": the request after the chatter.
        parts = text.split(",")
        for i in range(1, len(parts)):
            later = _sentence(",".join(parts[i:]).strip(), now, tz)
            if later.kind not in ("unknown", "greet", "help"):
                return later
    return read


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
            for t in re.split(r"[,\s]+(?:and\s+)?", _first(m, "tags", "tags2"))
            if t.strip("# ")
        ]
        return Intent("update", task={"add_tags": tags}, ref=_ref(_first(m, "a", "a2")))
    if m := _SETPRIO.match(text):
        if m.group("b"):
            return Intent("update", task={"priority": "high"}, ref=_ref(m.group("b")))
        prio, _ = _priority(m.group("p"))
        prio = prio or {"high": "high", "low": "low", "medium": "medium", "urgent": "urgent"}.get(
            m.group("p").lower(), "high"
        )
        return Intent("update", task={"priority": prio}, ref=_ref(m.group("a")))
    if (changed := _update(text, now, tz)) is not None:
        return changed
    if (m := _REOPEN.match(text)) and m.group("c"):
        return Intent("reopen", ref=_ref(m.group("c")))  # "move X back to not done"
    if moving := move_into(text, now, tz):
        words, tasklist = moving
        return Intent("move", ref=_ref(words), tasklist=tasklist)
    if m := _RESCHEDULE.match(text):
        if m.group("by"):
            return Intent("reschedule", task={"shift": m.group("by")}, ref=_ref(m.group("b")))
        when, _ = find_when(m.group("when"), now, tz)
        return Intent("reschedule", task={"due_at": when}, ref=_ref(m.group("a")))
    if (first := _remind_first(text, now, tz)) is not None:
        return first
    if (m := _REMIND.match(text)) and m.group("rest2"):
        # "remind me 15 minutes before the dentist appointment"
        reminder, _ = _reminder(f"remind me {m.group('rest2')} before", now, tz)
        if reminder is not None:
            return Intent("remind", task={"reminder": reminder}, ref=_ref(m.group("a2")))
    if m := _REMIND.match(text):
        reminder, _ = _reminder("remind me " + m.group("rest"), now, tz)
        if reminder is None:
            when, _ = find_when(m.group("rest"), now, tz)
            reminder = {"at": when.isoformat()} if when else None
        if m.group("a") and reminder:
            return Intent("remind", task={"reminder": reminder}, ref=_ref(m.group("a")))
        if reminder:
            return Intent("remind", task={"reminder": reminder}, ref=Ref(it=True))
    if m := _REDO.match(text):
        # "i need to redo the bike tire": that task again, or else a new one.
        return Intent(
            "reopen", ref=_ref(_first(m, "x", "y")), fallback=_create(m.group("all"), now, tz)
        )
    if m := _REOPEN.match(text):
        target = (m.group("a") or m.group("c") or m.group("b") or "it").strip() or "it"
        return Intent("reopen", ref=_ref(target))
    if m := _COMPLETE.match(text):
        if m.group("it"):
            return Intent("complete", ref=Ref(it=True))
        target = _first(m, "a", "b", "c", "d", "e", "f", "g")
        return _scoped_all("complete", target) or Intent("complete", ref=_ref(target))
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
    if (said := statement(text)) is not None:
        scoped = _scoped_all(said.kind, re.sub(r"^\w+\s+(?=(?:all|everything)\b)", "", said.words))
        return scoped or Intent(said.kind, ref=_ref(said.words))  # type: ignore[arg-type]
    if m := _SEARCH.match(text):
        return Intent("search", filters={"q": m.group("q").strip(" ?.\"'")})
    if m := _CREATE.match(text):
        made = _create(text[m.end() :], now, tz, into=bool(INTO_VERB.match(text)))
        put = re.match(
            r"^(?:put|place|stick)\s+(?P<t>(?:the|my)\s+.+?)\s+(?:on|in|into|onto)\s+", text, re.I
        )
        if put and made.tasklist is not None and not made.tasklist.maybe and not made.tasklist.it:
            # "put the dentist on the work list": that task, moved; else a new one there.
            return Intent("move", ref=_ref(put.group("t")), tasklist=made.tasklist, fallback=made)
        return made
    if _LIST.search(text):
        return _list(text, now, tz)
    # Anything that reads like a to-do with a date, a tag, a priority or a rule is a new task;
    # but not a sentence about one ("the dentist is ... now"): that would be a garbled title.
    when, _ = find_when(text, now, tz)
    prio, _ = _priority(text)
    if _ABOUT_A_TASK.match(text) or _CHANGE_VERB.match(text):
        return Intent("unknown")
    if when is not None or TAG.search(text) or _EVERY.search(text) or prio:
        return _create(text, now, tz)
    return Intent("unknown")


# "swap the dentist to the 12th": a change to a task, even when its words are not understood.
_CHANGE_VERB = re.compile(
    r"^(?:change|swap|switch|shift|move|update|edit|push|bump|reschedule|postpone|rename|slide"
    r"|make|set)\s+.+?\s+(?:to|for|until|till|into)\s+|^[\w'’ -]+?\s+(?:is|are)\s+now\s"
    r"|^(?:i|we)\s+(?:just\s+)?(?:moved|pushed|rescheduled|postponed|shifted|changed|bumped)\s",
    re.I,
)
_ABOUT_A_TASK = re.compile(
    r"^(?:the|my|our|that|this)\s+[\w'’ -]+?\s+(?:is|are|was|were|isn't|aren't|wasn't|weren't"
    r"|has|have|hasn't|haven't|got|needs|should|shouldn't|can|can't|will|won't|'s|’s)\s",
    re.I,
)


_PLACEHOLDER = "Qx"


# "every 2 hours", "every 30 minutes", "hourly": more often than a task can repeat.
_SUB_DAILY = re.compile(
    r"\b(?:every|each)\s+(?P<n>\d+|an?|one|two|three|half an?)?\s*(?P<u>hours?|hrs?|minutes?"
    r"|mins?)\b|\b(?:hourly|every hour)\b",
    re.I,
)


def _sub_daily(text: str, now: datetime, tz: str) -> tuple[datetime, str, tuple[int, int]] | None:
    """The first time a sub-daily rule falls, what to tell the person, and where it was."""
    m = _SUB_DAILY.search(text)
    if m is None:
        return None
    raw = (m.group("n") or "1").lower()
    n = 30 if raw.startswith("half") else _FEW.get(raw, 0)
    n = n or (int(raw) if raw.isdigit() else 3)
    in_minutes = (m.group("u") or "h").lower().startswith("m") or raw.startswith("half")
    minutes = n if in_minutes else 60 * n
    first = now.astimezone(ZoneInfo(tz)).replace(second=0, microsecond=0)
    first += timedelta(minutes=minutes)
    said = "every " + (f"{minutes} minutes" if minutes < 60 or minutes % 60 else
                       f"{minutes // 60} hour{'s' if minutes > 60 else ''}")  # fmt: skip
    note = (
        f"Tasks can repeat at most daily, so I couldn't make it repeat {said}: "
        f"it's due once, at {first:%H:%M}."
    )
    return first, note, (m.start(), m.end())


def _create(text: str, now: datetime, tz: str, *, into: bool = False) -> Intent:
    # A quoted title is the title, whatever words are in it; the rest may hold attributes.
    quoted = _QUOTED.match(re.sub(r"^(?:the|a|an)\s+(?=[\"'“‘])", "", text, flags=re.I))
    if quoted is not None:
        text = f"{_PLACEHOLDER}{quoted.group('rest')}"
    tags_said, prio_said, spans = _attrs(text)
    task: dict[str, Any] = {}
    often = _sub_daily(_mask(text, spans), now, tz)
    if often is not None:
        spans.append(often[2])
    reminder, rspan = _reminder(_mask(text, spans), now, tz)
    if rspan:
        spans.append(rspan)
    rec, recspan, implied = _recurrence(_mask(text, spans))
    if recspan:
        spans.append(recspan)
    masked = _mask(text, spans)
    when, wspans = find_when(masked, now, tz, context=text)
    names_day = any(s < e for s, e in wspans if _is_day(masked, s, e))
    if rec is not None and recspan is not None and not names_day:
        clock = parse_time(masked, text)
        part = _PART_OF_DAY.search(text[recspan[0] : recspan[1]])
        at = clock[0] if clock else (_PART_TIME[part.group(1).lower()[:4]] if part else None)
        if rec.get("weekdays") and rec["weekdays"] != ["SA", "SU"]:
            # "every tuesday and thursday at 6am": the first listed day still to come (today,
            # if its time is ahead), found by _align below.
            local = now.astimezone(ZoneInfo(tz))
            at = at or time(9, 0)
            when = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        elif implied:
            # "every month on the 15th": the rule names the day, the rest of the text the time.
            first, _ = find_when(implied, now, tz)
            if first is not None:
                when = first.replace(hour=at.hour, minute=at.minute) if at else first
        elif at is not None and when is None:
            local = now.astimezone(ZoneInfo(tz))
            when = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if rec is not None and "BYDAY=" in str(rec.get("rrule", "")):
        local = now.astimezone(ZoneInfo(tz))
        clock_at = parse_time(masked, text)
        start = (when or local).replace(
            hour=clock_at[0].hour if clock_at else 9,
            minute=clock_at[0].minute if clock_at else 0,
            second=0,
            microsecond=0,
        )
        rule = rrulestr(str(rec["rrule"]), dtstart=start.replace(tzinfo=None) - timedelta(days=1))
        first = rule.after(local.replace(tzinfo=None))
        when = first.replace(tzinfo=ZoneInfo(tz)) if first else when
    elif rec is not None:
        when = _align(when, rec, now, tz)
    if reminder and "at" in reminder and when is not None and rspan is not None:
        # "remind me at 5pm" about something due on another day means that day.
        clock = parse_time(text[rspan[0] : rspan[1]])
        if clock is not None and parse_day_free(text[rspan[0] : rspan[1]]):
            reminder = {"at": when.replace(hour=clock[0].hour, minute=clock[0].minute).isoformat()}
    if often is not None and when is None:
        when = often[0]
    spans += wspans
    prio, pspans = (prio_said, []) if prio_said else _priority(_mask(text, spans))
    spans += pspans
    tags, tag_spans = _tags(text)
    tags = list(dict.fromkeys([*tags, *tags_said]))
    spans += tag_spans
    title = _cut(text, spans)
    title = re.sub(r"\b(?:with\s+)?priority\b", "", title, flags=re.I).strip(" ,.-")
    title = re.sub(r"\s*[,;]\s*(?=[,;]|$)|\s+-\s+(?=-|$)", "", title).strip(" ,.;:-")
    title = re.sub(r"\s+(?:-\s+)+", " - ", title)
    # What was cut out of brackets or between dashes leaves them empty: "(tag: yard)".
    title = re.sub(r"\(\s*\)|\[\s*\]", " ", title)
    title = re.sub(r"\s*[–—]+\s*(?=[–—,;]|$)|^\s*[–—]+\s*", " ", title)
    title = re.sub(r"\s+", " ", title).strip(" ,.;:-–—")
    # "add a high priority task to renew my visa": the words about the task are not its title.
    title = (
        re.sub(
            r"^(?:(?:a|an|my|the)\s+)?(?:new\s+|first\s+|next\s+|another\s+|one more\s+)?"
            r"(?:task|todo|to-do|item)\b\s*(?::|to\b|called\b|named\b"
            r"|titled\b|for\b)?\s*",
            "",
            title,
            flags=re.I,
        )
        or title
    )
    if quoted is not None:
        title = title.replace(_PLACEHOLDER, quoted.group("t").strip(), 1)
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
    return Intent("create", task=task, tasklist=tasklist, note=often[1] if often else "")


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


_TAGGED = re.compile(
    r"\b(?:tagged|tagged with|labell?ed|labell?ed with|with (?:the )?(?:tag|label)|under)\s+#?"
    r"(?P<t>[\w-]+)",
    re.I,
)
_TOPIC = re.compile(
    r"^(?:show|list|see|view|display|give|get|what(?:'s| is| are)?|any|anything)\s+(?:me\s+)?"
    r"(?:all\s+)?(?:of\s+)?(?:my|the|our)\s+(?P<a>[\w-]+)(?:\s+(?:stuff|things|tasks|items"
    r"|todos|ones|list))?$"
    r"|\b(?:for|about|related to|regarding|on)\s+(?:my\s+|the\s+)?(?P<b>[\w-]+)(?:\s+(?:stuff"
    r"|things|tasks|items|todos))?$"
    r"|^(?:show|list|see|view|display)\s+(?:me\s+)?(?:all\s+)?(?:my\s+)?(?P<c>[\w-]+)\s+(?:stuff"
    r"|things|tasks|items|todos)$",
    re.I,
)
_NOT_TOPIC = re.compile(
    r"^(?:tasks?|todos?|to-?dos?|things|stuff|items|list|lists|agenda|everything|all|today"
    r"|tomorrow|tonight|week|weekend|month|now|me|it|that|this|later|open|done|completed|finished"
    r"|pending|overdue|late|urgent|high|low|medium|important|priority|day|days|next|left|remaining"
    r"|plate|schedule|calendar|reminders?|recurring|repeating)$",
    re.I,
)
_NEXT_DAYS = re.compile(
    r"\b(?:in\s+)?(?:the\s+)?(?:next|coming)\s+(?P<n>\d+|two|three|four|five|six|seven|few|couple"
    r"(?: of)?)\s+(?P<u>days|weeks)\b",
    re.I,
)


def _window(
    text: str, now: datetime, tz: str, *, past: bool = False
) -> tuple[datetime, datetime] | None:
    """The stretch of time a listing asks about ("today", "this week", "on friday", "in the
    next two days", "this weekend", "between friday and sunday"), as (after, before).
    `past`: about what was done, so "this week" starts on Monday and "yesterday" counts."""
    lowered = text.lower()
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if between := re.search(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", text, re.I):
        one, two = parse_day(between.group("a"), local), parse_day(between.group("b"), local)
        if one and two and one[0] and two[0]:
            a = datetime.combine(one[0], time(0, 0), ZoneInfo(tz))
            b = datetime.combine(two[0], time(0, 0), ZoneInfo(tz)) + timedelta(days=1)
            return a - timedelta(seconds=1), b
    if m := re.search(r"\b(yesterday|last week|this month|next month)\b", lowered):
        what = m.group(1)
        if what == "yesterday":
            return start - timedelta(days=1, seconds=1), start
        if what == "last week":
            monday = start - timedelta(days=start.weekday() + 7)
            return monday - timedelta(seconds=1), monday + timedelta(days=7)
        first_day = start.replace(day=1)
        if what == "next month":
            first_day = (first_day + timedelta(days=32)).replace(day=1)
        after = first_day if past or what == "next month" else start
        return after - timedelta(seconds=1), (first_day + timedelta(days=32)).replace(day=1)
    if past and "this week" in lowered:
        monday = start - timedelta(days=start.weekday())
        return monday - timedelta(seconds=1), start + timedelta(days=1)
    m = re.search(r"\b(today|tonight|tomorrow|this week|next week|this weekend|next weekend)\b",
                  lowered)  # fmt: skip
    if m:
        what = m.group(1)
        if what == "tomorrow":
            start += timedelta(days=1)
            end = start + timedelta(days=1)
        elif what in ("today", "tonight"):
            end = start + timedelta(days=1)
        elif what == "this week":
            end = start + timedelta(days=7 - start.weekday())
        elif what.endswith("weekend"):
            start += timedelta(
                days=(5 - start.weekday()) % 7 + (7 if what.startswith("next") else 0)
            )
            end = start + timedelta(days=2)
        else:
            start += timedelta(days=7 - start.weekday())
            end = start + timedelta(days=7)
        return start - timedelta(seconds=1), end
    if m := _NEXT_DAYS.search(lowered):
        n = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "few": 3}.get(
            m.group("n"), 2 if m.group("n").startswith("couple") else None
        ) or int(m.group("n"))
        days = n * (7 if m.group("u") == "weeks" else 1)
        return start - timedelta(seconds=1), start + timedelta(days=days + 1)
    day = parse_day(text, local)
    if day is None or day[0] is None or day[4]:
        return None
    first = datetime.combine(day[0], time(0, 0), ZoneInfo(tz))
    before = text[: day[2]].lower()
    if re.search(r"\b(?:before|until|till|by)\s*(?:on\s+)?$", before):
        inclusive = re.search(r"\bby\s*$", before) is not None
        return start - timedelta(days=3650), first + timedelta(days=1 if inclusive else 0)
    if re.search(r"\b(?:after|from|since)\s*(?:on\s+)?$", before):
        return first + timedelta(days=1) - timedelta(seconds=1), first + timedelta(days=3650)
    return first - timedelta(seconds=1), first + timedelta(days=1)


def _list(text: str, now: datetime, tz: str) -> Intent:
    """A listing: its filters, and the list it is limited to."""
    lowered = text.lower()
    filters: dict[str, Any] = {}
    done = re.search(
        r"\b(?:done|completed?|finished|did i (?:do|finish|complete|get)|got done|ticked off"
        r"|checked off|accomplished)\b",
        lowered,
    )
    if done:
        filters["status"] = "completed"
    elif re.search(r"\b(?:open|pending|left|remaining|to do|todo|to-do|outstanding)\b", lowered):
        filters["status"] = "open"
    if re.search(
        r"\b(?:overdue|late|behind|past due|missed|left over|leftover|slipped|from last week)\b",
        lowered,
    ):
        filters["overdue"] = True
    prio, _ = _priority(text)
    if prio:
        filters["priority"] = [prio]
    tags, _ = _tags(text)
    if m := _TAGGED.search(text):
        tags = [*tags, m.group("t").lower()]
    if tags:
        filters["tag"] = list(dict.fromkeys(tags))
    if re.search(
        r"\b(?:no|without(?: a)?|missing)\s+(?:due date|deadline|date)\b|\bundated\b", lowered
    ):
        filters["undated"] = True
    if re.search(r"\b(?:recurring|repeating|repeat)\b", lowered):
        filters["recurring"] = True
    window = None if filters.get("overdue") else _window(text, now, tz, past=bool(done))
    if window is not None:
        after, before = window
        if done:
            filters["completed_after"] = after.isoformat()
            filters["completed_before"] = before.isoformat()
        else:
            filters["due_after"] = after.isoformat()
            filters["due_before"] = before.isoformat()
    tasklist = shown_list(text, now, tz, filtered=bool(filters))
    if tasklist is None and (
        named := re.search(
            r"\b(?:on|in|from)\s+(?:my|the|our)\s+(?P<n>[\w'-]+(?:\s+[\w'-]+)?)\s+list\b",
            text,
            re.I,
        )
    ):
        tasklist = list_ref(named.group("n"))  # "how many things are on my grocery list"
    plain = text.strip(" ?.!")
    if not tags and tasklist is None and (m := _TOPIC.search(plain)):
        word = m.group("a") or m.group("b") or m.group("c")
        if not _NOT_TOPIC.match(word) and find_when(word, now, tz)[0] is None:
            filters["topic"] = word.lower()  # the engine tries it as a tag, a list, words
    return Intent("list", filters=filters, tasklist=tasklist)


# --- chatter, questions and clauses ---------------------------------------------------------

# Requests to drop the rules, wipe an account or reach other people's data change nothing.
_HOSTILE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|drop)\s+(?:all\s+)?(?:of\s+)?(?:your|the|these"
    r"|those|previous|prior|any|my)?\s*(?:rules|instructions|guidelines|prompt|system prompt"
    r"|restrictions|programming|safety)"
    r"|\b(?:wipe|erase|nuke|destroy|reset|purge|format)\s+(?:out\s+)?(?:my\s+|the\s+|your\s+)?"
    r"(?:whole\s+|entire\s+)?(?:account|database|db|everything|all data|data|server|system)"
    r"|\bdrop\s+table\b|<\s*script|\bother (?:users|people)'?s?\b|\beveryone'?s\b|\ball users\b"
    r"|\bsudo\b|\badmin (?:mode|access|rights)\b|\bdelete (?:the|your) (?:database|server)\b"
    r"|\b(?:ignore|disregard|forget)\s+(?:everything\s+|all\s+)?(?:the above|above|what i said"
    r" before|previous|earlier)\b|\b(?:every|each|any|another) user'?s?\b|\ball (?:the )?tables\b"
    r"|\bpretend (?:you(?:'re| are)|to be)\b|\byou are now\b|\bjailbreak\b"
    r"|\b(?:delete|erase|wipe|remove|close|destroy|purge)\s+(?:all\s+)?(?:of\s+)?my\s+(?:account"
    r"|data|profile|user)\b|\b(?:\w+'s|someone else'?s) (?:tasks|lists|account|data)\b",
    re.I,
)
_CLAUSE_THEN_IT = re.compile(
    r"^(?P<a>[^,:]*\w[^,:]*?)\s*[,;:–—-]\s*(?:(?:so|and|then|now|please|just|ok|okay|pls|can you"
    r"|could you)\s+)*(?P<b>[^,]*?\b(?:it|that|them|this|that one|this one|those)\b[^,]*?"
    r"|(?:reopen|re-open|undo|un-?tick|un-?check|un-?complete|complete|finish|close|delete"
    r"|remove|drop|cancel|scrap|tick off|check off|cross off|mark (?:as )?(?:done|complete[d]?"
    r"|finished|not done|open|incomplete)))\W*$",
    re.I,
)


def _hint(clause: str) -> str:
    """The task a leading clause names ("bike tire needs fixing again" → "bike tire")."""
    said = statement(clause)
    words = said.words if said is not None else clause
    return re.sub(
        r"^(?:(?:ok(?:ay)?|so|well|i|i've|i have|just|already|finally|got back from|came back"
        r"|back from|returned from|home from|forget|about)\s+)+",
        "",
        words,
        flags=re.I,
    ).strip()


_QUESTION_WORDS = re.compile(
    r"\b(?:what(?:'s|s)?|which|when(?:'s|s)?|where(?:'s)?|who(?:'s)?|why|how|is|isn't|are|aren't"
    r"|am|was|were|do|does|did|didn't|have|has|had|can|could|should|will|would|any|anything"
    r"|there|tasks?|todos?|things?|stuff|due|today|tomorrow|tonight|week|weekend|month|next"
    r"|last|this|left|pending|open|remaining|overdue|late|behind|priority|high|low|urgent"
    r"|medium|important|done|completed?|finished|finish|yet|still|need|needs|get|got|go"
    r"|going|earliest|latest|first|soon|coming|up|upcoming|schedule|scheduled|plan|planned"
    r"|many|much|total|count|number|else|about|tagged|tag|tags|label|labelled|my|me|i|i've"
    r"|i'm|to|the|a|an|of|on|in|for|or|and|be|it|that|save|saved|added|add|again|now|ever"
    r"|already|tell|know|wonder|list|lists|ones?|anyone|someone|happening|agenda|free|busy"
    r"|before|after|by|until|till|from|between|days?|hours?|weeks?|set|show|see|okay|ok|so"
    r"|wait|hey|hmm|forgotten|forgot|forget|missing|missed|\d+|one|two|three|four|five|six"
    r"|date|dates|deadline|deadlines|yesterday|recurring|repeating|repeat|month|between|without"
    r"|seven|few|couple|say|says|right|really|actually|please|you|your|we|our|us|all|every"
    r"|with|without|at|as|if|whether|not|no|yes|ok)\b",
    re.I,
)


def _about(text: str, now: datetime, tz: str) -> str:
    """What a question is about, once its question words, dates and filters are gone."""
    masked = _mask(text, find_when(text, now, tz)[1])
    masked = TAG.sub(" ", masked)
    left = _QUESTION_WORDS.sub(" ", masked.replace("’", "'"))
    left = re.sub(r"[^\w'\s-]", " ", left)
    return re.sub(r"\s+", " ", left).strip(" '-")


def _question(text: str, now: datetime, tz: str, read_task: Callable[[str], Intent]) -> Intent:
    """A question is answered and never writes: a listing (with its filters), a search, or
    the tasks it asks about ("when's the dentist?", "have I called mom?")."""
    plain = re.sub(r"^(?:how|what)\s+about\s+", "", text.strip().rstrip("?!. "), flags=re.I)
    if (asked := _preview(plain)) is not None:
        return asked
    listed = list_command(plain, read_task)
    if listed is not None and listed.kind in ("lists", "members"):
        return listed
    got = read_task(plain)
    if got.kind == "search":
        return got
    intent = got if got.kind == "list" else _list(plain, now, tz)
    if intent.tasklist is None and not {"tag", "topic"} & set(intent.filters):
        about = _about(plain, now, tz)
        if about:
            intent.filters["about"] = about
        elif re.search(r"\b(?:it|that|this)\b", plain, re.I) and not re.search(
            r"\b(?:what|which|how many)\b", plain, re.I
        ):
            intent.filters["about_it"] = True
    if re.match(r"^how many\b", plain, re.I):
        intent.filters["count"] = True
    return intent


_WHEN_Q = re.compile(
    r"^(?:when|what days?|which days?|what dates?|on what days?|on which days?|how often)\b", re.I
)
_REPEATS_Q = re.compile(
    r"\b(?:does|do|will|would|is|are)\s+(?P<x>.+?)\s+(?:repeat|recur|come (?:up|around|round)"
    r" again|happen again|repeat again)(?:\s+next)?$",
    re.I,
)


def _preview(question: str) -> Intent | None:
    """ "when would 'every other thursday' fall?": the rule's next dates; "when does call mom
    repeat?": that task's series. None for other questions."""
    text = re.sub(r"[\"“”‘’]|(?<!\w)'|'(?!\w)", " ", question).strip()
    if not _WHEN_Q.match(text):
        return None
    if m := _REPEATS_Q.search(text):
        return Intent("preview", ref=_ref(m.group("x")))
    rec, span, implied = _recurrence(text)
    if rec is None or not re.search(
        r"\b(?:would|will|does|do|fall|falls|land|lands|be|happen|mean|give|occur)\b", text, re.I
    ):
        return None
    day = re.search(r"\bon the (\d{1,2})", implied or "")
    if day and rec.get("frequency") == "monthly":
        interval = rec.get("interval", 1)
        every = f";INTERVAL={interval}" if interval > 1 else ""
        rule = f"FREQ=MONTHLY;BYMONTHDAY={day.group(1)}{every}"
        rec = {"rrule": rule}
    task: dict[str, Any] = {"recurrence": rec}
    if clock := parse_time(text):
        task["at"] = clock[0]
    return Intent("preview", task=task)


# --- updates in natural form -----------------------------------------------------------------

_Q_CHARS = " \"'“”‘’"
_CHANGE = re.compile(
    r"^(?P<v>change|set|update|switch|make|move|push|shift|reschedule|postpone|bump|put|edit"
    r"|lower|raise|drop|downgrade|upgrade|increase|reduce|demote|promote"
    r"|rename|retitle|delay|bring forward|pull forward|swap|slide|slot|rebook)\s+"
    r"(?:the\s+)?(?:(?:due\s+)?(?:date|time|deadline|due date|due time|day)\s+(?:of|on|for)\s+)?"
    r"(?P<a>.+?)(?:\s+(?:to|for|until|till|at|on|into|as)\s+|\s*:\s+|\s+(?=due\b))(?P<b>.+)$"
    r"|^(?P<v2>make|set|have)\s+(?P<a2>.+?)\s+(?P<b2>(?:due\s+)?(?:\d|at\b|on\b|noon|midnight"
    r"|today|tonight|tomorrow|next\b|this\b|mon|tue|wed|thu|fri|sat|sun|in\s+\d).*)$",
    re.I,
)
_MOVED = re.compile(
    r"^(?P<a>.+?)\s+(?:has\s+|have\s+|got\s+|was\s+|were\s+|is\s+|are\s+)?(?:been\s+)?(?:moved"
    r"|shifted|changed|pushed|rescheduled|postponed|delayed|bumped|brought forward|slipped|slid)"
    r"\s+(?:back\s+|forward\s+|out\s+)?(?:to|until|till|for|into)\s+(?P<b>.+)$"
    r"|^(?P<a2>.+?)\s+(?:doesn't|don't|does not|do not)\s+(?:need|have)\s+to\s+(?:be\s+)?(?:done"
    r"|finished|ready|happen|\w+)?\s*(?:until|till|before|by)\s+(?P<b2>.+)$"
    r"|^(?P<a3>.+?)\s+(?:can|could|will)\s+wait\s+(?:until|till)\s+(?P<b3>.+)$"
    r"|^(?P<a4>.+?)\s+(?:needs to|has to|must|should|will|is going to)\s+(?:be\s+(?:done|finished"
    r"|ready|in|sent|paid)|happen|take place|get done)\s+(?:(?:by|on|before|at)\s+)?(?P<b4>.+)$"
    r"|^(?:give|set)\s+(?P<a5>.+?)\s+(?:a\s+)?(?:due date|deadline)\s+(?:of|for|on|to)\s+"
    r"(?P<b5>.+)$"
    r"|^(?:set|add|put)\s+(?:a\s+|the\s+)?(?:due date|deadline)\s+(?:of\s+)?(?P<b6>.+?)\s+(?:on|for"
    r"|to)\s+(?P<a6>.+)$"
    r"|^(?:bring|pull|move|push|shift)\s+(?P<a8>.+?)\s+(?:forward|earlier|up|back|later|out)\s+"
    r"(?:to|until|till|for)\s+(?P<b8>.+)$"
    r"|^(?:i|we)\s+(?:just\s+|have\s+|'ve\s+)?(?:moved|pushed|rescheduled|postponed|shifted"
    r"|changed|bumped|delayed)\s+(?P<a9>.+?)\s+(?:back\s+|forward\s+)?(?:to|until|till|for)\s+"
    r"(?P<b9>.+)$"
    r"|^(?:i'll|i will|i'm going to|i am going to|i'm gonna|gonna|let's|lets|i can|i plan to"
    r"|i want to)\s+(?:do|handle|tackle|get to|work on|finish)\s+(?P<a7>.+?)\s+(?P<b7>(?:on|at|by"
    r"|tomorrow|today|tonight|next|this|in)\b.+)$",
    re.I,
)
_UNTAG = re.compile(
    r"^(?:remove|delete|drop|take off|take away|strip|clear)\s+(?:the\s+)?(?:tags?|labels?)\s+#?"
    r"(?P<t>[\w-]+)\s+(?:from|on|off)\s+(?P<a>.+)$"
    r"|^(?:un-?tag|un-?label)\s+(?P<a2>.+?)\s+(?:from|as)\s+#?(?P<t2>[\w-]+)$"
    r"|^(?:un-?tag|un-?label)\s+#?(?P<t3>[\w-]+)\s+(?:from|on)\s+(?P<a3>.+)$"
    r"|^(?:remove|delete|drop|clear)\s+(?:the\s+)?#(?P<t4>[\w-]+)\s+(?:tag\s+)?(?:from|on)\s+"
    r"(?P<a4>.+)$",
    re.I,
)
_NOW_WHEN = re.compile(
    r"^(?P<a>.+?)\s+(?:is|are|'s|’s|was|were|has been|have been|got|will be|should be|needs to be)"
    r"\s+(?:now\s+|actually\s+)?(?:been\s+)?(?:moved|pushed|rescheduled|postponed|changed|shifted"
    r"|delayed|happening|due|set|planned|scheduled|bumped|brought forward)?\s*(?:back\s+)?"
    r"(?:to|for|on|at|until|till|by)?\s*(?P<b>.+?)(?:\s+now|\s+instead)?$",
    re.I,
)
_STEP = re.compile(
    r"^(?P<up>raise|increase|bump up|bump|up|boost|higher|lift|elevate)\s+(?:the\s+)?"
    r"(?:priority|importance|urgency)\s+(?:of|on|for)\s+(?P<a>.+)$"
    r"|^(?P<down>lower|decrease|reduce|drop|downgrade|lessen)\s+(?:the\s+)?"
    r"(?:priority|importance|urgency)\s+(?:of|on|for)\s+(?P<b>.+)$"
    r"|^(?:deprioriti[sz]e|downgrade|de-prioriti[sz]e)\s+(?P<c>.+)$"
    r"|^(?:(?P<up2>raise|increase|bump up|bump|boost|lift|up)|(?P<down2>lower|decrease|reduce|drop"
    r"|downgrade))\s+(?:the\s+)?(?P<d>.+?)(?:'s|’s)\s+(?:priority|importance|urgency)$",
    re.I,
)
_MATTERS = re.compile(
    r"^(?P<a>.+?)\s+(?:is|are|'s|’s|matters?|feels?|seems?|(?P<neg>isn't|isn’t|aren't|aren’t))"
    r"\s+(?:now\s+|really\s+|actually\s+)?(?P<d>more|less|way more"
    r"|way less|much more|much less|a lot more|a lot less|not (?:that |so |very |really )?"
    r"|no longer|(?:that |so |very |really )"
    r"|(?:really |very |super )?)\s*(?P<w>important|urgent|pressing|a priority|critical)?"
    r"(?:\s+(?:now|anymore|any more|than before|today|these days|after all"
    r"|than (?:i|we) (?:thought|expected)|than (?:the\s+|my\s+)?[\w' -]+))*$"
    r"|^(?P<c>.+?)\s+(?:can wait|is not a priority|isn't a priority|is low priority"
    r"|is high priority|is top priority)(?:\s+(?:now|anymore))?$",
    re.I,
)
_RECUR = re.compile(
    r"^(?:make|set|change|turn|switch)\s+(?P<a>.+?)\s+(?:into\s+|to\s+)?(?:a\s+|an\s+)?"
    r"(?:repeat\s+|recur\s+|repeating\s+|recurring\s+)?(?P<r>daily|weekly|monthly|yearly|annual"
    r"|fortnightly|every\s+.+?)(?:\s+(?:thing|task|event|one|repeat|recurring|item|habit))?"
    r"(?:\s+instead|\s+now|\s+from now on)?$"
    r"|^(?P<a2>.+?)\s+(?:should|must|needs to|has to|will)\s+(?:repeat|recur|happen|be done)\s+"
    r"(?P<r2>.+)$"
    r"|^(?:repeat|recur)\s+(?P<a3>.+?)\s+(?P<r3>daily|weekly|monthly|yearly|every\s+.+)$"
    r"|^(?:make|set|change|turn|switch|have)\s+(?P<a5>.+?)\s+(?:to\s+)?(?:repeat|recur|happen)\s+"
    r"(?P<r5>(?:on\s+)?\w+days?(?:\s*(?:,|and)\s*\w+days?)*|every\s+.+|daily|weekly|monthly|yearly)$"
    r"|^(?P<a4>.+?)\s+(?:is|'s|’s|are|becomes)\s+(?:now\s+)?(?:a\s+|an\s+)?(?P<r4>daily|weekly"
    r"|monthly|yearly|annual|fortnightly)\s+(?:thing|task|event|habit|one|routine)(?:\s+now)?$",
    re.I,
)
_RETAG = re.compile(
    r"^(?:change|set|replace|switch|make)\s+(?:(?:the\s+)?(?:tags?|labels?)\s+(?:on|of|for)\s+"
    r"(?P<a>.+?)|(?:the\s+)?(?P<a2>.+?)(?:'s|’s)?\s+(?:tags?|labels?))"
    r"\s+(?:to|with)\s+#?(?P<t>[\w-]+(?:\s*(?:,|and)\s*#?[\w-]+)*)$",
    re.I,
)
_NO_REPEAT = re.compile(
    r"^(?:stop|don't|do not|no longer|quit)\s+(?:repeating|recurring|repeat)\s+(?P<a>.+)$"
    r"|^(?:make|set|turn)\s+(?P<b>.+?)\s+(?:into\s+)?(?:a\s+)?(?:one[- ]off|one[- ]time|single"
    r"|non[- ]recurring|not repeat(?:ing)?|non[- ]repeating)(?:\s+(?:thing|task|event))?$"
    r"|^(?P<c>.+?)\s+(?:should(?:n't| not)|does(?:n't| not)|doesn't need to|won't|will not"
    r"|no longer needs to)\s+(?:repeat|recur)(?:\s+anymore)?$"
    r"|^(?:remove|clear|cancel|turn off|delete|drop|end|stop)\s+(?:the\s+)?(?:recurrence|repeat"
    r"|repetition|repeating|schedule|series)\s+(?:on|of|from|for)\s+(?P<d>.+)$",
    re.I,
)
_NO_DUE = re.compile(
    r"^(?:clear|remove|drop|delete|unset|take off|get rid of|erase)\s+(?:the\s+)?"
    r"(?:due date|deadline|date|due time|due)\s+(?:on|of|from|for)\s+(?P<a>.+)$"
    r"|^(?:make|set|leave)\s+(?P<b>.+?)\s+(?:to\s+)?(?:have\s+)?(?:no|without a?)\s+"
    r"(?:due date|deadline|date)$"
    r"|^(?P<c>.+?)\s+(?:has|have|needs?|gets?)\s+no\s+(?:due date|deadline)(?:\s+anymore)?$",
    re.I,
)
_ADD_REMINDER = re.compile(
    r"^(?:add|set|create|put|give)\s+(?:me\s+)?(?:a\s+|another\s+)?(?:reminder|alert|notification)"
    r"\s+(?:to|for|on|about)\s+(?P<a>.+?)\s+(?P<w>(?:for|at|on|in|tomorrow|today|tonight|next|this)"
    r"\b.+|\d+\s*\w+\s+before.*|an?\s+\w+\s+before.*|half an hour before.*|the day before.*)$",
    re.I,
)
_INSTEAD = re.compile(r"^(?P<a>.+?)\s+instead$", re.I)
_POSSESSIVE_FIELD = re.compile(
    r"^(?P<v>change|set|move|push|update|make|shift|swap|switch|bump)\s+(?:the\s+)?(?P<a>.+?)(?:'s|’s)"
    r"\s+(?P<f>due date|deadline|due time|date|time|due)\s+(?P<to>to|for|until|till)\s+",
    re.I,
)
_SAME_TIME_NEXT_WEEK = re.compile(
    r"(?:(?:at\s+)?(?:the\s+)?same time\s*,?\s+next week|next week\s*,?\s+(?:at\s+)?(?:the\s+)?"
    r"same (?:time|day(?: and time)?))",
    re.I,
)
# "the plants need watering every sunday now": the task's rule.
_NEEDS_RULE = re.compile(
    r"^(?P<a>.+?)\s+(?:needs?|need)\s+(?P<g>\w+ing|to be \w+ed)\s+(?P<r>every\s+.+|daily|weekly"
    r"|monthly|yearly|on\s+\w+days(?:\s*(?:,|and)\s*\w+days)*)(?:\s+now|\s+from now on)?$",
    re.I,
)
_IS_RULE = re.compile(
    r"^(?P<a>.+?)\s+(?:is|are|should be|will be|needs to be|has to be|must be)\s+(?:now\s+)?"
    r"(?P<r>every\s+.+|each\s+.+|daily|weekly|monthly|yearly|fortnightly|annually"
    r"|(?:daily|weekly|monthly|yearly)\s+on\s+.+|on\s+\w+days(?:\s*(?:,|and)\s*\w+days)*)"
    r"(?:\s+now|\s+instead|\s+from now on)?$",
    re.I,
)
_NEW_DUE = re.compile(
    r"^(?P<a>.+?)\s+(?:has|got|gets|now has)\s+(?:a\s+)?new\s+(?:deadline|due date|date|time|slot)"
    r"(?:\s*:|\s+of|\s+on|\s+for|\s+at|\s+-)?\s+(?P<b>.+)$"
    r"|^(?:the\s+)?new\s+(?:deadline|due date|date|time)\s+(?:for|of|on)\s+(?P<a2>.+?)\s+"
    r"(?:is|will be|:)\s+(?P<b2>.+)$"
    r"|^(?P<a3>.+?)(?:'s|’s)\s+(?:new\s+)?(?:deadline|due date|date|time)\s+"
    r"(?:is|changed to|moved to|is now|has moved to|will be)\s+(?P<b3>.+)$",
    re.I,
)
_NO_REMINDER = re.compile(
    r"^(?:remove|clear|delete|drop|cancel|turn off|take off|take away|get rid of|stop)\s+"
    r"(?:all\s+)?"
    r"(?:the\s+|my\s+|its\s+)?(?:reminders?|alerts?|notifications?|nudges?)\s+(?:on|of|from|for"
    r"|about)\s+(?P<a>.+)$"
    r"|^(?:take|get)\s+(?:the\s+)?(?:reminders?|alerts?)\s+off\s+(?:of\s+)?(?P<b>.+)$"
    r"|^(?:don't|do not|dont|no need to|stop)\s+(?:remind|nudge|ping|alert)(?:ing)?\s+me\s+"
    r"(?:about\s+|of\s+)?(?P<c>.+?)(?:\s+(?:anymore|any more))?$"
    r"|^(?:i\s+)?(?:don't|do not)\s+need\s+(?:a|the|any)\s+reminders?\s+(?:for|on|about)\s+"
    r"(?P<d>.+)$",
    re.I,
)
# "… to high priority and due monday": several new values at once.
_AND_ATTRS = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s+&\s+)")
# "is at 3pm, not 2:30", "friday instead of thursday": the old value said too.
_NOT_OLD = re.compile(r"\s*,?\s+(?:not|instead of|rather than)\s+(?:on\s+|at\s+)?[\w:.' ]+$", re.I)


def _when_parts(phrase: str, now: datetime, tz: str) -> tuple[datetime | None, bool, bool, str]:
    """(moment, names a day?, names a clock time?, words left over) for "to 4pm", "saturday"."""
    when, spans = find_when(phrase, now, tz)
    if when is None:
        return None, False, False, phrase
    has_day = any(_is_day(phrase, s, e) for s, e in spans)
    has_time = parse_time(phrase) is not None or bool(
        re.search(r"\b(?:tonight|morning|evening|afternoon|night|in \d+ (?:minutes?|hours?))",
                  phrase, re.I)
    )  # fmt: skip
    left = _cut(phrase, spans)
    left = re.sub(r"^(?:due|on|at|for|to|by)\b\s*", "", left, flags=re.I).strip()
    return when, has_day, has_time, left


def _several_changes(words: str, target: str, now: datetime, tz: str) -> Intent | None:
    """ "change the report to high priority and due monday": each part is a priority, a due
    date or tags; anything else means this is not such a change."""
    parts = [p for p in _AND_ATTRS.split(target) if p.strip()]
    if len(parts) < 2:
        return None
    task: dict[str, Any] = {}
    kind = "update"
    for part in parts:
        part = part.strip()
        tags, prio, spans = _attrs(" " + part)
        prio = prio or _priority(part)[0]
        if prio is None and re.fullmatch(r"(?:urgent|high|medium|low)", part, re.I):
            prio = part.lower()
        if (
            prio is not None
            and not _cut(part, _priority(part)[1]).strip(" ,")
            or (
                prio
                and not re.sub(r"\b(?:priority|prio|a|an)\b", "", _cut(" " + part, spans)).strip()
            )
        ):
            task["priority"] = prio
            continue
        if tags and not _cut(" " + part, spans).strip():
            task["add_tags"] = [*task.get("add_tags", []), *tags]
            continue
        changed = _due_change(words, part, now, tz)
        if changed is None:
            return None
        task.update(changed.task)
        kind = "reschedule"
    return Intent(kind, task=task, ref=_ref(words))  # type: ignore[arg-type]


def _due_change(ref_words: str, phrase: str, now: datetime, tz: str) -> Intent | None:
    phrase = _NOT_OLD.sub("", phrase.strip())
    if _SAME_TIME_NEXT_WEEK.fullmatch(phrase):
        return Intent("reschedule", task={"shift": "1 week"}, ref=_ref(ref_words))
    phrase = re.sub(
        r"^(?:be\s+|happen\s+|take place\s+)?(?:due\s+)?", "", phrase.strip(), flags=re.I
    )
    # "to 3:45", "to 10": a bare number after a time-changing verb is a clock time.
    phrase = re.sub(
        r"^(?=\d{1,2}(?:[:.]\d{2})?\s*(?:$|on\b|tomorrow|today))", "at ", phrase.strip()
    )
    when, has_day, has_time, left = _when_parts(phrase, now, tz)
    if when is None or left:
        return None
    keep = "" if has_day and has_time else ("date" if has_time else "time")
    task: dict[str, Any] = {"due_at": when}
    if keep:
        task["keep"] = keep
    return Intent("reschedule", task=task, ref=_ref(ref_words))


_PRIO_OF = re.compile(
    r"^(?:the\s+|set\s+(?:the\s+)?)?(?:priority|importance)\s+(?:of|for|on)\s+(?P<a>.+?)\s*(?::|=|to|is"
    r"|should be)\s*(?P<p>urgent|critical|top|high|medium|normal|low)$"
    r"|^(?P<a2>.+?)(?:'s|’s)?\s+priority\s*(?::|=|to|is|should be|is now)\s*"
    r"(?P<p2>urgent|critical|top|high|medium|normal|low)$",
    re.I,
)
_GIVE_REMINDER = re.compile(
    r"^(?:give|set|add|put)\s+(?P<a>.+?)\s+an?\s+(?:reminder|alert|notification)\s+(?P<w>.+)$", re.I
)
_SHOULD_BE = re.compile(
    r"^(?P<a>.+?)\s+(?:should be|needs to be|must be|has to be|is now|are now|is|are|becomes|'s"
    r"|can be|could be|may be|can go|can stay)"
    r"\s+(?:now\s+)?(?:an?\s+)?(?:(?P<p>urgent|critical|top|high|medium|normal|low)\s+(?:priority"
    r"|prio)|(?P<u>urgent|critical|top priority))(?:\s+now|\s+from now on)?$",
    re.I,
)
_ADD_TAG = re.compile(
    r"^(?:add|put|stick|attach|apply|give)\s+(?:the\s+|a\s+)?(?:(?:tags?|labels?)\s+#?"
    r"(?P<t>[\w-]+(?:\s*(?:,|and)\s*#?[\w-]+)*)|#(?P<h>[\w-]+)|(?P<t2>[\w-]+)\s+(?:tag|label))"
    r"\s+(?:to|on|onto)\s+(?P<a>.+)$"
    r"|^(?:give|tag)\s+(?P<a2>.+?)\s+(?:the\s+|a\s+)?(?:tags?|labels?)\s+#?(?P<t3>[\w-]+)$",
    re.I,
)
_SHIFT = re.compile(
    r"^(?:push|move|bump|postpone|delay|shift|put off|kick)\s+(?P<a>.+?)\s+(?:back|out|off)?\s*"
    r"(?:by\s+)?(?P<n>an?|one|two|three|four|five|six|seven|\d+|a couple of)\s+"
    r"(?P<u>days?|weeks?|hours?|minutes?|months?)(?:\s+(?:later|back))?$",
    re.I,
)
_NOTE = re.compile(
    r"^(?:add|put|attach|write|leave|append)\s+(?:a\s+|the\s+|this\s+)?(?:note|description"
    r"|comment|details?)\s+(?:to|on|for)\s+(?P<a>.+?)\s*(?::|saying|that says|that|-)\s*"
    r"(?P<n>.+)$"
    r"|^(?:note|description)\s+(?:for|on)\s+(?P<a2>.+?)\s*:\s*(?P<n2>.+)$"
    r"|^(?:set|change|update)\s+(?:the\s+)?(?:description|notes?)\s+(?:of|on|for)\s+(?P<a3>.+?)"
    r"\s+to\s+(?P<n3>.+)$",
    re.I,
)


def _update(text: str, now: datetime, tz: str) -> Intent | None:
    """A change to one task said in everyday words; None when the text is not one."""
    plain = text.strip().rstrip(".!")
    # "change the report's due date to the 9th" reads as "change the due date of the report".
    plain = _POSSESSIVE_FIELD.sub(r"\g<v> the \g<f> of \g<a> \g<to> ", plain)
    if m := _NOTE.match(plain):
        note = _first(m, "n", "n2", "n3").strip(_Q_CHARS)
        return Intent("update", task={"note": note}, ref=_ref(_first(m, "a", "a2", "a3")))
    if m := _ADD_TAG.match(plain):
        raw = _first(m, "t", "h", "t2", "t3")
        tags = [t.strip("# ").lower() for t in re.split(r"\s*(?:,|and)\s*", raw) if t.strip("# ")]
        return Intent("update", task={"add_tags": tags}, ref=_ref(_first(m, "a", "a2")))
    if m := _SHIFT.match(plain):
        n = m.group("n").lower()
        n = {"a": "1", "an": "1", "one": "1", "a couple of": "2"}.get(n, n)
        return Intent("reschedule", task={"shift": f"{n} {m.group('u')}"}, ref=_ref(m.group("a")))
    if m := _RETAG.match(plain):
        tags = [t.strip("# ").lower() for t in re.split(r"\s*(?:,|and)\s*", m.group("t")) if t]
        return Intent("update", task={"tags": tags}, ref=_ref(_first(m, "a", "a2")))
    if m := _UNTAG.match(plain):
        tag = _first(m, "t", "t2", "t3", "t4").lower()
        return Intent(
            "update", task={"remove_tags": [tag]}, ref=_ref(_first(m, "a", "a2", "a3", "a4"))
        )
    if m := _MOVED.match(plain):
        words = _first(m, "a", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9")
        phrase = _first(m, "b", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9")
        changed = _due_change(words, phrase, now, tz)
        if changed is not None:
            if m.group("a7"):
                # "i'll do the report on tuesday": that task; or, if there is none, a new one.
                changed.fallback = _create(re.sub(r"^\S+\s+", "", plain), now, tz)
            return changed
    if (m := _PRIO_OF.match(plain)) and not _CREATE.match(plain):
        level = _PRIO_WORD[_first(m, "p", "p2").lower()]
        return Intent("update", task={"priority": level}, ref=_ref(_first(m, "a", "a2")))
    if (m := _GIVE_REMINDER.match(plain)) and not re.search(r"\bbefore\b", m.group("w"), re.I):
        when, _ = find_when(m.group("w"), now, tz)
        if when is not None:
            return Intent(
                "remind", task={"reminder": {"at": when.isoformat()}}, ref=_ref(m.group("a"))
            )
    if m := _SHOULD_BE.match(plain):
        # "u": urgent, critical or top priority, said without "priority" after it.
        level = _PRIO_WORD[m.group("p").lower()] if m.group("p") else "urgent"
        return Intent("update", task={"priority": level}, ref=_ref(m.group("a")))
    if m := _NEW_DUE.match(plain):
        changed = _due_change(_first(m, "a", "a2", "a3"), _first(m, "b", "b2", "b3"), now, tz)
        if changed is not None:
            return changed
    if m := _NO_REMINDER.match(plain):
        words = _first(m, "a", "b", "c", "d")
        return Intent("update", task={"reminders": []}, ref=_ref(words))
    if m := _NO_DUE.match(plain):
        return Intent("update", task={"due_at": None}, ref=_ref(_first(m, "a", "b", "c")))
    if m := _NO_REPEAT.match(plain):
        return Intent("update", task={"recurrence": None}, ref=_ref(_first(m, "a", "b", "c", "d")))
    if m := _ADD_REMINDER.match(plain):
        reminder, _ = _reminder("remind me " + m.group("w"), now, tz)
        if reminder is None:
            when, _ = find_when(m.group("w"), now, tz)
            reminder = {"at": when.isoformat()} if when else None
        if reminder is not None:
            # "set a reminder to buy milk at 6pm": that task, or else a new one.
            made = (
                _remind_first(f"remind me to {m.group('a')} {m.group('w')}", now, tz)
                if "at" in reminder
                else None
            )
            return Intent(
                "remind", task={"reminder": reminder}, ref=_ref(m.group("a")), fallback=made
            )
    if m := _STEP.match(plain):
        step = 1 if m.group("up") or m.group("up2") else -1
        words = _first(m, "a", "b", "c", "d")
        return Intent("update", task={"priority_step": step}, ref=_ref(words))
    if m := _RECUR.match(plain):
        rule = _first(m, "r", "r2", "r3", "r4", "r5")
        rule = {"annual": "yearly"}.get(rule.lower(), rule)
        rec, _, _ = _recurrence(rule if rule.lower().startswith("every") else rule)
        if rec is not None:
            words = _first(m, "a", "a2", "a3", "a4", "a5")
            return Intent("update", task={"recurrence": rec}, ref=_ref(words))
    if (m := _NEEDS_RULE.match(plain)) and not _CREATE.match(plain):
        rec, _, _ = _recurrence(m.group("r"))
        if rec is not None:
            words = f"{m.group('a')} {re.sub(r'^to be ', '', m.group('g'))}"
            return Intent("update", task={"recurrence": rec}, ref=_ref(words))
    if (m := _IS_RULE.match(plain)) and not _CREATE.match(plain):
        # "call mom should be weekly on sundays", "water the plants is now every other saturday"
        rec, _, _ = _recurrence(m.group("r"))
        if rec is not None:
            return Intent("update", task={"recurrence": rec}, ref=_ref(m.group("a")))
    if m := _INSTEAD.match(plain):
        inner = m.group("a")
        rec, span, _ = _recurrence(inner)
        if rec is not None and span is not None:
            words = _cut(inner, [span])
            words = re.sub(r"^(?:make|set|have|do)\s+|\s+(?:a|an)$", "", words, flags=re.I)
            return Intent("update", task={"recurrence": rec}, ref=_ref(words))
        when, spans = find_when(inner, now, tz)
        if when is not None:
            words = _cut(inner, spans)
            words = re.sub(r"^(?:do|make|have|move|put|set)\s+", "", words, flags=re.I)
            changed = _due_change(words, inner[min(s for s, _ in spans) :], now, tz)
            if changed is not None:
                return changed
    if m := _CHANGE.match(plain):
        verb = (m.group("v") or m.group("v2")).lower()
        words, phrase = m.group("a") or m.group("a2"), (m.group("b") or m.group("b2"))
        if (changed := _due_change(words, phrase, now, tz)) is not None:
            return changed
        target = phrase.strip(_Q_CHARS)
        if (several := _several_changes(words, target, now, tz)) is not None:
            return several
        prio, pspans = _priority(target)
        if prio and not _cut(target, pspans).strip(" ,"):
            return Intent("update", task={"priority": prio}, ref=_ref(words))
        if (
            verb in ("change", "rename", "retitle")
            and not re.search(r"\blist$", target, re.I)
            and find_when(target, now, tz)[0] is None
            and target
        ):
            return Intent("update", task={"title": target}, ref=_ref(words))
    if (m := _NOW_WHEN.match(plain)) and not re.match(
        r"^(?:what|when|where|who|why|how|is|are|do|does|did|i|we)\b", plain, re.I
    ):
        changed = _due_change(m.group("a"), m.group("b"), now, tz)
        if changed is not None:
            return changed
    if m := _MATTERS.match(plain):
        if m.group("c"):
            said = m.group(0).lower()
            prio = "low" if "wait" in said or "not" in said or "low" in said else "high"
            if "top" in said:
                prio = "urgent"
            return Intent("update", task={"priority": prio}, ref=_ref(m.group("c")))
        degree = (m.group("d") or "").strip().lower()
        if m.group("neg"):
            degree = "not " + degree
        word = (m.group("w") or "").lower()
        if degree.endswith("more") and word:
            return Intent("update", task={"priority_step": 1}, ref=_ref(m.group("a")))
        if (degree.endswith("less") or degree.startswith(("not", "no longer"))) and (
            word or degree.endswith("less")
        ):
            return Intent("update", task={"priority_step": -1}, ref=_ref(m.group("a")))
        if word in ("urgent", "critical") and not degree:
            return Intent("update", task={"priority": "urgent"}, ref=_ref(m.group("a")))
        subject = m.group("a")
        if (
            word
            and degree in ("", "really", "very", "so", "super", "that")
            and re.match(r"^(?:the|my|our)\s", subject, re.I)
            and not re.search(r"[\s,](?:it|this|that)$", subject, re.I)
        ):
            # "the dentist is really important": that task matters more.
            prio = "urgent" if word in ("urgent", "critical") else "high"
            return Intent("update", task={"priority": prio}, ref=_ref(subject))
    return None


def _first(m: re.Match[str], *groups: str) -> str:
    return next((m.group(g) for g in groups if m.group(g)), "")


# --- reminder-first phrasing -----------------------------------------------------------------

_REMIND_ME = re.compile(
    r"^(?:(?:remind|nudge|ping|alert|notify|prompt|buzz|text|message)\s+(?:me|us)"
    r"|(?:don't|do not|dont) let me forget|set (?:a|me a|up a) reminder|add a reminder"
    r"|create a reminder|make a reminder|i need a reminder|give me a reminder"
    r"|reminder\s*(?=[:\-–—]|to\b|for\b|at\b|on\b))\s*(?P<rest>.+)$",
    re.I,
)
_REMIND_SPLIT = re.compile(
    r"(?:^|\s)(?:to|about|that i (?:need|have|must|should) to|that|of|re:?|regarding|for)\s+"
    r"|(?<!\d)\s*:\s+|\s*[–—]\s*|\s+-\s+",
    re.I,
)


def _remind_first(text: str, now: datetime, tz: str) -> Intent | None:
    """ "remind me at 7:15pm to feed the dog", "nudge me friday about the report", "remind
    me to stretch in 20 minutes": a new task due then, with a reminder at that moment."""
    m = _REMIND_ME.match(text)
    if m is None:
        return None
    rest = m.group("rest")
    if re.search(r"\b(?:before|ahead|earlier|prior)\b", rest, re.I) and re.match(
        r"^about\b", rest, re.I
    ):
        return None  # "remind me about the report an hour before": a reminder on that task
    for split in _REMIND_SPLIT.finditer(rest):
        lead, body = rest[: split.start()], rest[split.end() :]
        if not body.strip():
            continue
        if lead.strip() and find_when(lead, now, tz)[0] is None and not _EVERY.search(lead):
            continue  # what comes before "to" must be when, or nothing
        intent = _create(f"{body} {lead}".strip(), now, tz)
        due = intent.task.get("due_at")
        if due is None:
            if lead.strip() or split.group(0).strip().lower() != "to":
                return None
            return intent  # "remind me to call mom": a task; when is not said
        if not intent.task.get("reminders"):
            intent.task["reminders"] = [{"at": due.isoformat()}]
        return intent
    if re.match(r"^[:\-–—]", rest.strip()) or m.group(0).lower().startswith("reminder"):
        # "reminder: dentist tomorrow at 3": the rest is the task.
        intent = _create(rest.strip(" :-–—"), now, tz)
        if (due := intent.task.get("due_at")) is not None and not intent.task.get("reminders"):
            intent.task["reminders"] = [{"at": due.isoformat()}]
        return intent if intent.task.get("title") else None
    return None


# --- attributes said in words -------------------------------------------------------------

_TAG_WORD = (
    r"#?(?!(?:a|an|the|high|low|medium|urgent|top|normal|priority|prio|due|by|on|at|every"
    r"|tomorrow|today"
    r"|tonight|next|not|it|and|importance|prio)\b)[\w][\w-]{0,39}"
)
# Between tags: "home, work", "home and work", "home & work", "home + work".
_TAG_SEP = r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s*\+\s*"
_TAG_LIST = rf"{_TAG_WORD}(?:(?:{_TAG_SEP}){_TAG_WORD})*"
_TAG_PHRASE = re.compile(
    r"(?:^|(?<=[\s,;(-]))(?:and\s+|with\s+(?:the\s+)?)?(?:(?:tag(?:ged)?|label(?:l?ed)?|tags|labels"
    r"|categor(?:y"
    r"|ize|ise))(?:\s+(?:it|this|that|them|as))?(?:\s+(?:with|as|under|in))?(?:\s+(?:the\s+)?"
    r"(?:tags?|labels?))?(?:\s*[:=]\s*|\s+)|(?:under|in)\s+(?:the\s+)?(?:tag|label|category)\s+"
    r"|(?:put|file|list)\s+it\s+under\s+(?:the\s+)?(?:tag\s+)?"
    r"|(?:give|add|assign)\s+it\s+(?:the\s+|a\s+)?(?:tags?|labels?)\s+"
    r"|(?:and\s+)?(?:should|must|needs to|to)\s+be\s+(?:tagged|labell?ed)\s+(?:as\s+|with\s+)?)"
    rf"(?P<t>{_TAG_LIST})\s*(?=$|[,;.)–—]|\s+-\s|\s+(?:and\s+)?(?:with\s+)?(?:(?:a\s+)?(?:high|low"
    r"|medium|urgent|top|normal)\b|priority\b|due\b|by\b|on\b|at\b|tomorrow\b|today\b|tonight\b"
    r"|next\b|every\b|in\s+\d|(?:give|make|set|mark|flag)\s+it\b))",
    re.I,
)
_PRIO_PHRASE = [
    (
        re.compile(
            r"(?:(?:it'?s|it is|this is|that'?s|which is|is)\s+)?(?:not\s+(?:that\s+|very\s+|so\s+"
            r"|super\s+|really\s+)?(?:important|urgent|a priority|pressing)|unimportant|no rush"
            r"|no hurry|not urgent|low[- ]key|whenever you can|if there'?s time)",
            re.I,
        ),
        "low",
    ),
    (
        re.compile(
            r"(?:(?:make|set|mark|flag|give)\s+it\s+(?:as\s+|to\s+)?)?"
            r"(?:(?:with|at|as)\s+)?(?:an?\s+)?(?:priority|prio|importance)\s*(?:[:=]|is|of|level"
            r"|set to|to)?"
            r"\s*(?P<p>urgent|critical|top|highest|high|medium|normal|mid|low|lowest|p[1-4]|1|2|3|4)\b",
            re.I,
        ),
        "",
    ),
    (
        re.compile(
            r"(?:(?:make|set|mark|flag|give)\s+it\s+(?:as\s+|to\s+)?(?:an?\s+)?"
            r"|(?:it'?s|it is|this is|which is)\s+)?"
            r"(?:(?:with|at|as)\s+)?(?:an?\s+)?(?P<p>urgent|critical|top|highest|high|medium|normal|mid"
            r"|low|lowest)[- ](?:priority|prio|importance)",
            re.I,
        ),
        "",
    ),
    (
        re.compile(
            r"(?:it'?s|it is|this is|that'?s|which is|very|super|really|extremely"
            r"|this one'?s|this one is|that one'?s|it'?s really|it'?s very"
            r"|(?:make|mark|flag|set)\s+it(?:\s+as)?)\s+"
            r"(?P<p>urgent|important|critical|time[- ]sensitive)",
            re.I,
        ),
        "",
    ),
]
_PRIO_WORD = {
    "urgent": "urgent", "critical": "urgent", "top": "urgent", "highest": "urgent", "p1": "urgent",
    "1": "urgent", "high": "high", "important": "high", "p2": "high", "2": "high",
    "time-sensitive": "high", "time sensitive": "high", "medium": "medium", "normal": "medium",
    "mid": "medium", "p3": "medium", "3": "medium", "low": "low", "lowest": "low", "p4": "low",
    "4": "low",
}  # fmt: skip
_LONE_PRIO = re.compile(
    r"(?:^|(?<=[,;(-]))\s*(?P<p>urgent|important|asap|critical|low|high)\s*(?=$|[,;)]|\s+-\s)", re.I
)


_CATEGORY = re.compile(
    r"(?<=\S)\s*,?\s+(?:in|under|into)\s+(?:the\s+)?#?(?P<t>[\w-]{1,40})\s+(?:category|tag|label)\b"
    r"|(?<=\S)\s*,\s*(?:a\s+|the\s+)?#?(?P<t2>[\w-]{1,40})\s+(?:tag|label)(?=\s*(?:$|[,;.]))",
    re.I,
)


def _attrs(text: str) -> tuple[list[str], str | None, list[tuple[int, int]]]:
    """Tags and priority said in words anywhere ("…, tag it home, low priority", "label
    finance", "priority: high", "it's urgent", "not important"), and where they were."""
    tags: list[str] = []
    spans: list[tuple[int, int]] = []
    prio: str | None = None
    for m in _TAG_PHRASE.finditer(text):
        if m.start() == 0:
            continue  # "tag the photos" is a task
        words = re.split(_TAG_SEP, m.group("t"))
        tags += [w.strip("# ").lower() for w in words if w.strip("# ")]
        spans.append((m.start(), m.end()))
    for m in _CATEGORY.finditer(_mask(text, spans)):
        tags.append((m.group("t") or m.group("t2")).lower())  # "in the pets category", ", x tag"
        spans.append((m.start(), m.end()))
    masked = _mask(text, spans)
    for pattern, fixed in _PRIO_PHRASE:
        if (said := pattern.search(masked)) and said.start() > 0:
            prio = fixed or _PRIO_WORD.get(said.group("p").lower().replace("-", " "))
            if prio is None:
                prio = _PRIO_WORD.get(said.group("p").lower())
            spans.append((said.start(), said.end()))
            break
    if prio is None and (lone := _LONE_PRIO.search(_mask(text, spans))) and lone.start() > 0:
        word = lone.group("p").lower()
        prio = {"asap": "urgent", "important": "high"}.get(word) or _PRIO_WORD[word]
        spans.append((lone.start(), lone.end()))
    return list(dict.fromkeys(tags)), prio, spans


_QUOTED = re.compile(r"^\s*(?P<q>[\"'“‘])(?P<t>.+?)(?:[\"'”’])(?=\s|$|[,.;:!?])(?P<rest>.*)$")
