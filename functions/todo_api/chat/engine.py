"""Runs what the chat understood through the same TaskService and ListService as REST (so
every action is evented, audited and synced), keeping a little conversation memory in the
kv store: the tasks last shown ("the second one"), the task and the list in focus ("it"),
and a pending confirmation for deleting several tasks or a whole list."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import ValidationError

from functions.todo_api.auth import User
from functions.todo_api.chat import sharing
from functions.todo_api.chat.llm import LlmClient, intent_from_tool, tool_calls
from functions.todo_api.chat.understand import LIST_KINDS, Intent, ListRef, Ref, understand
from functions.todo_api.chat.when import find_when
from functions.todo_api.errors import Refused, UnknownUser
from functions.todo_api.lists import WRITE, ListService
from functions.todo_api.models import ListCreate, SearchParams, TaskCreate, TaskPatch
from functions.todo_api.service import Forbidden, NotFound, PreconditionFailed, TaskService
from functions.todo_api.store import id_key, memberships_of
from shared.dapr import StateStore
from shared.domain.reminders import ReminderSpec
from shared.events import ListSnapshot, Role, TaskSnapshot

HELP = (
    "I can add, list, search, complete, reopen, delete, rename and reschedule tasks, and "
    "share lists. Try: “add pay rent every month on the last day at 9am #home”, "
    "“what's due this week?”, “mark the second one done”, “move dentist to next friday”, "
    "“remind me 30 minutes before”, “create a list called groceries”, "
    "“share groceries with sam”, “add milk to groceries”, “what lists do I have?”."
)
SHOWN = 10
LLM_ROUNDS = 4
CONFIRM_FOR = timedelta(minutes=5)
log = logging.getLogger(__name__)


@dataclass
class Reply:
    reply: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    conversation_id: str = ""


class _NoMatch(Reply):
    """No task or list goes by those words: a message with another reading tries that."""


@dataclass
class _Memory:
    last: list[str] = field(default_factory=list)
    focus: str | None = None
    pending: dict[str, Any] | None = None
    list_focus: str | None = None

    @classmethod
    def load(cls, value: Any) -> _Memory:
        if not isinstance(value, dict):
            return cls()
        return cls(**{f.name: value[f.name] for f in dataclasses.fields(cls) if f.name in value})


def _when(task: TaskSnapshot, tz: str) -> str:
    if task.due_at is None:
        return ""
    local = task.due_at.astimezone(ZoneInfo(tz))
    return f" (due {local:%a %d %b %H:%M})"


def _line(i: int, task: TaskSnapshot, tz: str, where: str = "") -> str:
    mark = "✓" if task.status == "completed" else "•"
    prio = f" [{task.priority}]" if task.priority in ("high", "urgent") else ""
    return f"{i}. {mark} {task.title}{prio}{_when(task, tz)}{f' — {where}' if where else ''}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _list_act(kind: str, snapshot: ListSnapshot, **more: Any) -> dict[str, Any]:
    return {"type": kind, "list_id": snapshot.id, "name": snapshot.name, **more}


class ChatEngine:
    def __init__(
        self,
        service: TaskService,
        kv: StateStore,
        llm: LlmClient | None = None,
        lists: ListService | None = None,
    ) -> None:
        self._service = service
        self._kv = kv
        self._llm = llm
        self._lists = lists

    async def handle(
        self, user: User, message: str, conversation_id: str | None, now: datetime
    ) -> Reply:
        cid = conversation_id or uuid.uuid4().hex
        key = f"chat|{user.id}|{cid}"
        item = await self._kv.get(key)
        memory = _Memory.load(item.value if item else None)
        intent = understand(message, now, user.timezone)
        reply = None
        # A yes or no to the question just asked is answered here: the model never saw it.
        answering = memory.pending is not None and intent.kind in ("confirm", "deny")
        if self._llm is not None and not answering:
            try:
                reply = await self._llm_turn(self._llm, user, message, memory, now)
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                log.warning("LLM backend failed (%s); answering with the built-in engine", exc)
        if reply is None:
            reply = await self._act(user, intent, memory, now)
        reply.conversation_id = cid
        await self._kv.save(key, dataclasses.asdict(memory))
        return reply

    async def _llm_turn(
        self, llm: LlmClient, user: User, message: str, memory: _Memory, now: datetime
    ) -> Reply:
        """Let the model call tools (each one an ordinary intent) until it answers."""
        messages: list[dict[str, Any]] = [
            llm.system(now, user.timezone),
            {"role": "user", "content": message},
        ]
        actions: list[dict[str, Any]] = []
        for _ in range(LLM_ROUNDS):
            answer = await llm.complete(messages)
            calls = tool_calls(answer)
            if not calls:
                return Reply(str(answer.get("content") or "Done."), actions)
            messages.append(answer)
            for call_id, name, arguments in calls:
                try:
                    intent = intent_from_tool(name, arguments)
                except ValueError as exc:
                    result = f"refused: {exc}"
                else:
                    done = await self._act(user, intent, memory, now)
                    actions += done.actions
                    if any(str(a.get("type", "")).startswith("list.") for a in done.actions):
                        user = await self._reload(user)  # memberships changed in this turn
                    # The ids in the actions let the model act on what it just listed.
                    result = (
                        f"{done.reply}\n{json.dumps(done.actions)}" if done.actions else done.reply
                    )
                messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
        return Reply("I couldn't finish that; please try again in other words.", actions)

    async def _reload(self, user: User) -> User:
        item = await self._kv.get(id_key(user.id))
        if item is None or not isinstance(item.value, dict):
            return user
        return dataclasses.replace(user, roles=memberships_of(item.value))

    async def _act(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        pending, memory.pending = memory.pending, None
        if (
            pending is not None
            and datetime.fromisoformat(pending.get("until", "9999-12-31T00:00+00:00")) < now
        ):
            pending = None  # a yes long after the question is no answer to it
        if intent.kind == "confirm":
            if pending is None:
                return Reply("There's nothing waiting for a yes. What would you like to do?")
            if "list_id" in pending:
                return await self._delete_list(user, pending, memory, now)
            return await self._delete_many(user, pending["ids"], memory, now)
        if intent.kind == "deny":
            return Reply("OK, I left everything as it was." if pending else "OK.")
        if intent.kind == "help":
            return Reply(HELP)
        if intent.kind == "greet":
            return Reply("Hi! " + HELP)
        if intent.kind == "unknown":
            return Reply("Sorry, I didn't understand that. " + HELP)
        return await self._run(user, intent, memory, now)

    async def _run(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        """One operation; an intent's fallback runs when its own target does not exist."""
        if intent.kind in LIST_KINDS:
            return await self._on_list(user, intent, memory, now)
        if intent.kind == "create":
            return await self._create(user, intent, memory, now)
        if intent.kind in ("list", "search"):
            return await self._list(user, intent, memory, now)
        if intent.kind == "delete" and intent.ref is not None and intent.ref.all:
            return await self._ask_delete_many(user, intent, memory, now)
        within: ListSnapshot | None = None
        if intent.tasklist is not None:
            found = await self._which_list(user, intent.tasklist, memory)
            if isinstance(found, ListSnapshot):
                within = found
            elif intent.kind == "move" or not (
                isinstance(found, _NoMatch) and intent.tasklist.maybe
            ):
                return found
            elif intent.fallback is not None:  # no such list: the message's old meaning
                return await self._run(user, intent.fallback, memory, now)
        target = await self._resolve(
            user, intent.ref or Ref(it=True), memory, now, None if intent.kind == "move" else within
        )
        if isinstance(target, _NoMatch) and intent.fallback is not None:
            other = await self._run(user, intent.fallback, memory, now)
            return target if isinstance(other, _NoMatch) else other
        if isinstance(target, Reply):
            return target
        memory.focus = target.id
        try:
            if intent.kind == "move" and within is not None:
                return await self._move(user, target, within, now)
            return await self._on_task(user, intent, target, memory, now)
        except NotFound:
            return Reply("That task is gone now.")
        except PreconditionFailed:
            return Reply("That task changed just now; please try again.")
        except Forbidden:
            return Reply(await self._read_only(user, target.list_id, "change its tasks"))

    # -- create / list -------------------------------------------------------------------

    async def _create(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        fields = dict(intent.task)
        into: ListSnapshot | None = None
        if intent.tasklist is not None:
            found = await self._which_list(user, intent.tasklist, memory)
            if isinstance(found, ListSnapshot):
                into = found
                fields["title"] = intent.tasklist.title or fields.get("title")
                fields["list_id"] = found.id
            elif not (isinstance(found, _NoMatch) and intent.tasklist.maybe):
                return found  # a list named outright that is not there, or a question
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
        memory.focus, memory.last = task.id, [task.id]
        extras = []
        if task.recurrence is not None:
            extras.append("repeating")
        if task.reminders:
            extras.append(
                f"{len(task.reminders)} reminder" + ("s" if len(task.reminders) > 1 else "")
            )
        tail = f" — {', '.join(extras)}" if extras else ""
        action: dict[str, Any] = {"type": "task.created", "task_id": task.id, "title": task.title}
        where = ""
        if into is not None:
            memory.list_focus = into.id
            action["list_id"] = into.id
            where = f" to {into.name}" if into.id != user.default_list else ""
        return Reply(f"Added “{task.title}”{where}{_when(task, user.timezone)}{tail}.", [action])

    async def _list(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        within: ListSnapshot | None = None
        if intent.tasklist is not None:
            found = await self._which_list(user, intent.tasklist, memory)
            if isinstance(found, ListSnapshot):
                within = found
            elif not (isinstance(found, _NoMatch) and intent.tasklist.maybe):
                return found
        filters = {"status": "open", **intent.filters}
        if within is not None:
            filters["list_id"] = within.id
            memory.list_focus = within.id
        params = SearchParams.model_validate(
            {k: v for k, v in filters.items()} | {"limit": SHOWN, "sort": ["due_at", "title"]}
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
        where = await self._list_names(user, tasks) if within is None else {}
        lines = "\n".join(
            _line(i, t, user.timezone, where.get(t.list_id, "")) for i, t in enumerate(tasks, 1)
        )
        more = f"\n…and {total - len(tasks)} more." if total > len(tasks) else ""
        place = f" in {within.name}" if within is not None else ""
        return Reply(
            f"Here {'is' if total == 1 else 'are'} {_plural(total, 'task')}{place}:\n{lines}{more}",
            [action],
        )

    async def _list_names(self, user: User, tasks: list[TaskSnapshot]) -> dict[str, str]:
        """Names of the lists the tasks shown are in, when that is not the default list."""
        if self._lists is None or all(t.list_id == user.default_list for t in tasks):
            return {}
        mine = await self._lists.mine(user)
        return {s.id: s.name for s in mine if s.id != user.default_list}

    # -- one task ------------------------------------------------------------------------

    async def _resolve(
        self,
        user: User,
        ref: Ref,
        memory: _Memory,
        now: datetime,
        within: ListSnapshot | None = None,
    ) -> TaskSnapshot | Reply:
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
                return Reply(
                    f"I only showed {len(memory.last)} task{'' if len(memory.last) == 1 else 's'}."
                )
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
            return _NoMatch(f"I couldn't find a task matching “{ref.words}”{place}.")
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

    async def _read_only(self, user: User, list_id: str, what: str) -> str:
        name = "that list"
        if self._lists is not None:
            try:
                name = (await self._lists.get(user, list_id)).name
            except (NotFound, Forbidden):
                pass
        return f"You can only view {name}, so you can't {what}."

    async def _on_task(
        self, user: User, intent: Intent, task: TaskSnapshot, memory: _Memory, now: datetime
    ) -> Reply:
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
            [
                {
                    "type": "task.updated",
                    "task_id": task.id,
                    "title": updated.title,
                    "changed": sorted(changes),
                }
            ],
        )

    async def _move(
        self, user: User, task: TaskSnapshot, into: ListSnapshot, now: datetime
    ) -> Reply:
        if task.list_id == into.id:
            return Reply(f"“{task.title}” is already in {into.name}.")
        if user.roles.get(into.id) not in WRITE:
            return Reply(f"You can only view {into.name}, so you can't move tasks into it.")
        try:
            updated, _ = await self._service.update(
                user, task.id, TaskPatch(list_id=into.id), None, now
            )
        except Forbidden:
            return Reply(await self._read_only(user, task.list_id, "move its tasks"))
        return Reply(
            f"Moved “{updated.title}” to {into.name}.",
            [
                {
                    "type": "task.updated",
                    "task_id": task.id,
                    "title": updated.title,
                    "changed": ["list_id"],
                    "list_id": into.id,
                }
            ],
        )

    # -- several tasks -------------------------------------------------------------------

    async def _ask_delete_many(
        self, user: User, intent: Intent, memory: _Memory, now: datetime
    ) -> Reply:
        params = SearchParams.model_validate({"status": "all", **intent.filters, "limit": 500})
        rows, _, _ = await self._service.search(user, params, now)
        # Tasks in lists the user may only view are not theirs to delete.
        ids = [r["id"] for r in rows if user.roles.get(r["list_id"]) in WRITE]
        if not ids:
            return Reply("There's nothing like that to delete.")
        if len(ids) == 1:
            return await self._delete_many(user, ids, memory, now)
        memory.pending = {"ids": ids, "until": (now + CONFIRM_FOR).isoformat()}
        return Reply(
            f"That would delete {len(ids)} tasks. Are you sure? (yes / no)",
            [{"type": "confirm", "count": len(ids)}],
        )

    async def _delete_many(
        self, user: User, ids: list[str], memory: _Memory, now: datetime
    ) -> Reply:
        actions = []
        for task_id in ids:
            try:
                await self._service.delete(user, task_id, None, now)
            except (NotFound, PreconditionFailed, Forbidden):
                continue
            actions.append({"type": "task.deleted", "task_id": task_id})
        memory.last, memory.focus = [], None
        return Reply(f"Deleted {len(actions)} task{'' if len(actions) == 1 else 's'}.", actions)

    # -- lists ---------------------------------------------------------------------------

    async def _which_list(self, user: User, ref: ListRef, memory: _Memory) -> ListSnapshot | Reply:
        """The one list `ref` names; else a question (several match) or a _NoMatch."""
        if self._lists is None:
            return _NoMatch("Lists aren't available here.")
        mine = await self._lists.mine(user)
        if ref.list_id is not None:
            found = next((s for s in mine if s.id == ref.list_id), None)
            return found or _NoMatch("I couldn't find that list.")
        if ref.it:
            found = next((s for s in mine if s.id == memory.list_focus), None)
            if found is not None:
                return found
            return Reply(f"Which list do you mean? Your lists: {sharing.names(mine, user)}.")
        matches = sharing.match_lists(mine, ref.name, user, prefix=not ref.maybe)
        if len(matches) == 1:
            memory.list_focus = matches[0].id
            return matches[0]
        if matches:
            return Reply(
                "Which list do you mean: "
                + ", ".join(sharing.label(s, user) for s in sharing.ordered(matches, user))
                + "?",
                [{"type": "clarify", "list_ids": [s.id for s in matches]}],
            )
        return _NoMatch(
            f"You don't have a list called “{ref.name}”. Your lists: {sharing.names(mine, user)}."
        )

    async def _on_list(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        if self._lists is None:
            return Reply("Lists aren't available here.")
        if intent.kind == "lists":
            return await self._show_lists(self._lists, user)
        if intent.kind == "list_create":
            return await self._create_list(self._lists, user, intent, memory, now)
        found = await self._which_list(user, intent.tasklist or ListRef(it=True), memory)
        if isinstance(found, _NoMatch) and intent.fallback is not None:
            other = await self._run(user, intent.fallback, memory, now)
            return found if isinstance(other, _NoMatch) else other
        if isinstance(found, Reply):
            return found
        if intent.kind == "members":
            return Reply(
                sharing.members(found, user),
                [
                    _list_act(
                        "list.members",
                        found,
                        members=[{"username": m.username, "role": m.role} for m in found.members],
                    )
                ],
            )
        if intent.kind == "share":
            return await self._share(self._lists, user, intent, found, now)
        if intent.kind == "unshare":
            return await self._unshare(self._lists, user, intent, found, memory, now)
        if intent.kind == "leave":
            return await self._leave(self._lists, user, found, memory, now)
        if intent.kind == "list_rename":
            return await self._rename_list(self._lists, user, intent, found, now)
        return await self._ask_delete_list(user, found, memory, now)

    async def _show_lists(self, lists: ListService, user: User) -> Reply:
        mine = sharing.ordered(await lists.mine(user), user)
        lines = "\n".join(f"{i}. {sharing.describe(s, user)}" for i, s in enumerate(mine, 1))
        action = {
            "type": "lists.listed",
            "lists": [
                {
                    "list_id": s.id,
                    "name": s.name,
                    "role": s.role_of(user.id) or user.roles.get(s.id),
                }
                for s in mine
            ],
        }
        return Reply(f"You have {_plural(len(mine), 'list')}:\n{lines}", [action])

    async def _create_list(
        self, lists: ListService, user: User, intent: Intent, memory: _Memory, now: datetime
    ) -> Reply:
        if not intent.name:
            return Reply("What should the list be called?")
        try:
            name = ListCreate(name=intent.name).name
        except ValidationError as exc:
            return Reply(f"I couldn't create that list: {exc.errors(include_url=False)[0]['msg']}.")
        mine = await lists.mine(user)
        if any(s.owner_id == user.id and s.name.casefold() == name.casefold() for s in mine):
            return Reply(f"You already have a list called {name}.")
        try:
            created = await lists.create(user, name, now)
        except Refused as exc:
            return Reply(f"I couldn't create that list: {exc}.")
        memory.list_focus = created.id
        return Reply(
            f"Created the list {created.name}. Add to it with “add milk to {created.name}”, "
            f"or share it with “share {created.name} with <username>”.",
            [_list_act("list.created", created)],
        )

    async def _rename_list(
        self, lists: ListService, user: User, intent: Intent, found: ListSnapshot, now: datetime
    ) -> Reply:
        if not intent.name:
            return Reply(f"What should {found.name} be called?")
        try:
            name = ListCreate(name=intent.name).name
        except ValidationError as exc:
            return Reply(f"I couldn't rename that list: {exc.errors(include_url=False)[0]['msg']}.")
        if name == found.name:
            return Reply(f"It's already called {name}.")
        try:
            renamed = await lists.update(user, found.id, now, name=name)
        except Forbidden:
            return Reply(f"Only the owner of {found.name} can rename it.")
        except NotFound:
            return Reply("That list is gone now.")
        except Refused as exc:
            return Reply(sharing.refusal(exc, found))
        return Reply(
            f"Renamed {found.name} to {renamed.name}.",
            [_list_act("list.updated", renamed, changed=["name"])],
        )

    async def _share(
        self, lists: ListService, user: User, intent: Intent, found: ListSnapshot, now: datetime
    ) -> Reply:
        who = " and ".join(intent.users) or "them"
        if intent.role not in ("editor", "viewer"):
            return Reply(
                f"A list has just one owner. I can make {who} an editor or a viewer of "
                f"{found.name}."
            )
        role: Role = "viewer" if intent.role == "viewer" else "editor"
        if not intent.users:
            return Reply(f"Who should I share {found.name} with? Tell me their username.")
        before = {m.username.casefold(): m.role for m in found.members}
        said: list[str] = []
        actions: list[dict[str, Any]] = []
        for username in intent.users:
            try:
                after, added = await lists.share(user, found.id, username, role, now)
            except Forbidden:
                said.append(f"Only the owner of {found.name} can share it.")
                break
            except NotFound:
                said.append("That list is gone now.")
                break
            except UnknownUser:
                said.append(f"I don't know a user called {username}.")
                continue
            except Refused as exc:
                said.append(sharing.refusal(exc, found))
                continue
            member = next(
                (m.username for m in after.members if m.username.casefold() == username.casefold()),
                username,
            )
            can = sharing.CAN[role]
            if added:
                said.append(f"Shared {after.name} with {member}: they can {can} it.")
                kind = "list.member_added"
            elif before.get(member.casefold()) != role:
                said.append(f"{member} can now {can} {after.name}.")
                kind = "list.member_changed"
            else:
                said.append(f"{member} can already {can} {after.name}.")
                continue
            actions.append(_list_act(kind, after, username=member, role=role))
        return Reply(" ".join(said), actions)

    async def _unshare(
        self,
        lists: ListService,
        user: User,
        intent: Intent,
        found: ListSnapshot,
        memory: _Memory,
        now: datetime,
    ) -> Reply:
        others = [m for m in found.members if m.user_id != user.id]
        if not intent.users:
            if not others:
                return Reply(f"{found.name} isn't shared with anyone.")
            people = ", ".join(f"{m.username} ({m.role})" for m in others)
            return Reply(f"Who should I remove from {found.name}? Its members: {people}.")
        said: list[str] = []
        actions: list[dict[str, Any]] = []
        for username in intent.users:
            member = next(
                (m for m in found.members if m.username.casefold() == username.casefold()), None
            )
            if member is None and intent.fallback is not None:
                # "remove milk from groceries": nobody called milk, so the task milk.
                other = await self._run(user, intent.fallback, memory, now)
                if not isinstance(other, _NoMatch):
                    return other
            if member is None:
                said.append(f"{username} isn't a member of {found.name}.")
                continue
            if member.user_id == user.id:
                return await self._leave(lists, user, found, memory, now)
            try:
                await lists.unshare(user, found.id, member.username, now)
            except Forbidden:
                said.append(f"Only the owner of {found.name} can remove people from it.")
                break
            except NotFound:
                said.append(f"{member.username} isn't a member of {found.name}.")
                continue
            except Refused as exc:
                said.append(sharing.refusal(exc, found))
                continue
            said.append(f"Removed {member.username} from {found.name}.")
            actions.append(_list_act("list.member_removed", found, username=member.username))
        return Reply(" ".join(said), actions)

    async def _leave(
        self, lists: ListService, user: User, found: ListSnapshot, memory: _Memory, now: datetime
    ) -> Reply:
        try:
            await lists.unshare(user, found.id, user.username, now)
        except Refused as exc:
            return Reply(sharing.refusal(exc, found))
        except NotFound:
            return Reply(f"You aren't in {found.name} any more.")
        if memory.list_focus == found.id:
            memory.list_focus = None
        return Reply(
            f"You left {sharing.label(found, user)}; its tasks are no longer in your lists.",
            [_list_act("list.member_removed", found, username=user.username)],
        )

    async def _ask_delete_list(
        self, user: User, found: ListSnapshot, memory: _Memory, now: datetime
    ) -> Reply:
        if found.role_of(user.id) != "owner":
            return Reply(f"Only the owner of {found.name} can delete it.")
        if found.default:
            return Reply(f"{found.name} is your default list, so it can't be deleted.")
        params = SearchParams(list_id=found.id, status="all", limit=1)
        _, _, count = await self._service.search(user, params, now)
        others = [m.username for m in found.members if m.user_id != user.id]
        losing = f" {', '.join(others)} will lose it too." if others else ""
        memory.list_focus = found.id
        memory.pending = {
            "list_id": found.id,
            "name": found.name,
            "until": (now + CONFIRM_FOR).isoformat(),
        }
        what = f"and its {_plural(count, 'task')}?" if count else "? It has no tasks."
        return Reply(
            f"Delete the list {found.name} {what}{losing} (yes / no)".replace(" ?", "?"),
            [_list_act("confirm", found, count=count)],
        )

    async def _delete_list(
        self, user: User, pending: dict[str, Any], memory: _Memory, now: datetime
    ) -> Reply:
        if self._lists is None:
            return Reply("Lists aren't available here.")
        name = str(pending.get("name", "that list"))
        try:
            purged = await self._lists.delete(user, pending["list_id"], now)
        except NotFound:
            return Reply(f"{name} is gone already.")
        except Forbidden:
            return Reply(f"Only the owner of {name} can delete it.")
        except Refused as exc:
            return Reply(f"I couldn't delete {name}: {exc}.")
        memory.list_focus, memory.last, memory.focus = None, [], None
        return Reply(
            f"Deleted the list {name}"
            + (f" and its {_plural(purged, 'task')}." if purged else "."),
            [
                {
                    "type": "list.deleted",
                    "list_id": pending["list_id"],
                    "name": name,
                    "tasks_deleted": purged,
                }
            ],
        )
