"""The chat's task actions: add, list and search tasks, find the one task a message means,
change it, and delete several once the user says yes. They go through the same TaskService
as REST; which list a task goes to or is shown from comes from ListActions."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from functions.todo_api.auth import User
from functions.todo_api.chat import match
from functions.todo_api.chat.conversation import Memory, NoMatch, Reply, plural, task_updated
from functions.todo_api.chat.intent import Intent, ListRef, Ref
from functions.todo_api.chat.list_actions import ListActions
from functions.todo_api.chat.when import find_when
from functions.todo_api.errors import Refused
from functions.todo_api.lists import WRITE
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.service import Forbidden, NotFound, PreconditionFailed, TaskService
from shared.domain.describe import say_when, when_would
from shared.domain.recurrence import Recurrence
from shared.domain.reminders import ReminderSpec
from shared.events import ListSnapshot, TaskSnapshot

SHOWN = 20


def _when(task: TaskSnapshot, tz: str) -> str:
    if task.due_at is None:
        return ""
    local = task.due_at.astimezone(ZoneInfo(tz))
    return f" (due {local:%a %d %b %H:%M})"


def _line(i: int, task: TaskSnapshot, tz: str, where: str = "") -> str:
    mark = "✓" if task.status == "completed" else "•"
    prio = f" [{task.priority}]" if task.priority in ("high", "urgent") else ""
    return f"{i}. {mark} {task.title}{prio}{_when(task, tz)}{f' — {where}' if where else ''}"


def _detail(i: int, task: TaskSnapshot, tz: str) -> str:
    state = (
        f"completed {task.completed_at.astimezone(ZoneInfo(tz)):%a %d %b}"
        if task.status == "completed" and task.completed_at is not None
        else ("completed" if task.status == "completed" else "open")
    )
    bits = [state, f"{task.priority} priority"]
    if task.tags:
        bits.append("tags " + ", ".join(task.tags))
    if task.recurrence is not None:
        bits.append("repeating")
    return f"{_line(i, task, tz)} — {'; '.join(bits)}"


def _tag_named(word: str, tasks: list[TaskSnapshot]) -> str | None:
    """The tag of the person's that `word` names ("errands" for #errand), if any."""
    wanted = match.stem(word.strip("# "))
    for task in tasks:
        for tag in task.tags:
            if match.stem(tag) == wanted:
                return tag
    return None


def _completed_within(row: dict[str, Any], after: Any, before: Any) -> bool:
    done = row.get("completed_at")
    if not done:
        return False
    at = datetime.fromisoformat(str(done))
    return (after is None or at > datetime.fromisoformat(str(after))) and (
        before is None or at < datetime.fromisoformat(str(before))
    )


def _next_nine(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    nine = local.replace(hour=9, minute=0, second=0, microsecond=0)
    return nine if nine > local else nine + timedelta(days=1)


def _keep(due: datetime, task: TaskSnapshot, keep: str | None, now: datetime, tz: str) -> datetime:
    """ "change X to 4pm" keeps X's day; "move X to saturday" keeps X's time of day."""
    if task.due_at is None or not keep:
        return due
    zone = ZoneInfo(tz)
    old, new = task.due_at.astimezone(zone), due.astimezone(zone)
    if keep == "date":
        moved = old.replace(hour=new.hour, minute=new.minute)
        return moved
    return new.replace(hour=old.hour, minute=old.minute)


class TaskActions:
    def __init__(self, service: TaskService, lists: ListActions) -> None:
        self._service = service
        self._lists = lists

    async def create(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        fields = dict(intent.task)
        into = await self._lists.scope(user, intent.tasklist, memory)
        if isinstance(into, Reply):
            return into  # a list named outright that is not there, or a question
        if into is not None:
            fields["list_id"] = into.id
            if intent.tasklist is not None and intent.tasklist.title:
                fields["title"] = intent.tasklist.title  # "add milk to groceries": just "Milk"
        if not fields.get("title"):
            return Reply("What should the task be called?")
        try:
            body = TaskCreate.model_validate(fields)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in problem["loc"]) or "task"
            return Reply(f"I couldn't add that: {where}: {problem['msg']}.")
        try:
            task, _ = await self._service.create(user, body, now)
        except NotFound:
            return Reply("I couldn't find that list.")
        except Forbidden:
            name = into.name if into else "that list"
            return Reply(f"You can only view {name}, so you can't add tasks to it.")
        except Refused as exc:  # a per-account limit: its message says what to do
            return Reply(str(exc))
        memory.focus, memory.last = task.id, [task.id]
        extras = []
        if task.recurrence is not None and task.due_at is not None:
            # The rule in words and the next two dates, to check it was understood.
            extras.append("repeats " + say_when(task.recurrence, task.due_at, task.timezone, 2))
        elif task.recurrence is not None:
            extras.append("repeating")
        if task.reminders:
            extras.append(plural(len(task.reminders), "reminder"))
        tail = f" — {', '.join(extras)}" if extras else ""
        action: dict[str, Any] = {"type": "task.created", "task_id": task.id, "title": task.title}
        where = ""
        if into is not None:
            memory.list_focus = into.id
            action["list_id"] = into.id
            where = f" to {into.name}" if into.id != user.default_list else ""
        return Reply(f"Added “{task.title}”{where}{_when(task, user.timezone)}{tail}.", [action])

    async def preview(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        """ "when would every other thursday fall?": the rule in words and its next dates;
        "when does call mom repeat?": that task's. Reads only."""
        rule = intent.task.get("recurrence")
        if rule is not None:
            try:
                rec = Recurrence.model_validate(rule)
                at = intent.task.get("at") or time(9, 0)
                said = when_would(rec, user.timezone, now, at=at, n=3)
                return Reply(said[:1].upper() + said[1:] + ".")
            except ValueError:
                return Reply("I can't work out the dates for that rule.")
        target = await self.resolve(user, intent.ref or Ref(it=True), memory, now)
        if not isinstance(target, TaskSnapshot):
            return target
        memory.focus = target.id
        if target.recurrence is None or target.due_at is None:
            return Reply(f"“{target.title}” doesn't repeat{_when(target, user.timezone)}.")
        said = say_when(target.recurrence, target.due_at, target.timezone, 3)
        return Reply(
            f"“{target.title}” repeats {said}.",
            [{"type": "tasks.listed", "task_ids": [target.id], "total": 1}],
        )

    async def recently_changed(self, user: User, now: datetime) -> list[TaskSnapshot]:
        """The caller's tasks changed most recently (where "undo" looks besides the chat's)."""
        params = SearchParams.model_validate({"status": "all", "limit": 3, "sort": ["-updated_at"]})
        rows, _, _ = await self._service.search(user, params, now)
        return [TaskSnapshot.model_validate(r) for r in rows]

    async def show(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        """A listing or a search; what it shows is what "the second one" means next."""
        within = await self._lists.scope(user, intent.tasklist, memory)
        if isinstance(within, Reply):
            return within
        filters = {"status": "open", **intent.filters}
        # What the chat adds to the REST filters: a question about some task ("about"), the
        # task in focus, a word that may be a tag or a list ("topic"), a count, a window on
        # when things were completed.
        about = str(filters.pop("about", "") or "")
        about_it = bool(filters.pop("about_it", False))
        topic = str(filters.pop("topic", "") or "")
        counting = bool(filters.pop("count", False))
        undated = bool(filters.pop("undated", False))
        recurring = bool(filters.pop("recurring", False))
        done_after = filters.pop("completed_after", None)
        done_before = filters.pop("completed_before", None)
        if within is None and intent.tasklist is not None and intent.tasklist.maybe:
            topic = topic or intent.tasklist.name  # "show errands": no such list; a tag?
        if about or about_it:
            asked = await self._asked_about(user, about, memory, now)
            if asked:
                return await self._answer(user, asked, memory)
            if about and set(filters) <= {"status"} and topic == "":
                return Reply(
                    f"I couldn't find a task about “{about}”. I can only answer questions "
                    "about your tasks and lists.",
                    [{"type": "tasks.listed", "task_ids": [], "total": 0}],
                )
        if topic and within is None:
            tasks_all = await self._all(user, now)
            tag = _tag_named(topic, tasks_all)
            if tag is not None:
                filters["tag"] = [tag]
            else:
                named = await self._lists.scope(user, ListRef(name=topic, maybe=True), memory)
                if isinstance(named, ListSnapshot):
                    within = named
                else:
                    hits = match.rank(topic, tasks_all, description=True)
                    status = filters.get("status")
                    hits = [t for t in hits if status in (None, "all") or t.status == status]
                    if hits:
                        return await self._answer(user, hits, memory, counting=counting)
        if within is not None:
            filters["list_id"] = within.id
            memory.list_focus = within.id
        if done_after or done_before:
            filters.pop("due_after", None)
            filters.pop("due_before", None)
        params = SearchParams.model_validate(filters | {"limit": 500, "sort": ["due_at", "title"]})
        rows, _, total = await self._service.search(user, params, now)
        if done_after or done_before:
            rows = [r for r in rows if _completed_within(r, done_after, done_before)]
            total = len(rows)
        if undated or recurring:
            rows = [
                r
                for r in rows
                if (not undated or not r.get("due_at")) and (not recurring or r.get("recurrence"))
            ]
            total = len(rows)
        if not rows and "q" in filters:
            # The words may not be in any title as typed: "fixing the bike", a typo.
            hits = match.rank(str(filters["q"]), await self._all(user, now), description=True)
            rows = [t.model_dump(mode="json") for t in hits]
            total = len(rows)
        tasks = [TaskSnapshot.model_validate(r) for r in rows[:SHOWN]]
        memory.last = [t.id for t in tasks]
        memory.focus = tasks[0].id if len(tasks) == 1 else memory.focus
        action: dict[str, Any] = {"type": "tasks.listed", "task_ids": memory.last, "total": total}
        if within is not None:
            action["list_id"] = within.id
        if not tasks:
            if within is not None:
                what = "open tasks" if intent.filters == {} else "tasks like that"
                return Reply(f"There are no {what} in {within.name}.", [action])
            what = f"matching “{filters['q']}”" if "q" in filters else "like that"
            return Reply(f"You have no tasks {what}.", [action])
        where = await self._lists.names(user, tasks) if within is None else {}
        lines = "\n".join(
            _line(i, t, user.timezone, where.get(t.list_id, "")) for i, t in enumerate(tasks, 1)
        )
        more = f"\n…and {total - len(tasks)} more." if total > len(tasks) else ""
        place = f" in {within.name}" if within is not None else ""
        head = (
            f"You have {plural(total, 'task')} like that{place}"
            if counting
            else f"Here {'is' if total == 1 else 'are'} {plural(total, 'task')}{place}"
        )
        return Reply(f"{head}:\n{lines}{more}", [action])

    async def _asked_about(
        self, user: User, about: str, memory: Memory, now: datetime
    ) -> list[TaskSnapshot]:
        if about:
            return match.rank(about, await self._all(user, now), description=True)
        if memory.focus is not None:
            got = await self._get(user, memory.focus)
            return [got] if isinstance(got, TaskSnapshot) else []
        return []

    async def _answer(
        self, user: User, tasks: list[TaskSnapshot], memory: Memory, *, counting: bool = False
    ) -> Reply:
        """The tasks a question asks about, each with its state: when it is due, whether it
        is done, its priority, tags and list."""
        shown = tasks[:SHOWN]
        memory.last = [t.id for t in shown]
        if len(shown) == 1:
            memory.focus = shown[0].id
        where = await self._lists.names(user, shown)
        lines = "\n".join(
            _detail(i, t, user.timezone)
            + (f"; in {where[t.list_id]}" if t.list_id in where else "")
            for i, t in enumerate(shown, 1)
        )
        head = (
            f"You have {plural(len(tasks), 'task')} like that"
            if counting or len(tasks) > 1
            else "Here it is"
        )
        return Reply(
            f"{head}:\n{lines}",
            [{"type": "tasks.listed", "task_ids": memory.last, "total": len(tasks)}],
        )

    async def resolve(
        self,
        user: User,
        ref: Ref,
        memory: Memory,
        now: datetime,
        within: ListSnapshot | None = None,
        kind: str | None = None,
    ) -> TaskSnapshot | Reply:
        """The one task `ref` means; else a question (several match) or a NoMatch."""
        if ref.task_id is not None:
            return await self._get(user, ref.task_id)
        if ref.latest:
            mine = await self._all(user, now)
            if ref.words == "completed":  # "the last thing I completed"
                done = [t for t in mine if t.completed_at is not None and t.status == "completed"]
                if not done:
                    return NoMatch("You haven't completed anything yet.")
                return max(done, key=lambda t: t.completed_at or t.created_at)
            if not mine:
                return NoMatch("You have no tasks yet.")
            return max(mine, key=lambda t: t.created_at)
        if ref.it and not ref.words:
            if memory.focus is None:
                return Reply("Which task do you mean?")
            return await self._get(user, memory.focus)
        if ref.ordinal is not None:
            if not memory.last:
                return Reply("Which list do you mean? Ask me to show your tasks first.")
            index = ref.ordinal - 1 if ref.ordinal > 0 else len(memory.last) - 1
            if not 0 <= index < len(memory.last):
                return Reply(f"I only showed {plural(len(memory.last), 'task')}.")
            return await self._get(user, memory.last[index])
        found = await self.match(user, ref.words, now, within, kind)
        if ref.it:
            # "..., close it": the clause before named the task; else the one in focus.
            if len(found) == 1:
                return found[0]
            if memory.focus is not None:
                return await self._get(user, memory.focus)
            if not found:
                return Reply("Which task do you mean?")
        if len(found) == 1:
            return found[0]
        if not found:
            place = f" in {within.name}" if within is not None else ""
            return NoMatch(f"I couldn't find a task matching “{ref.words}”{place}.")
        pick = found[:5]
        memory.last = [t.id for t in pick]
        lines = "\n".join(_line(i, t, user.timezone) for i, t in enumerate(pick, 1))
        return Reply(
            f"Several tasks match “{ref.words}”. Which one?\n{lines}",
            [{"type": "clarify", "task_ids": memory.last}],
        )

    async def _all(
        self, user: User, now: datetime, within: ListSnapshot | None = None
    ) -> list[TaskSnapshot]:
        query: dict[str, Any] = {"status": "all", "limit": 500}
        if within is not None:
            query["list_id"] = within.id
        rows, _, _ = await self._service.search(user, SearchParams.model_validate(query), now)
        return [TaskSnapshot.model_validate(r) for r in rows]

    async def match(
        self,
        user: User,
        words: str,
        now: datetime,
        within: ListSnapshot | None,
        kind: str | None = None,
    ) -> list[TaskSnapshot]:
        """The tasks `words` mean, best first: the exact title, else the best fuzzy matches;
        among several, the ones an action can apply to (open ones to complete...)."""
        if not words.strip():
            return []
        tasks = await self._all(user, now, within)
        found = match.rank(words, tasks, strict=True)
        if len(found) > 1:
            wanted = {"complete": "open", "reopen": "completed"}.get(kind or "", "open")
            fitting = [t for t in found if t.status == wanted]
            if len(fitting) == 1 or (fitting and kind in ("complete", "reopen")):
                found = fitting
        return found

    async def get(self, user: User, task_id: str) -> TaskSnapshot | None:
        found = await self._get(user, task_id)
        return found if isinstance(found, TaskSnapshot) else None

    async def _get(self, user: User, task_id: str) -> TaskSnapshot | Reply:
        try:
            task, _ = await self._service.get(user, task_id)
        except NotFound:
            return Reply("That task is gone now.")
        return task

    async def change(
        self, user: User, intent: Intent, task: TaskSnapshot, memory: Memory, now: datetime
    ) -> Reply:
        """Complete, reopen, delete or update one task; the caller answers for its errors."""
        act = {"task_id": task.id, "title": task.title}
        if intent.kind == "complete":
            done, _ = await self._service.set_status(user, task.id, "completed", None, now)
            return Reply(
                f"Done: “{done.title}”. 🎉"
                if task.status == "open"
                else f"“{task.title}” was already done.",
                [{"type": "task.completed", **act}],
            )
        if intent.kind == "reopen":
            if task.status == "open":
                return Reply(f"“{task.title}” is still open.", [])
            await self._service.set_status(user, task.id, "open", None, now)
            return Reply(f"Reopened “{task.title}”.", [{"type": "task.reopened", **act}])
        if intent.kind == "delete":
            await self._service.delete(user, task.id, None, now)
            memory.focus = None
            memory.last = [i for i in memory.last if i != task.id]
            return Reply(f"Deleted “{task.title}”.", [{"type": "task.deleted", **act}])
        changes: dict[str, Any] = {}
        fields = intent.task
        if "title" in fields:
            changes["title"] = fields["title"]
        if "priority" in fields:
            changes["priority"] = fields["priority"]
        if "add_tags" in fields:
            changes["tags"] = list(dict.fromkeys([*task.tags, *fields["add_tags"]]))
        if "tags" in fields:
            changes["tags"] = list(fields["tags"])
        if "remove_tags" in fields:
            gone = {match.stem(t) for t in fields["remove_tags"]}
            changes["tags"] = [t for t in task.tags if match.stem(t) not in gone]
        if "list_id" in fields and fields["list_id"] != task.list_id:
            if fields["list_id"] not in user.roles:
                return Reply("I couldn't find that list.")
            changes["list_id"] = fields["list_id"]
        if "reminders" in fields:
            changes["reminders"] = list(fields["reminders"])
        if "note" in fields:
            changes["description"] = "\n".join(x for x in (task.description, fields["note"]) if x)
        if "priority_step" in fields:
            ranks = ["low", "medium", "high", "urgent"]
            at = ranks.index(task.priority) + int(fields["priority_step"])
            changes["priority"] = ranks[max(0, min(at, len(ranks) - 1))]
        if "recurrence" in fields:
            changes["recurrence"] = fields["recurrence"]
            if fields["recurrence"] is not None and task.due_at is None:
                changes["due_at"] = _next_nine(now, user.timezone)
        if intent.kind == "update" and "due_at" in fields and fields["due_at"] is None:
            changes["due_at"] = None
            if task.recurrence is not None:
                changes["recurrence"] = None  # a repeating task needs a due date
        elif intent.kind == "reschedule" or "due_at" in fields:
            due = fields.get("due_at")
            if "shift" in fields and task.due_at is not None:
                shifted, _ = find_when("in " + fields["shift"], task.due_at, user.timezone)
                due = shifted
            if due is None:
                return Reply(f"When should “{task.title}” be due?")
            due = _keep(due, task, fields.get("keep"), now, user.timezone)
            changes["due_at"] = due
        if intent.kind == "remind":
            spec = ReminderSpec.model_validate(fields["reminder"])
            if spec.before is not None and task.due_at is None:
                return Reply(
                    f"“{task.title}” has no due date, so I can't remind you before it."
                    " Tell me a time instead, like “remind me at 5pm”."
                )
            changes["reminders"] = [*task.reminders, spec]
        try:
            patch = TaskPatch.model_validate(changes)
        except ValidationError as exc:
            return Reply(f"I couldn't change that: {exc.errors(include_url=False)[0]['msg']}.")
        updated, _ = await self._service.update(user, task.id, patch, None, now)
        said = {
            "reschedule": f"Moved “{updated.title}”{_when(updated, user.timezone)}.",
            "remind": f"I'll remind you about “{updated.title}”.",
        }
        return Reply(
            said.get(intent.kind, f"Updated “{updated.title}”."),
            [task_updated(task.id, updated.title, sorted(changes))],
        )

    async def change_all(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        """Complete (or reopen) every task in the list or with the tag the message names;
        without such a scope nothing changes: "complete everything" is too broad to guess."""
        within = await self._lists.scope(user, intent.tasklist, memory)
        if isinstance(within, Reply):
            return within
        mine = await self._all(user, now, within)
        topic = str(intent.filters.get("topic", ""))
        if within is None:
            tag = _tag_named(topic, mine) if topic else None
            if tag is None:
                return Reply("Which tasks do you mean? Name a list or a tag.")
            mine = [t for t in mine if tag in t.tags]
        wanted = "open" if intent.kind == "complete" else "completed"
        targets = [t for t in mine if t.status == wanted]
        if not targets:
            return Reply("There's nothing like that to change.")
        said, actions = [], []
        for task in targets:
            try:
                done = await self.change(user, intent, task, memory, now)
            except (NotFound, PreconditionFailed, Forbidden):
                continue
            said.append(done.reply)
            actions += done.actions
        memory.last = [t.id for t in targets]
        return Reply("\n".join(said), actions)

    async def ask_delete_many(
        self, user: User, intent: Intent, memory: Memory, now: datetime
    ) -> Reply:
        params = SearchParams.model_validate({"status": "all", **intent.filters, "limit": 500})
        rows, _, _ = await self._service.search(user, params, now)
        # Tasks in lists the user may only view are not theirs to delete.
        ids = [r["id"] for r in rows if user.roles.get(r["list_id"]) in WRITE]
        if not ids:
            return Reply("There's nothing like that to delete.")
        if len(ids) == 1:
            return await self.delete_many(user, ids, memory, now)
        memory.ask(now, ids=ids)
        return Reply(
            f"That would delete {len(ids)} tasks. Are you sure? (yes / no)",
            [{"type": "confirm", "count": len(ids)}],
        )

    async def delete_many(self, user: User, ids: list[str], memory: Memory, now: datetime) -> Reply:
        actions = []
        for task_id in ids:
            try:
                await self._service.delete(user, task_id, None, now)
            except (NotFound, PreconditionFailed, Forbidden):
                continue
            actions.append({"type": "task.deleted", "task_id": task_id})
        memory.last, memory.focus = [], None
        return Reply(f"Deleted {plural(len(actions), 'task')}.", actions)
