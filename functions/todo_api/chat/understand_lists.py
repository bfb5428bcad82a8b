"""The list and sharing grammar, used by understand.py: which list words name, messages about
lists themselves (what lists, members, create, rename, delete, share, unshare, leave),
and the list in a task message ("add milk to groceries", "move milk to groceries", "what's
on groceries"). Pure, like understand.py.

Some messages about lists read as tasks too ("remove milk from groceries", "leave for the
airport"): the task grammar comes in as `read_task` so that both readings can be weighed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from functions.todo_api.chat.intent import Intent, ListRef
from functions.todo_api.chat.when import find_when

# --- which list the words name -------------------------------------------------------------

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
# Words about tasks in general: "delete all items" or "show tasks #home" name no list.
TASKY = re.compile(
    r"\b(?:tasks?|todos?|to-?\s?dos?|items|things|everything|all|stuff|reminders?|agenda)\b|#",
    re.I,
)
# "my list", "my to-do list": the person's tasks, not a list called "list".
_MY_LIST = re.compile(
    r"^(?:my|our)\s+(?:list|to-?\s?do(?:\s+list)?|todo list|tasks|task list)$", re.I
)
# "please", "can you": how a command may start (understand.py's task grammar too).
POLITE = r"(?:please\s+)?(?:(?:can|could) you\s+)?"
_USERNAME = re.compile(r"^[\w.-]{1,64}$")
_ME = re.compile(r"^(?:me|myself|i|us)$", re.I)


def list_ref(words: str, *, maybe: bool = False) -> ListRef | None:
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


def list_name(words: str) -> str:
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


# --- messages about lists -----------------------------------------------------------------

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
    rf"^{POLITE}"
    r"(?:(?:create|make|add|start|set up|open|begin)\s+(?:me\s+)?(?:a\s+|an\s+|another\s+)?"
    r"(?:new\s+)?|new\s+)(?:shared\s+)?list\b(?:\s*:\s*|\s+(?:called|named|titled|for|of)\s+|\s+)?"
    r"(?P<n>.*)$",
    re.I,
)
_NEW_NAMED_LIST = re.compile(
    rf"^{POLITE}(?:create|make|start|set up|begin)\s+(?:me\s+)?"
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
_SHARE = re.compile(rf"^{POLITE}share\s+(?P<l>.+?)\s+with\s+(?P<u>.+)$", re.I)
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
            shown = list_ref(m.group("l"))
            return Intent("list", tasklist=shown) if shown and not shown.it else None
        users, where, role = m.group("u"), m.group("l"), role or _role(m.group("v"))
    elif m := _GIVE.match(text):
        users, where, role = m.group("u"), m.group("l"), role or _role(m.group("v"))
    elif (m := _INVITE.match(text)) or ((m := _ADD_USER.match(text)) and (m.group("user") or role)):
        users, where = m.group("u"), m.group("l")
    elif m := _MAKE_ROLE.match(text):
        users, role = m.group("u"), _role(m.group("r"))
        where = m.group("l1") or m.group("l2") or "it"
    if users is None or where is None:
        return None
    names = _users(users)
    tasklist = list_ref(where)
    if not names or tasklist is None or any(_ME.match(n) for n in names):
        return None
    return Intent("share", tasklist=tasklist, users=names, role=role or "editor")


def _unshare(text: str, read_task: Callable[[str], Intent]) -> Intent | None:
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
    if verb is not None and _MY_LIST.match(where.strip(_Q)):
        return read_task(f"{verb} {users}")  # "remove eggs from my list": a task of mine
    tasklist = list_ref(where)
    if tasklist is None:
        return None
    names = _users(users)
    if len(names) == 1 and _ME.match(names[0]):
        return Intent("leave", tasklist=tasklist)
    valid = all(_USERNAME.match(n) for n in names)
    if verb is None:  # no names: "stop sharing groceries" (the engine asks whom)
        return Intent("unshare", tasklist=tasklist, users=names) if valid else None
    # "remove milk from groceries": a member, or else a task in that list.
    task = read_task(f"{verb} {users}")
    task.fallback = None  # not also "delete the list called milk"
    if task.kind == "delete" and task.ref is not None and not task.ref.all:
        task.tasklist = list_ref(where, maybe=True)
        if task.tasklist is not None and task.tasklist.maybe:
            # "remove the stain from the carpet", and no list is called so: as it always was.
            task.fallback = read_task(text)
            task.fallback.fallback = None
    if valid and len(names) == 1:
        return Intent("unshare", tasklist=tasklist, users=names, fallback=task)
    return task


def list_command(text: str, read_task: Callable[[str], Intent]) -> Intent | None:
    """A message about lists themselves, or None."""
    text = text.strip(_Q)
    if _LISTS.match(text):
        return Intent("lists")
    if m := _MEMBERS.match(text):
        tasklist = list_ref(next(g for g in m.group("a", "b", "c", "d") if g))
        return Intent("members", tasklist=tasklist) if tasklist else None
    if intent := _share(text):  # first: "make sam an editor on the groceries list"
        return intent
    if m := _NEW_LIST.match(text) or _NEW_NAMED_LIST.match(text):
        return Intent("list_create", name=list_name(m.group("n")))
    if (m := _RENAME_LIST.match(text)) and (tasklist := list_ref(m.group("l"))):
        return Intent("list_rename", tasklist=tasklist, name=list_name(m.group("n")))
    if intent := _unshare(text, read_task):
        return intent
    if m := _LEAVE.match(text):
        # "leave for the airport at 5pm" is a task; "leave groceries" means nothing else,
        # but only a list called exactly so is left ("leave early" is not "Early birds").
        named = list_ref(m.group("l"), maybe=True)
        if named is not None and (not named.maybe or read_task(text).kind == "unknown"):
            return Intent("leave", tasklist=named)
    if (m := _DELETE_LIST.match(text)) and not TASKY.search(m.group("l")):
        tasklist = list_ref(m.group("l"))
        if tasklist is not None:
            return Intent("list_delete", tasklist=tasklist)
    return None


# --- the list in a task message ----------------------------------------------------------

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
_INTO_DEFAULT = re.compile(
    r"^(?P<t>.+?)\s+(?:to|on|onto|in|into)\s+(?:my|our)\s+(?:list|to-?\s?do(?:\s+list)?"
    r"|todo list|tasks|task list|inbox)$",
    re.I,
)
_INTO_MAYBE = re.compile(r"^(?P<t>.+)\s+(?:to|onto|into)\s+(?:(?:the|my|our)\s+)?(?P<n>.+)$", re.I)
# "add kibble under pets", "add milk in groceries": a short name at the end (only a list
# called exactly so takes the task; "meet sam in the park" stays a title without one).
_IN_MAYBE = re.compile(
    r"^(?P<t>.+)\s+(?:in|under)\s+(?:(?:the|my|our)\s+)?(?P<n>[\w'-]+(?:\s+[\w'-]+)?)$", re.I
)
# Only these verbs put a task into a list named by a bare word ("add milk to groceries").
INTO_VERB = re.compile(
    rf"^{POLITE}(?:add|put|pop|stick|throw|chuck|jot(?: down)?"
    r"|write down)\b",
    re.I,
)
_MOVE = re.compile(
    r"^(?:please\s+)?(?:move|transfer|shift)\s+(?P<a>.+)\s+(?:to|into|onto)\s+(?P<l>.+)$", re.I
)


def into_list(title: str, maybe: bool) -> tuple[str, ListRef | None]:
    """The title without "to my groceries list", and that list; or a maybe-list holding the
    shorter title (the task grammar capitalises titles)."""
    if m := _INTO_DEFAULT.match(title):
        return m.group("t").strip(" ,.-"), None  # "on my list": the default list
    for pattern in _INTO_NAMED:
        if m := pattern.match(title):
            target = list_ref(m.group("n"))
            return m.group("t").strip(" ,.-"), target  # a to-do list is no list: just the title
    if maybe and (m := _INTO_MAYBE.match(title) or _IN_MAYBE.match(title)):
        target = list_ref(m.group("n"), maybe=True)
        if target is not None and target.name:
            target.title = m.group("t").strip(" ,.-")
            return title, target
    return title, None


def move_into(text: str, now: datetime, tz: str) -> tuple[str, ListRef] | None:
    """The task's words and the list in "move milk to groceries" ("to friday" is a date)."""
    if not (m := _MOVE.match(text)) or find_when(m.group("l"), now, tz)[0] is not None:
        return None
    tasklist = list_ref(m.group("l"))
    if tasklist is None:
        return None
    return re.sub(r"\s+from\s+.+$", "", m.group("a"), flags=re.I), tasklist  # "from <its list>"


def shown_list(text: str, now: datetime, tz: str, *, filtered: bool) -> ListRef | None:
    """The list a listing is limited to, if the message names one."""
    plain = text.strip(_Q)
    if (m := _ON_LIST.match(plain)) and find_when(m.group("n"), now, tz)[0] is None:
        # "what's on groceries", "what's left in the groceries list"
        shown = list_ref(m.group("n"), maybe=True)
    elif (m := _SHOW_LIST.match(plain)) and not filtered and not TASKY.search(m.group("n")):
        # "show groceries": the list, if one is called so; "show my groceries list"
        shown = list_ref(m.group("n"), maybe=True)
    else:
        return None
    return None if shown is not None and shown.it else shown  # "show it": not about a list
