"""The chat's task actions: add, list and search tasks, find the one task a message means,
change it, and delete several once the user says yes. They go through the same TaskService
as REST; which list a task goes to or is shown from comes from ListActions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from functions.todo_api.auth import User
from functions.todo_api.chat.conversation import Memory, NoMatch, Reply, plural, task_updated
from functions.todo_api.chat.intent import Intent, Ref
from functions.todo_api.chat.list_actions import ListActions
from functions.todo_api.chat.when import find_when
from functions.todo_api.errors import Refused
from functions.todo_api.lists import WRITE
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.service import Forbidden, NotFound, PreconditionFailed, TaskService
from shared.domain.reminders import ReminderSpec
from shared.events import ListSnapshot, TaskSnapshot

SHOWN = 10


def _when(task: TaskSnapshot, tz: str) -> str:
    if task.due_at is None:
        return ""
    local = task.due_at.astimezone(ZoneInfo(tz))
    return f" (due {local:%a %d %b %H:%M})"


def _line(i: int, task: TaskSnapshot, tz: str, where: str = "") -> str:
    mark = "✓" if task.status == "completed" else "•"
    prio = f" [{task.priority}]" if task.priority in ("high", "urgent") else ""
    return f"{i}. {mark} {task.title}{prio}{_when(task, tz)}{f' — {where}' if where else ''}"


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
        if task.recurrence is not None:
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

    async def show(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        """A listing or a search; what it shows is what "the second one" means next."""
        within = await self._lists.scope(user, intent.tasklist, memory)
        if isinstance(within, Reply):
            return within
        filters = {"status": "open", **intent.filters}
        if within is not None:
            filters["list_id"] = within.id
            memory.list_focus = within.id
        params = SearchParams.model_validate(
            filters | {"limit": SHOWN, "sort": ["due_at", "title"]}
        )
        rows, _, total = await self._service.search(user, params, now)
        tasks = [TaskSnapshot.model_validate(r) for r in rows]
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
        return Reply(
            f"Here {'is' if total == 1 else 'are'} {plural(total, 'task')}{place}:\n{lines}{more}",
            [action],
        )

    async def resolve(
        self,
        user: User,
        ref: Ref,
        memory: Memory,
        now: datetime,
        within: ListSnapshot | None = None,
    ) -> TaskSnapshot | Reply:
        """The one task `ref` means; else a question (several match) or a NoMatch."""
        if ref.task_id is not None:
            return await self._get(user, ref.task_id)
        if ref.it:
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
        query: dict[str, Any] = {"q": ref.words[:200], "status": "all", "limit": 20}
        if within is not None:
            query["list_id"] = within.id
        rows, _, _ = await self._service.search(user, SearchParams.model_validate(query), now)
        found = [TaskSnapshot.model_validate(r) for r in rows]
        exact = [t for t in found if t.title.casefold() == ref.words.casefold()]
        open_ones = [t for t in found if t.status == "open"]
        pick = exact or (open_ones if len(open_ones) == 1 else found)
        if len(pick) == 1:
            return pick[0]
        if not pick:
            place = f" in {within.name}" if within is not None else ""
            return NoMatch(f"I couldn't find a task matching “{ref.words}”{place}.")
        memory.last = [t.id for t in pick[:5]]
        lines = "\n".join(_line(i, t, user.timezone) for i, t in enumerate(pick[:5], 1))
        return Reply(
            f"Several tasks match “{ref.words}”. Which one?\n{lines}",
            [{"type": "clarify", "task_ids": memory.last}],
        )

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
            done, _ = await self._service.complete(user, task.id, None, now)
            return Reply(
                f"Done: “{done.title}”. 🎉"
                if task.status == "open"
                else f"“{task.title}” was already done.",
                [{"type": "task.completed", **act}],
            )
        if intent.kind == "reopen":
            await self._service.reopen(user, task.id, None, now)
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
        if "list_id" in fields and fields["list_id"] != task.list_id:
            if fields["list_id"] not in user.roles:
                return Reply("I couldn't find that list.")
            changes["list_id"] = fields["list_id"]
        if intent.kind == "reschedule" or "due_at" in fields:
            due = fields.get("due_at")
            if "shift" in fields and task.due_at is not None:
                shifted, _ = find_when("in " + fields["shift"], task.due_at, user.timezone)
                due = shifted
            if due is None:
                return Reply(f"When should “{task.title}” be due?")
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
