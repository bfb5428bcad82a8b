"""Blind evaluation of the chat: utterances written without sight of the chat's code,
judged only by what a person could see: the tasks and lists afterwards (read through the
REST API) and the reply.

Each case gets a fresh todo-api (in-process, over the in-memory Dapr fake) whose whole
world, the chat included, runs at the corpus's fixed instant (time-machine moves every
clock the process reads: datetime, time.time, and so dateparser and PyJWT too). A user
is registered in the corpus's time zone, the setup is made through the REST API, the
turns go to `POST /api/v1/chat` in one conversation, and the expectations are checked.

Run it:  .venv/bin/python -m tests.functions.todo_api.chat.blind.harness [blind|dev ...]
(prints the scores and failures, writes loadtest/results/chat_blind.json).
The file format is described in the header of blind.yaml.
"""

from __future__ import annotations

import copy
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import permutations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
import yaml
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from loadtest.stats import save, summary_ms
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets

HERE = Path(__file__).parent
ROOT = HERE.parents[4]
RESULTS = ROOT / "loadtest" / "results" / "chat_blind.json"
API = "/api/v1"
SETS = ("blind", "dev")

# Setup tasks are made this long before "now" (one second apart), so "the last one I
# added" and sorting by creation mean something.
_SETUP_LEAD = timedelta(hours=2)


class CorpusError(ValueError):
    """The corpus file itself is wrong (unknown key, unknown setup title, ...)."""


# -- the corpus ----------------------------------------------------------------------------

_TASK_KEYS = {
    "title", "description", "due", "priority", "tags", "recurrence", "reminders", "list",
    "status", "completed_at",
}  # fmt: skip
_FIELD_KEYS = {
    "title", "title_has", "title_not", "due", "priority", "tags", "tags_include",
    "recurrence", "reminders", "remind_at", "list", "status", "description_has",
}  # fmt: skip
_EXPECT_KEYS = {
    "created", "completed", "reopened", "deleted", "updated", "unchanged", "asks",
    "reply_mentions", "reply_not_mentions", "lists_created", "any_of",
}  # fmt: skip
_WRITES = ("created", "completed", "reopened", "deleted", "updated", "lists_created")


@dataclass
class Turn:
    say: str
    expect: dict[str, Any] | None = None  # checked right after this turn


@dataclass
class Case:
    id: str
    cls: int
    setup: dict[str, Any]
    turns: list[Turn]
    expect: dict[str, Any]
    note: str = ""


@dataclass
class Corpus:
    name: str
    meta: dict[str, Any]
    cases: list[Case]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.meta["timezone"])

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.meta["now"]).replace(tzinfo=self.tz)

    @property
    def floor(self) -> int:
        return int(self.meta.get("floor", 0))


def load(path: Path) -> Corpus:
    return parse(path.read_text(), path.stem)


def parse(text: str, name: str) -> Corpus:
    doc = yaml.safe_load(text)
    meta = doc["meta"]
    for key in ("now", "timezone", "floor"):
        if key not in meta:
            raise CorpusError(f"{name}: meta.{key} is missing")
    fixtures = doc.get("fixtures") or {}
    cases: list[Case] = []
    seen: set[str] = set()
    for raw in doc["cases"]:
        cid = str(raw.get("id"))
        if cid in seen:
            raise CorpusError(f"duplicate case id {cid}")
        seen.add(cid)
        try:
            cases.append(_case(raw, fixtures))
        except (CorpusError, KeyError, TypeError) as exc:
            raise CorpusError(f"{name} case {cid}: {exc}") from exc
    return Corpus(name, meta, cases)


def _case(raw: dict[str, Any], fixtures: dict[str, Any]) -> Case:
    unknown = set(raw) - {"id", "class", "setup", "say", "turns", "expect", "note"}
    if unknown:
        raise CorpusError(f"unknown keys {sorted(unknown)}")
    cls = int(raw["class"])
    if not 1 <= cls <= 9:
        raise CorpusError(f"class {cls} is not 1-9")
    setup = _setup(raw.get("setup"), fixtures)
    titles = {t["title"].lower() for t in setup["tasks"]}
    if ("say" in raw) == ("turns" in raw):
        raise CorpusError("give exactly one of say / turns")
    turns_raw = [raw["say"]] if "say" in raw else raw["turns"]
    turns = []
    for t in turns_raw:
        if isinstance(t, str):
            turns.append(Turn(t))
        else:
            _check_expect(t["expect"], titles)
            turns.append(Turn(t["say"], t["expect"]))
    expect = raw.get("expect") or {}
    _check_expect(expect, titles)
    said = " ".join(t.say for t in turns)
    for e in [expect, *(t.expect for t in turns if t.expect)]:
        _check_not_echo(e, said)
    return Case(str(raw["id"]), cls, setup, turns, expect, raw.get("note", ""))


def _setup(raw: Any, fixtures: dict[str, Any]) -> dict[str, Any]:
    if raw is None:
        return {"lists": [], "tasks": []}
    if isinstance(raw, str):
        raw = {"use": raw}
    base: dict[str, Any] = {"lists": [], "tasks": []}
    if "use" in raw:
        if raw["use"] not in fixtures:
            raise CorpusError(f"no fixture {raw['use']!r}")
        base = _setup(fixtures[raw["use"]], fixtures)
    lists = [*base["lists"], *(raw.get("lists") or [])]
    tasks = [*base["tasks"], *(raw.get("tasks") or [])]
    for t in tasks:
        bad = set(t) - _TASK_KEYS
        if bad:
            raise CorpusError(f"setup task keys {sorted(bad)}")
        if t.get("list") and t["list"] not in lists:
            raise CorpusError(f"setup list {t['list']!r} is not declared")
    names = [t["title"].lower() for t in tasks]
    if len(set(names)) != len(names):
        raise CorpusError("setup titles must be unique")
    return {"lists": lists, "tasks": tasks}


def _check_expect(expect: dict[str, Any], titles: set[str]) -> None:
    bad = set(expect) - _EXPECT_KEYS
    if bad:
        raise CorpusError(f"expect keys {sorted(bad)}")
    if "any_of" in expect:
        if set(expect) != {"any_of"}:
            raise CorpusError("any_of stands alone")
        for alt in expect["any_of"]:
            _check_expect(alt, titles)
        return
    if expect.get("unchanged") and any(k in expect for k in _WRITES):
        raise CorpusError("unchanged with a write expectation")
    for spec in _as_list(expect.get("created")):
        _check_fields(spec)
    for key in ("completed", "reopened", "deleted"):
        for title in expect.get(key) or []:
            if title.lower() not in titles:
                raise CorpusError(f"{key}: no setup task {title!r}")
    for title, spec in (expect.get("updated") or {}).items():
        if title.lower() not in titles:
            raise CorpusError(f"updated: no setup task {title!r}")
        _check_fields(spec)


def _check_not_echo(expect: dict[str, Any], said: str) -> None:
    """A reply that merely repeats the message ("no task matches 'X'") must not pass a
    mention check, so nothing the reply must mention may be in the message itself."""
    for alt in expect.get("any_of") or []:
        _check_not_echo(alt, said)
    for item in expect.get("reply_mentions") or []:
        for option in item if isinstance(item, list) else [item]:
            if _mentions(said, option):
                raise CorpusError(f"reply_mentions {option!r} is in the message itself")


def _check_fields(spec: dict[str, Any]) -> None:
    bad = set(spec) - _FIELD_KEYS
    if bad:
        raise CorpusError(f"field keys {sorted(bad)}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- one case against a fresh app ----------------------------------------------------------


class Clock:
    """The process-wide clock, frozen; each request moves it one second on."""

    def __init__(self, traveller: Any) -> None:
        self._t = traveller

    def move_to(self, when: datetime) -> None:
        self._t.move_to(when, tick=False)

    def tick(self) -> None:
        self._t.shift(1)


@contextmanager
def frozen(at: datetime) -> Iterator[Clock]:
    with time_machine.travel(at, tick=False) as traveller:
        yield Clock(traveller)


def local_time(text: Any, tz: ZoneInfo) -> datetime:
    """'2026-12-04T09:00' (or a date, taken at 09:00) on the wall clock of `tz`."""
    text = str(text)
    if "T" not in text:
        text += "T09:00"
    return datetime.fromisoformat(text).replace(tzinfo=tz)


_TOKEN_LIFE = timedelta(days=120)
# Registration hashes the password twice with Argon2id (~0.4 s): do it once per time zone,
# long before any corpus instant, and give every case a deep copy of that Dapr state.
_ACCOUNT_AT = datetime(2026, 9, 1, tzinfo=UTC)
_accounts: dict[str, tuple[FakeDapr, dict[str, str]]] = {}


def _new_app(dapr: FakeDapr) -> TestClient:
    # A long token life: setups start days before "now". raise_server_exceptions=False:
    # a crash in the chat is a failed case (HTTP 500), not the end of the run.
    settings = Settings(token_ttl=_TOKEN_LIFE)
    return TestClient(create_app(settings=settings, dapr=dapr), raise_server_exceptions=False)


def _account(tz: ZoneInfo) -> tuple[FakeDapr, dict[str, str]]:
    """A Dapr state holding one registered user in `tz`, and that user's auth header."""
    if tz.key not in _accounts:
        dapr = FakeDapr(secret_values=token_secrets())
        client = _new_app(dapr)
        login = {"username": "pat", "password": "a long passphrase"}
        with time_machine.travel(_ACCOUNT_AT, tick=False):
            made = client.post(f"{API}/auth/register", json={**login, "timezone": tz.key})
            assert made.status_code == 201, made.text
            tok = client.post(f"{API}/auth/token", json=login)
            assert tok.status_code == 200, tok.text
        _accounts[tz.key] = (dapr, {"authorization": f"Bearer {tok.json()['access_token']}"})
    return _accounts[tz.key]


class Session:
    """A fresh todo-api (its own copy of the Dapr state) and one signed-in user."""

    def __init__(self, tz: ZoneInfo, clock: Clock) -> None:
        self.tz = tz
        self.clock = clock
        template, self.headers = _account(tz)
        self.dapr = copy.deepcopy(template)
        self.client = _new_app(self.dapr)
        self.conversation: str | None = None
        self.inbox = self.default_list()

    def call(self, method: str, path: str, body: Any = None, params: Any = None) -> tuple[int, Any]:
        self.clock.tick()
        resp = self.client.request(
            method, API + path, json=body, params=params, headers=self.headers
        )
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = resp.text
        return resp.status_code, data

    def ok(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        status, data = self.call(method, path, body, params)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status} {data}")
        return data

    def local(self, text: Any) -> datetime:
        return local_time(text, self.tz)

    def chat(self, message: str) -> tuple[int, str]:
        body: dict[str, Any] = {"message": message}
        if self.conversation:
            body["conversation_id"] = self.conversation
        status, data = self.call("POST", "/chat", body)
        if status != 200 or not isinstance(data, dict):
            return status, str(data)
        self.conversation = data.get("conversation_id") or self.conversation
        return status, str(data.get("reply", ""))

    # -- state -------------------------------------------------------------------------

    def lists(self) -> dict[str, str]:
        """list id -> name (the default list is also known as 'Inbox')."""
        return {x["id"]: x["name"] for x in self.ok("GET", "/lists")["items"]}

    def default_list(self) -> str:
        return str(next(x["id"] for x in self.ok("GET", "/lists")["items"] if x.get("default")))

    def tasks(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            params: dict[str, Any] = {"status": "all", "limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.ok("GET", "/tasks", params=params)
            out.update({t["id"]: t for t in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def apply_setup(self, setup: dict[str, Any], now: datetime) -> dict[str, str]:
        """Make the setup's lists and tasks (from the clock's current time on, which is
        before every completion); returns lower-cased title -> task id."""
        list_ids = {"inbox": self.inbox}
        for name in setup["lists"]:
            list_ids[name.lower()] = self.ok("POST", "/lists", {"name": name})["id"]
        ids: dict[str, str] = {}
        completions: list[tuple[datetime, str]] = []
        for spec in setup["tasks"]:
            body: dict[str, Any] = {"title": spec["title"]}
            for key in ("description", "priority", "tags", "recurrence", "reminders"):
                if key in spec:
                    body[key] = spec[key]
            if spec.get("due"):
                body["due_at"] = self.local(spec["due"]).isoformat()
            if spec.get("list"):
                body["list_id"] = list_ids[spec["list"].lower()]
            task = self.ok("POST", "/tasks", body)
            ids[spec["title"].lower()] = task["id"]
            if spec.get("status") == "completed":
                at = self.local(spec["completed_at"]) if spec.get("completed_at") else now
                completions.append((min(at, now - timedelta(minutes=1)), task["id"]))
        for at, task_id in sorted(completions):
            self.clock.move_to(at)
            self.ok("POST", f"/tasks/{task_id}/complete")
        self.clock.move_to(now)
        return ids


@dataclass
class Outcome:
    case: Case
    passed: bool
    reason: str = ""
    replies: list[str] = field(default_factory=list)
    chat_seconds: list[float] = field(default_factory=list)


# `send(session, message) -> (http status, reply)`: the chat, or a stand-in (self-test).
Sender = Callable[[Session, str], tuple[int, str]]


def chat_sender(session: Session, message: str) -> tuple[int, str]:
    return session.chat(message)


def run_case(case: Case, corpus: Corpus, send: Sender = chat_sender) -> Outcome:
    now = corpus.now
    replies: list[str] = []
    timings: list[float] = []
    done_at = [
        local_time(t["completed_at"], corpus.tz)
        for t in case.setup["tasks"]
        if t.get("completed_at")
    ]
    # The account and the setup exist before anything in the setup happened.
    start = min([now, *done_at]) - _SETUP_LEAD
    with frozen(start) as clock:
        session = Session(corpus.tz, clock)
        ids = session.apply_setup(case.setup, now)
        before = State(session.tasks(), session.lists())
        for n, turn in enumerate(case.turns, 1):
            started = time.perf_counter()
            status, reply = send(session, turn.say)
            timings.append(time.perf_counter() - started)
            replies.append(reply)
            if status != 200:
                reason = f"turn {n}: HTTP {status} {reply[:120]}"
                return Outcome(case, False, reason, replies, timings)
            if turn.expect is not None:
                after = State(session.tasks(), session.lists())
                problem = judge(turn.expect, before, after, reply, ids, session)
                if problem:
                    return Outcome(case, False, f"after turn {n}: {problem}", replies, timings)
        after = State(session.tasks(), session.lists())
        problem = judge(case.expect, before, after, replies[-1], ids, session)
    return Outcome(case, problem is None, problem or "", replies, timings)


# -- judging -------------------------------------------------------------------------------


@dataclass
class State:
    tasks: dict[str, dict[str, Any]]
    lists: dict[str, str]


def judge(
    expect: dict[str, Any],
    before: State,
    after: State,
    reply: str,
    ids: dict[str, str],
    session: Session,
) -> str | None:
    """None when the state and reply meet `expect`, else one line saying why not."""
    if "any_of" in expect:
        problems = [judge(alt, before, after, reply, ids, session) for alt in expect["any_of"]]
        if any(p is None for p in problems):
            return None
        return " | ".join(f"[{p}]" for p in problems)
    judge_ = _Judge(before, after, ids, session)
    return judge_.run(expect, reply)


class _Judge:
    def __init__(self, before: State, after: State, ids: dict[str, str], session: Session):
        self.before = before
        self.after = after
        self.ids = ids
        self.tz = session.tz
        self.session = session
        self.list_names = {**before.lists, **after.lists}
        self.default_list = session.inbox

    def run(self, expect: dict[str, Any], reply: str) -> str | None:
        b, a = self.before.tasks, self.after.tasks
        created = [a[i] for i in a if i not in b]
        deleted = {i for i in b if i not in a}
        changed = {i for i in b if i in a and a[i]["version"] != b[i]["version"]}

        # Lists: none appear or vanish unless declared.
        new_lists = sorted(
            name for lid, name in self.after.lists.items() if lid not in self.before.lists
        )
        gone_lists = sorted(
            name for lid, name in self.before.lists.items() if lid not in self.after.lists
        )
        want_lists = sorted(expect.get("lists_created") or [])
        if [n.lower() for n in new_lists] != [n.lower() for n in want_lists]:
            return f"lists created {new_lists}, expected {want_lists}"
        if gone_lists:
            return f"lists deleted {gone_lists}"

        # Deleted.
        want_deleted = {self._id(t) for t in expect.get("deleted") or []}
        if deleted != want_deleted:
            return f"deleted {self._names(deleted, b)}, expected {self._names(want_deleted, b)}"

        # Changed existing tasks: exactly the ones named, each as described.
        named: dict[str, dict[str, Any]] = {}
        for t in expect.get("completed") or []:
            named.setdefault(self._id(t), {})["status"] = "completed"
        for t in expect.get("reopened") or []:
            named.setdefault(self._id(t), {})["status"] = "open"
        for t, spec in (expect.get("updated") or {}).items():
            named.setdefault(self._id(t), {}).update(spec)
        if changed != set(named):
            also = f" (and created {[c['title'] for c in created]})" if created else ""
            return (
                f"changed {self._names(changed, a)}, expected {self._names(set(named), b)}" + also
            )
        for tid, spec in named.items():
            problem = self._match(a[tid], spec, b[tid])
            if problem:
                return f"{b[tid]['title']!r}: {problem}"

        # Created.
        want_created = _as_list(expect.get("created"))
        if len(created) != len(want_created):
            titles = [c["title"] for c in created]
            return f"created {len(created)} {titles}, expected {len(want_created)}"
        if want_created:
            problem = self._match_created(created, want_created)
            if problem:
                return problem

        # The reply.
        if expect.get("asks") and "?" not in reply:
            return f"expected a question, reply: {_short(reply)}"
        for item in expect.get("reply_mentions") or []:
            options = item if isinstance(item, list) else [item]
            if not any(_mentions(reply, o) for o in options):
                return f"reply lacks {options}: {_short(reply)}"
        for item in expect.get("reply_not_mentions") or []:
            if _mentions(reply, item):
                return f"reply mentions {item!r}: {_short(reply)}"
        return None

    def _id(self, title: str) -> str:
        return self.ids[title.lower()]

    def _names(self, task_ids: set[str], rows: dict[str, dict[str, Any]]) -> list[str]:
        return sorted(rows[i]["title"] if i in rows else i for i in task_ids)

    def _match_created(
        self, created: list[dict[str, Any]], wanted: list[dict[str, Any]]
    ) -> str | None:
        first: str | None = None
        for order in permutations(created):
            problems = [
                self._match(task, spec, None) for task, spec in zip(order, wanted, strict=True)
            ]
            if all(p is None for p in problems):
                return None
            if first is None:
                which = next(p for p in problems if p)
                first = f"created {[t['title'] for t in created]}: {which}"
        return first

    def _match(
        self, task: dict[str, Any], spec: dict[str, Any], was: dict[str, Any] | None
    ) -> str | None:
        """`task` against `spec`; for an existing task (`was`), every field the spec does
        not name must be as it was."""
        checks: list[str | None] = []
        title = task["title"]
        if "title" in spec:
            options = spec["title"] if isinstance(spec["title"], list) else [spec["title"]]
            if not any(norm_title(title) == norm_title(o) for o in options):
                checks.append(f"title {title!r}, expected {options}")
        for word in spec.get("title_has") or []:
            if norm_title(word) not in norm_title(title):
                checks.append(f"title {title!r} lacks {word!r}")
        for word in spec.get("title_not") or []:
            if re.search(rf"\b{re.escape(word.lower())}\b", title.lower()):
                checks.append(f"title {title!r} contains {word!r}")
        if "due" in spec:
            checks.append(self._due(task.get("due_at"), spec["due"]))
        if "priority" in spec:
            options = _as_list(spec["priority"])
            if task["priority"] not in options:
                checks.append(f"priority {task['priority']}, expected {options}")
        if "tags" in spec:
            got = sorted(t.lower() for t in task.get("tags") or [])
            want = sorted(t.lower().lstrip("#") for t in spec["tags"] or [])
            if got != want:
                checks.append(f"tags {got}, expected {want}")
        if "tags_include" in spec:
            got_set = {t.lower() for t in task.get("tags") or []}
            missing = [t for t in spec["tags_include"] if t.lower() not in got_set]
            if missing:
                checks.append(f"tags {sorted(got_set)} lack {missing}")
        if "recurrence" in spec:
            checks.append(_recurrence(task.get("recurrence"), spec["recurrence"]))
        if "reminders" in spec:
            n = len(task.get("reminders") or [])
            want_n = int(spec["reminders"])
            if (want_n == 0 and n) or n < want_n:
                checks.append(f"{n} reminders, expected {want_n or 'none'}")
        if "remind_at" in spec:
            checks.append(self._remind_at(task, spec["remind_at"]))
        if "list" in spec:
            name = self._list_name(task["list_id"])
            if name.lower() != str(spec["list"]).lower():
                checks.append(f"in list {name!r}, expected {spec['list']!r}")
        if "status" in spec and task["status"] != spec["status"]:
            checks.append(f"status {task['status']}, expected {spec['status']}")
        if (
            "description_has" in spec
            and spec["description_has"].lower() not in (task.get("description") or "").lower()
        ):
            checks.append(f"description {task.get('description')!r}")
        if was is not None:
            checks.extend(self._unchanged_fields(task, was, spec))
        problems = [c for c in checks if c]
        return "; ".join(problems) if problems else None

    def _unchanged_fields(
        self, task: dict[str, Any], was: dict[str, Any], spec: dict[str, Any]
    ) -> list[str]:
        named = set(spec)
        if named & {"title_has", "title_not"}:
            named.add("title")
        if "tags_include" in named:
            named.add("tags")
        if "description_has" in named:
            named.add("description")
        out = []
        for key, api in (
            ("title", "title"),
            ("description", "description"),
            ("priority", "priority"),
            ("tags", "tags"),
            ("due", "due_at"),
            ("recurrence", "recurrence"),
            ("list", "list_id"),
            ("status", "status"),
        ):
            if key in named:
                continue
            old, new = was.get(api), task.get(api)
            if key == "due":
                old, new = _instant(old), _instant(new)
            if key == "recurrence":
                old, new = norm_recurrence(old), norm_recurrence(new)
            if old != new:
                out.append(f"{api} changed from {was.get(api)!r} to {task.get(api)!r}")
        return out

    def _list_name(self, list_id: str) -> str:
        if list_id == self.default_list:
            return "Inbox"
        return self.list_names.get(list_id, list_id)

    def _due(self, due_at: str | None, want: Any) -> str | None:
        options = want if isinstance(want, list) else [want]
        if due_at is None:
            return None if None in options else f"no due date, expected {options}"
        local = datetime.fromisoformat(due_at).astimezone(self.tz)
        for o in options:
            if o is not None and _same_moment(local, str(o)):
                return None
        return f"due {local:%Y-%m-%dT%H:%M} {local:%a}, expected {options}"

    def _remind_at(self, task: dict[str, Any], want: Any) -> str | None:
        options = want if isinstance(want, list) else [want]
        fires = reminder_times(task)
        local = [f.astimezone(self.tz) for f in fires]
        for f in local:
            if any(_same_moment(f, str(o)) for o in options):
                return None
        shown = [f"{f:%Y-%m-%dT%H:%M}" for f in local]
        return f"reminders fire at {shown}, expected one at {options}"


def _same_moment(local: datetime, want: str) -> bool:
    """A date matches any time that day; a date-time matches to the minute."""
    if "T" not in want:
        return local.date() == date.fromisoformat(want)
    return local.replace(second=0, microsecond=0, tzinfo=None) == datetime.fromisoformat(want)


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def reminder_times(task: dict[str, Any]) -> list[datetime]:
    """When each of the task's reminders fires (absolute, aware)."""
    out = []
    due = _instant(task.get("due_at"))
    for r in task.get("reminders") or []:
        if r.get("at"):
            out.append(datetime.fromisoformat(r["at"]))
        elif r.get("before") and due is not None:
            m = _DURATION.match(r["before"].upper())
            if m:
                parts = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
                out.append(
                    due
                    - timedelta(
                        weeks=parts["w"],
                        days=parts["d"],
                        hours=parts["h"],
                        minutes=parts["m"],
                        seconds=parts["s"],
                    )
                )
    return out


_FILLER = {"a", "an", "the", "my"}


def norm_title(text: str) -> str:
    """Case, punctuation, quotes and the words a/an/the/my do not count."""
    words = re.sub(r"[^\w]+", " ", text.lower().replace("'", "").replace("’", "")).split()
    return " ".join(w for w in words if w not in _FILLER)


_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def norm_recurrence(rec: dict[str, Any] | None) -> dict[str, Any] | None:
    """{frequency, interval, weekdays} from either API form; daily-on-some-days is
    weekly on those days, weekly on all seven days is daily."""
    if not rec:
        return None
    if rec.get("rrule"):
        parts = {}
        for piece in str(rec["rrule"]).upper().removeprefix("RRULE:").split(";"):
            if "=" in piece:
                k, v = piece.split("=", 1)
                parts[k.strip()] = v.strip()
        freq = parts.get("FREQ", "").lower()
        interval = int(parts.get("INTERVAL", "1"))
        days = [d[-2:] for d in parts["BYDAY"].split(",")] if parts.get("BYDAY") else None
    else:
        freq = str(rec.get("frequency") or "").lower()
        interval = int(rec.get("interval") or 1)
        days = list(rec.get("weekdays") or []) or None
    weekdays = sorted(set(days), key=_DAYS.index) if days else None
    if freq == "daily" and weekdays and interval == 1:
        freq = "weekly"
    if freq == "weekly" and weekdays and len(weekdays) == 7 and interval == 1:
        freq, weekdays = "daily", None
    return {"frequency": freq, "interval": interval, "weekdays": weekdays}


def _recurrence(got: dict[str, Any] | None, want: dict[str, Any] | None) -> str | None:
    have = norm_recurrence(got)
    if want is None:
        return None if have is None else f"repeats {have}, expected no repeat"
    if have is None:
        return f"does not repeat, expected {want}"
    expected = norm_recurrence({**want, "interval": want.get("interval", 1)})
    assert expected is not None
    if have["frequency"] != expected["frequency"] or have["interval"] != expected["interval"]:
        return f"repeats {have}, expected {want}"
    # "every thursday" may also be a weekly rule anchored on a Thursday due date.
    if (
        expected["weekdays"]
        and have["weekdays"] != expected["weekdays"]
        and not (have["weekdays"] is None and len(expected["weekdays"]) == 1)
    ):
        return f"repeats {have}, expected {want}"
    return None


def _mentions(reply: str, item: str) -> bool:
    text = reply.lower()
    needle = str(item).lower()
    if needle.isdigit():  # "3" must not match "13" or "2030"
        return re.search(rf"(?<!\d){needle}(?!\d)", text) is not None
    return needle in text


def _short(text: str) -> str:
    text = " ".join(text.split())
    return repr(text[:140] + ("…" if len(text) > 140 else ""))


# -- running sets --------------------------------------------------------------------------


@dataclass
class Score:
    name: str
    outcomes: list[Outcome]

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def by_class(self) -> dict[int, tuple[int, int]]:
        out: dict[int, tuple[int, int]] = {}
        for o in self.outcomes:
            p, t = out.get(o.case.cls, (0, 0))
            out[o.case.cls] = (p + o.passed, t + 1)
        return dict(sorted(out.items()))

    def headline(self) -> str:
        pct = 100 * self.passed / self.total if self.total else 0.0
        return f"{self.name}: {self.passed}/{self.total} ({pct:.1f}%)"

    def totals(self) -> str:
        """The score, per class and the chat's latency, without naming any case: all that
        is shown of the blind set, so nobody tunes the chat to its sentences."""
        seconds = sorted(s for o in self.outcomes for s in o.chat_seconds)
        lines = [
            self.headline(),
            "  by class: " + ", ".join(f"{c}: {p}/{t}" for c, (p, t) in self.by_class().items()),
        ]
        if seconds:
            p50 = 1000 * seconds[len(seconds) // 2]
            p95 = 1000 * seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))]
            lines.append(
                f"  chat turn (in process, HTTP included): p50 {p50:.1f} ms, p95 {p95:.1f} ms"
            )
        return "\n".join(lines)

    def report(self) -> str:
        lines = [self.totals()]
        for o in self.outcomes:
            if not o.passed:
                said = " / ".join(t.say for t in o.case.turns)
                lines.append(f"  FAIL {o.case.id} [class {o.case.cls}] {said!r}: {o.reason}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        seconds = [s for o in self.outcomes for s in o.chat_seconds]
        return {
            "set": self.name,
            "passed": self.passed,
            "total": self.total,
            "by_class": {
                str(c): {"passed": p, "total": t} for c, (p, t) in self.by_class().items()
            },
            "chat_turn_ms_in_process": summary_ms(seconds) if seconds else None,
            "failures": [
                {
                    "id": o.case.id,
                    "class": o.case.cls,
                    "turns": [t.say for t in o.case.turns],
                    "reason": o.reason,
                    "reply": (o.replies[-1] if o.replies else "")[:300],
                }
                for o in self.outcomes
                if not o.passed
            ],
        }


def corpus_path(name: str) -> Path:
    return HERE / f"{name}.yaml"


def run_set(name: str, send: Sender = chat_sender) -> Score:
    corpus = load(corpus_path(name))
    return Score(name, [run_case(c, corpus, send) for c in corpus.cases])


def main(argv: list[str]) -> int:
    # --totals: scores only (always so for the blind set: its cases stay unseen).
    totals_only = "--totals" in argv
    names = [a for a in argv if a != "--totals"] or list(SETS)
    scores = [run_set(n) for n in names]
    for s in scores:
        print(s.totals() if totals_only or s.name == "blind" else s.report())
    corpus = load(corpus_path(names[0]))
    save(
        {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "now_in_corpus": corpus.meta["now"],
            "timezone": corpus.meta["timezone"],
            "sets": [s.as_json() for s in scores],
        },
        RESULTS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
