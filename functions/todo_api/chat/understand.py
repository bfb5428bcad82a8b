"""From a chat message to a structured intent. Pure: the clock and zone come in as arguments.

An intent names one ordinary API operation (create, list, search, complete, reopen,
delete, update, reschedule, remind, move; and for lists: lists, members, list_create,
list_rename, list_delete, share, unshare, leave) with its fields, or a conversational
move (confirm, deny, help, greet, unknown). Which task "it" or "the second one" means,
and which of the user's lists "groceries" names, is left as a reference for the engine,
which knows the conversation and the user's lists.

Some words may or may not name a list ("add milk to groceries", "show groceries"): the
reference is then marked `maybe`, and only a list called exactly so counts; otherwise
the message means what it always meant. Where a message has two readings ("remove
milk from groceries": a member, or a task), `fallback` holds the other one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from functions.todo_api.chat.when import MONTHS, WEEKDAYS, find_when, parse_time

# What acts on lists rather than on tasks (the engine sends these to the list service).
ListKind = Literal[
    "lists", "members", "list_create", "list_rename", "list_delete", "share", "unshare", "leave"
]
Kind = Literal[
    "create",
    "list",
    "search",
    "complete",
    "reopen",
    "delete",
    "update",
    "reschedule",
    "remind",
    "move",
    ListKind,
    "confirm",
    "deny",
    "help",
    "greet",
    "unknown",
]
LIST_KINDS: frozenset[str] = frozenset(get_args(ListKind))


@dataclass
class Ref:
    """Which task(s): an ordinal into the last list, "it", "all", or words of a title."""

    ordinal: int | None = None  # 1-based; -1 = the last one
    it: bool = False
    task_id: str | None = None  # an exact id (the LLM backend's tools use ids)
    all: bool = False
    words: str = ""


@dataclass
class ListRef:
    """Which list: words of its name, "it" (the list in focus), or an exact id (LLM tools)."""

    name: str = ""
    it: bool = False
    list_id: str | None = None
    # The words may not name a list at all: only a list called exactly so counts, and
    # without one the message keeps its ordinary meaning.
    maybe: bool = False
    # "add milk to groceries": the task's title if the list exists (else the whole title).
    title: str | None = None


@dataclass
class Intent:
    kind: Kind
    task: dict[str, Any] = field(default_factory=dict)  # fields for create / update
    ref: Ref | None = None
    filters: dict[str, Any] = field(default_factory=dict)  # for list / search / bulk
    tasklist: ListRef | None = None  # the list acted on, or the one a task goes to / is in
    users: list[str] = field(default_factory=list)  # share / unshare: usernames
    role: str | None = None  # share: "editor" or "viewer" (anything else is refused)
    name: str = ""  # list_create / list_rename: the new name
    fallback: Intent | None = None  # the other reading, if this one's target is not there

    def summary(self) -> dict[str, Any]:
        """A plain dict for tests and the `actions` the API returns."""
        out: dict[str, Any] = {"intent": self.kind}
        if self.task:
            out["task"] = {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.task.items()
            }
        if self.ref is not None:
            out["ref"] = _present(vars(self.ref))
        if self.filters:
            out["filters"] = self.filters
        if self.tasklist is not None:
            out["list"] = _present(vars(self.tasklist))
        if self.users:
            out["users"] = self.users
        if self.role:
            out["role"] = self.role
        if self.name:
            out["name"] = self.name
        if self.fallback is not None:
            out["fallback"] = self.fallback.summary()
        return out


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in (None, False, "")}


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


# --- lists ---------------------------------------------------------------------------------

_Q = " \t?.!,;:\"'“”‘’"
_IT_LIST = re.compile(
    r"^(?:it|this|that|this one|that one|(?:this|that|the|my|our)\s+list|list)$", re.I
)
# "my to-do list" is not a list called "to-do": such words name tasks in general.
_GENERIC_LIST = re.compile(
    r"^(?:to-?\s?dos?|todos?|tasks?|task list|things|items|agenda|everything|all|stuff"
    r"|today|tonight|tomorrow|this week|next week|the day|the week)$",
    re.I,
)
_TASKY = re.compile(
    r"\b(?:tasks?|todos?|to-?\s?dos?|items|things|everything|all|stuff|reminders?|agenda)\b|#",
    re.I,
)
_USERNAME = re.compile(r"^[\w.-]{1,64}$")
_ME = re.compile(r"^(?:me|myself|i|us)$", re.I)

_LISTS = re.compile(
    r"^(?:(?:what|which)\s+lists\b.*"
    r"|(?:show|list|see|view|display|give)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:(?:my|the|our)\s+)?"
    r"(?:shared\s+)?lists"
    r"|(?:my|all|shared)\s+lists|lists|what\s+are\s+my\s+lists"
    r"|how\s+many\s+lists\s+(?:do\s+i\s+have|am\s+i\s+in))$",
    re.I,
)
_MEMBERS = re.compile(
    r"^(?:who(?:'s|\s+is|\s+are|\s+else\s+is)?\s+(?:in|on|a member of|part of|sharing)\s+(?P<a>.+)"
    r"|who\s+(?:has access to|can (?:see|view|edit|access|use)|shares|uses)\s+(?P<b>.+)"
    r"|(?:who(?:'s|\s+is)|is)\s+(?P<c>.+?)\s+shared(?:\s+with(?:\s+anyone)?)?"
    r"|(?:(?:show|list|who are)\s+(?:me\s+)?(?:the\s+)?)?(?:members|people)\s+(?:of|in|on)\s+"
    r"(?P<d>.+))$",
    re.I,
)
_NEW_LIST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could) you\s+)?"
    r"(?:(?:create|make|add|start|set up|open|begin)\s+(?:me\s+)?(?:a\s+|an\s+|another\s+)?"
    r"(?:new\s+)?|new\s+)(?:shared\s+)?list\b(?:\s*:\s*|\s+(?:called|named|titled|for|of)\s+|\s+)?"
    r"(?P<n>.*)$",
    re.I,
)
_NEW_NAMED_LIST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could) you\s+)?(?:create|make|start|set up|begin)\s+(?:me\s+)?"
    r"(?:a\s+|an\s+|another\s+)?(?:new\s+)?(?:shared\s+)?(?P<n>.+?)\s+list$",
    re.I,
)
_LIST_WORDS = (
    r"(?P<l>(?:the\s+|my\s+|our\s+|this\s+|that\s+)?"
    r"(?:list\s+(?:called\s+|named\s+)?\S.*?|\S.*?\s+list|list))"
)
_RENAME_LIST = re.compile(
    r"^(?:please\s+)?(?:rename|retitle|change the (?:name|title) of)\s+"
    + _LIST_WORDS
    + r"\s+(?:to|as|into)\s+(?P<n>.+)$",
    re.I,
)
_DELETE_LIST = re.compile(
    r"^(?:please\s+)?(?:delete|remove|drop|trash|erase|destroy|get rid of)\s+" + _LIST_WORDS + "$",
    re.I,
)
_ROLE_TAIL = re.compile(
    r"\s+(?:(?:as|to be)\s+(?:an?\s+)?(?P<as>viewer|reader|editor|writer|collaborator|member"
    r"|owner|admin)s?"
    r"|(?P<ro>read[- ]?only|view[- ]?only)(?:\s+access)?"
    r"|(?:with\s+)?(?P<acc>view|viewing|read|edit|editing|write|full)\s+"
    r"(?:access|rights|permissions?)"
    r"|so\s+(?:that\s+)?(?:they|he|she)\s+can\s+(?:only\s+)?(?P<can>view|see|read|edit|change|add)"
    r"(?:\s+(?:it|tasks|things))?)$",
    re.I,
)
_SHARE = re.compile(
    r"^(?:please\s+)?(?:(?:can|could) you\s+)?share\s+(?P<l>.+?)\s+with\s+(?P<u>.+)$", re.I
)
_LET = re.compile(
    r"^(?:please\s+)?(?:let|allow)\s+(?P<u>.+?)\s+(?:to\s+)?"
    r"(?P<v>view|see|read|look at|edit|change|access|use|work on|help with|add to)\s+(?P<l>.+)$",
    re.I,
)
_GIVE = re.compile(
    r"^(?:please\s+)?(?:give|grant)\s+(?P<u>.+?)\s+(?:(?P<v>view|viewing|read|read-only|edit|editing"
    r"|write|full)\s+)?(?:access|rights|permissions?)\s+(?:to|on|for)\s+(?P<l>.+)$",
    re.I,
)
_INVITE = re.compile(r"^(?:please\s+)?invite\s+(?P<u>.+?)\s+(?:to|into)\s+(?P<l>.+)$", re.I)
_ADD_USER = re.compile(
    r"^(?:please\s+)?add\s+(?P<user>(?:the\s+)?user\s+)?(?P<u>.+?)\s+(?:to|as a member of)\s+"
    r"(?P<l>.+)$",
    re.I,
)
_MAKE_ROLE = re.compile(
    r"^(?:please\s+)?(?:make|set|change|turn|switch)\s+(?P<u>@?[\w.-]+?)(?:'s\s+role)?\s+"
    r"(?:(?:in|on|for|of)\s+(?P<l1>.+?)\s+)?(?:to\s+|into\s+)?(?:an?\s+)?"
    r"(?P<r>viewer|reader|editor|writer|owner)(?:\s+(?:of|on|in|for)\s+(?P<l2>.+))?$",
    re.I,
)
_UNSHARE = re.compile(
    r"^(?:please\s+)?(?:unshare|stop sharing)\s+(?P<l>.+?)(?:\s+(?:with|from|for)\s+(?P<u>.+))?$",
    re.I,
)
_REMOVE_FROM = re.compile(
    r"^(?:please\s+)?(?:(?P<v>remove|delete|drop)\s+(?P<u>.+?)\s+from"
    r"|(?:kick|boot|throw)\s+(?P<k>@?[\w.-]+)\s+(?:out\s+of|off(?:\s+of)?|from)"
    r"|take\s+(?P<t>@?[\w.-]+)\s+off(?:\s+of)?)\s+(?P<l>.+)$",
    re.I,
)
_REVOKE = re.compile(
    r"^(?:please\s+)?revoke\s+(?:(?P<u1>@?[\w.-]+)'s\s+access\s+to\s+(?P<l1>.+)"
    r"|(?:access\s+to\s+)?(?P<l2>.+?)\s+(?:for|from)\s+(?P<u2>.+))$",
    re.I,
)
_LEAVE = re.compile(
    r"^(?:please\s+)?(?:i\s+(?:want|would like|wanna)\s+to\s+|i'd like to\s+|let me\s+)?"
    r"(?:leave|quit|exit|unsubscribe from|unfollow|get out of|stop following)\s+(?P<l>.+)$",
    re.I,
)
_ON_LIST = re.compile(
    r"^(?:what(?:'s|\s+is|\s+are)?|show|list|view|display|see|anything|what do i have)\s+"
    r"(?:me\s+)?(?:(?:left|open|remaining|pending|still|else)\s+)?(?:(?:the\s+)?(?:tasks|items"
    r"|things|todos)\s+)?(?:on|in|from)\s+(?P<n>.+)$",
    re.I,
)
_SHOW_LIST = re.compile(r"^(?:show|list|view|display|see)\s+(?:me\s+)?(?P<n>.+)$", re.I)
# "add milk to my groceries list": the list is named, so the title is "Milk" whatever
# lists exist. "add milk to groceries": only a list called "groceries" takes it.
_INTO_NAMED = (
    re.compile(r"^(?P<t>.+)\s+(?:to|on|onto|in|into)\s+(?:the|my|our)\s+(?P<n>.+?\s+list)$", re.I),
    re.compile(r"^(?P<t>.+)\s+(?:to|on|onto|in|into)\s+(?P<n>list\s+.+)$", re.I),
    re.compile(r"^(?P<t>.+)\s+(?:to|on|onto|in|into)\s+(?P<n>\S+(?:\s+\S+)?\s+list)$", re.I),
)
_INTO_MAYBE = re.compile(r"^(?P<t>.+)\s+(?:to|onto|into)\s+(?:(?:the|my|our)\s+)?(?P<n>.+)$", re.I)
_INTO_VERB = re.compile(r"^(?:please\s+)?(?:(?:can|could) you\s+)?(?:add|put)\b", re.I)
_MOVE = re.compile(
    r"^(?:please\s+)?(?:move|transfer|shift)\s+(?P<a>.+)\s+(?:to|into|onto)\s+(?P<l>.+)$", re.I
)


def _list_ref(words: str, *, maybe: bool = False) -> ListRef | None:
    """The list that words like "the groceries list", "my groceries" or "it" name."""
    text = words.strip(_Q)
    if _IT_LIST.match(text):
        return ListRef(it=True)
    named = bool(re.search(r"(?:^|\s)list$|^(?:(?:the|my|our)\s+)?list\s", text, re.I))
    text = re.sub(r"^(?:the|my|our)\s+", "", text, flags=re.I)
    text = re.sub(r"^list\s+(?:called\s+|named\s+)?|\s+list$", "", text, flags=re.I).strip(_Q)
    if not text or _GENERIC_LIST.match(text):
        return None
    return ListRef(name=text, maybe=maybe and not named)


def _list_name(words: str) -> str:
    name = re.sub(r"^(?:called|named|titled)\s+", "", words.strip(_Q), flags=re.I).strip(_Q)
    return name[:1].upper() + name[1:] if name.islower() else name


def _users(words: str) -> list[str]:
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*", words.strip(_Q))
    return [p.strip(_Q).lstrip("@") for p in parts if p.strip(_Q).lstrip("@")]


def _role(word: str | None) -> str | None:
    if not word:
        return None
    w = word.lower()
    if w.startswith(("owner", "admin")):
        return "owner"
    return "viewer" if w.startswith(("view", "read", "see", "look")) else "editor"


def _share(text: str) -> Intent | None:
    tail = _ROLE_TAIL.search(text)
    role = None
    if tail is not None:
        role = _role(tail.group("as") or tail.group("acc") or tail.group("can")) or (
            "viewer" if tail.group("ro") else None
        )
        text = text[: tail.start()]
    users: str | None = None
    where: str | None = None
    if m := _SHARE.match(text):
        users, where = m.group("u"), m.group("l")
    elif m := _LET.match(text):
        if _ME.match(m.group("u")):  # "let me see groceries"
            shown = _list_ref(m.group("l"))
            return Intent("list", tasklist=shown) if shown and not shown.it else None
        users, where, role = m.group("u"), m.group("l"), role or _role(m.group("v"))
    elif m := _GIVE.match(text):
        users, where, role = m.group("u"), m.group("l"), role or _role(m.group("v"))
    elif m := _INVITE.match(text):
        users, where = m.group("u"), m.group("l")
    elif (m := _ADD_USER.match(text)) and (m.group("user") or role):
        users, where = m.group("u"), m.group("l")
    elif m := _MAKE_ROLE.match(text):
        users, role = m.group("u"), _role(m.group("r"))
        where = m.group("l1") or m.group("l2") or "it"
    if users is None or where is None:
        return None
    names = _users(users)
    tasklist = _list_ref(where)
    if not names or tasklist is None or any(_ME.match(n) for n in names):
        return None
    return Intent("share", tasklist=tasklist, users=names, role=role or "editor")


def _unshare(text: str, now: datetime, tz: str) -> Intent | None:
    verb = None
    if m := _UNSHARE.match(text):
        users, where = m.group("u") or "", m.group("l")
    elif m := _REMOVE_FROM.match(text):
        verb = m.group("v")
        users, where = m.group("u") or m.group("k") or m.group("t"), m.group("l")
    elif m := _REVOKE.match(text):
        users, where = m.group("u1") or m.group("u2"), m.group("l1") or m.group("l2")
    else:
        return None
    tasklist = _list_ref(where)
    if tasklist is None:
        return None
    names = _users(users)
    if len(names) == 1 and _ME.match(names[0]):
        return Intent("leave", tasklist=tasklist)
    valid = all(_USERNAME.match(n) for n in names)
    if verb is None:  # no names: "stop sharing groceries" (the engine asks whom)
        return Intent("unshare", tasklist=tasklist, users=names) if valid else None
    # "remove milk from groceries": a member, or else a task in that list.
    task = _task_command(f"{verb} {users}", now, tz)
    task.fallback = None  # not also "delete the list called milk"
    if task.kind == "delete" and task.ref is not None and not task.ref.all:
        task.tasklist = _list_ref(where, maybe=True)
        if task.tasklist is not None and task.tasklist.maybe:
            # "remove the stain from the carpet", and no list is called so: as it always was.
            task.fallback = _task_command(text, now, tz)
            task.fallback.fallback = None
    if valid and len(names) == 1:
        return Intent("unshare", tasklist=tasklist, users=names, fallback=task)
    return task


def _list_command(text: str, now: datetime, tz: str) -> Intent | None:
    """A message about lists themselves, or None."""
    text = text.strip(_Q)
    if _LISTS.match(text):
        return Intent("lists")
    if m := _MEMBERS.match(text):
        tasklist = _list_ref(next(g for g in m.group("a", "b", "c", "d") if g))
        return Intent("members", tasklist=tasklist) if tasklist else None
    if intent := _share(text):  # first: "make sam an editor on the groceries list"
        return intent
    if m := _NEW_LIST.match(text) or _NEW_NAMED_LIST.match(text):
        return Intent("list_create", name=_list_name(m.group("n")))
    if (m := _RENAME_LIST.match(text)) and (tasklist := _list_ref(m.group("l"))):
        return Intent("list_rename", tasklist=tasklist, name=_list_name(m.group("n")))
    if intent := _unshare(text, now, tz):
        return intent
    if m := _LEAVE.match(text):
        # "leave for the airport at 5pm" is a task; "leave groceries" means nothing else,
        # but only a list called exactly so is left ("leave early" is not "Early birds").
        named = _list_ref(m.group("l"), maybe=True)
        if named is not None and (
            not named.maybe or _task_command(text, now, tz).kind == "unknown"
        ):
            return Intent("leave", tasklist=named)
    if (m := _DELETE_LIST.match(text)) and not _TASKY.search(m.group("l")):
        tasklist = _list_ref(m.group("l"))
        if tasklist is not None:
            return Intent("list_delete", tasklist=tasklist)
    return None


# --- the entry point ---------------------------------------------------------------------


def understand(message: str, now: datetime, tz: str) -> Intent:
    text = re.sub(r"\s+", " ", message).strip()
    if not text:
        return Intent("unknown")
    for pattern, kind in ((_YES, "confirm"), (_NO, "deny"), (_HELP, "help"), (_GREET, "greet")):
        if pattern.match(text):
            return Intent(kind)  # type: ignore[arg-type]
    return _list_command(text, now, tz) or _task_command(text, now, tz)


def _task_command(text: str, now: datetime, tz: str) -> Intent:
    if m := _RENAME.match(text):
        ref = _ref(m.group("a"))
        title = m.group("to").strip(" \"'")
        # "rename groceries to food" with no such task: the list, if one is called so.
        other = _list_ref(m.group("a"), maybe=True) if ref.words else None
        fallback = Intent("list_rename", tasklist=other, name=_list_name(title)) if other else None
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
    if (m := _MOVE.match(text)) and find_when(m.group("l"), now, tz)[0] is None:
        tasklist = _list_ref(m.group("l"))
        words = re.sub(r"\s+from\s+.+$", "", m.group("a"), flags=re.I)  # "from <its list>"
        if tasklist is not None:
            return Intent("move", ref=_ref(words), tasklist=tasklist)
    if m := _RESCHEDULE.match(text):
        if m.group("by"):
            delta, _ = find_when("in " + m.group("by"), now, tz)
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
        listish = ref.words and not text.lower().startswith("cancel") and not _TASKY.search(target)
        other = _list_ref(ref.words, maybe=True) if listish else None
        return Intent(
            "delete", ref=ref, fallback=Intent("list_delete", tasklist=other) if other else None
        )
    if m := _SEARCH.match(text):
        return Intent("search", filters={"q": m.group("q").strip(" ?.\"'")})
    if m := _CREATE.match(text):
        return _create(text[m.end() :], now, tz, into=bool(_INTO_VERB.match(text)))
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
    title, tasklist = _into_list(title, into)
    task["title"] = _capital(title)
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


def _into_list(title: str, maybe: bool) -> tuple[str, ListRef | None]:
    """The title without "to my groceries list", and that list; or a maybe-list."""
    for pattern in _INTO_NAMED:
        if m := pattern.match(title):
            target = _list_ref(m.group("n"))
            return m.group("t").strip(" ,.-"), target  # a to-do list is no list: just the title
    if maybe and (m := _INTO_MAYBE.match(title)):
        target = _list_ref(m.group("n"), maybe=True)
        if target is not None and target.name:
            target.title = _capital(m.group("t").strip(" ,.-"))
            return title, target
    return title, None


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
    intent = _list_filters(text, now, tz)
    plain = text.strip(_Q)
    if (m := _ON_LIST.match(plain)) and find_when(m.group("n"), now, tz)[0] is None:
        # "what's on groceries", "what's left in the groceries list"
        intent.tasklist = _list_ref(m.group("n"), maybe=True)
    elif (m := _SHOW_LIST.match(plain)) and not intent.filters and not _TASKY.search(m.group("n")):
        # "show groceries": the list, if one is called so; "show my groceries list"
        intent.tasklist = _list_ref(m.group("n"), maybe=True)
    if intent.tasklist is not None and intent.tasklist.it:
        intent.tasklist = None  # "show it", "show this": not about a list
    return intent


def _list_filters(text: str, now: datetime, tz: str) -> Intent:
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
    return Intent("list", filters=filters)
