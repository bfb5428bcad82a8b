"""Runs what the chat understood through the same TaskService as REST (so every action
is evented, audited and synced), keeping a little conversation memory in the kv store:
the tasks last shown ("the second one"), the task in focus ("it"), and a pending
confirmation for deleting several tasks."""

from __future__ import annotations

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
from functions.todo_api.chat.llm import LlmClient, intent_from_tool, tool_calls
from functions.todo_api.chat.understand import Intent, Ref, understand
from functions.todo_api.chat.when import find_when
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.service import NotFound, PreconditionFailed, TaskService
from shared.dapr import StateStore
from shared.domain.reminders import ReminderSpec
from shared.events import TaskSnapshot

HELP = (
    "I can add, list, search, complete, reopen, delete, rename and reschedule tasks. Try: "
    "“add pay rent every month on the last day at 9am #home”, “what's due this week?”, "
    "“mark the second one done”, “move dentist to next friday”, "
    "“remind me 30 minutes before”."
)
SHOWN = 10
LLM_ROUNDS = 4
log = logging.getLogger(__name__)


@dataclass
class Reply:
    reply: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    conversation_id: str = ""


@dataclass
class _Memory:
    last: list[str] = field(default_factory=list)
    focus: str | None = None
    pending: dict[str, Any] | None = None


def _when(task: TaskSnapshot, tz: str) -> str:
    if task.due_at is None:
        return ""
    local = task.due_at.astimezone(ZoneInfo(tz))
    return f" (due {local:%a %d %b %H:%M})"


def _line(i: int, task: TaskSnapshot, tz: str) -> str:
    mark = "✓" if task.status == "completed" else "•"
    prio = f" [{task.priority}]" if task.priority in ("high", "urgent") else ""
    return f"{i}. {mark} {task.title}{prio}{_when(task, tz)}"


class ChatEngine:
    def __init__(self, service: TaskService, kv: StateStore, llm: LlmClient | None = None) -> None:
        self._service = service
        self._kv = kv
        self._llm = llm

    async def handle(
        self, user: User, message: str, conversation_id: str | None, now: datetime
    ) -> Reply:
        cid = conversation_id or uuid.uuid4().hex
        key = f"chat|{user.id}|{cid}"
        item = await self._kv.get(key)
        memory = _Memory(**item.value) if item and isinstance(item.value, dict) else _Memory()
        reply = None
        if self._llm is not None:
            try:
                reply = await self._llm_turn(self._llm, user, message, memory, now)
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                log.warning("LLM backend failed (%s); answering with the built-in engine", exc)
        if reply is None:
            reply = await self._act(user, understand(message, now, user.timezone), memory, now)
        reply.conversation_id = cid
        await self._kv.save(
            key, {"last": memory.last, "focus": memory.focus, "pending": memory.pending}
        )
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
                    # The ids in the actions let the model act on what it just listed.
                    result = (
                        f"{done.reply}\n{json.dumps(done.actions)}" if done.actions else done.reply
                    )
                messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
        return Reply("I couldn't finish that; please try again in other words.", actions)

    async def _act(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        pending, memory.pending = memory.pending, None
        if intent.kind == "confirm":
            if pending is None:
                return Reply("There's nothing waiting for a yes. What would you like to do?")
            return await self._delete_many(user, pending["ids"], memory, now)
        if intent.kind == "deny":
            return Reply("OK, I left everything as it was." if pending else "OK.")
        if intent.kind == "help":
            return Reply(HELP)
        if intent.kind == "greet":
            return Reply("Hi! " + HELP)
        if intent.kind == "unknown":
            return Reply("Sorry, I didn't understand that. " + HELP)
        if intent.kind == "create":
            return await self._create(user, intent, memory, now)
        if intent.kind in ("list", "search"):
            return await self._list(user, intent, memory, now)
        if intent.kind == "delete" and intent.ref is not None and intent.ref.all:
            return await self._ask_delete_many(user, intent, memory, now)
        target = await self._resolve(user, intent.ref or Ref(it=True), memory, now)
        if isinstance(target, Reply):
            return target
        memory.focus = target.id
        try:
            return await self._on_task(user, intent, target, memory, now)
        except NotFound:
            return Reply("That task is gone now.")
        except PreconditionFailed:
            return Reply("That task changed just now; please try again.")

    # -- create / list -------------------------------------------------------------------

    async def _create(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        fields = dict(intent.task)
        if not fields.get("title"):
            return Reply("What should the task be called?")
        try:
            body = TaskCreate.model_validate(fields)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in problem["loc"]) or "task"
            return Reply(f"I couldn't add that: {where}: {problem['msg']}.")
        task, _ = await self._service.create(user, body, now)
        memory.focus, memory.last = task.id, [task.id]
        extras = []
        if task.recurrence is not None:
            extras.append("repeating")
        if task.reminders:
            extras.append(
                f"{len(task.reminders)} reminder" + ("s" if len(task.reminders) > 1 else "")
            )
        tail = f" — {', '.join(extras)}" if extras else ""
        return Reply(
            f"Added “{task.title}”{_when(task, user.timezone)}{tail}.",
            [{"type": "task.created", "task_id": task.id, "title": task.title}],
        )

    async def _list(self, user: User, intent: Intent, memory: _Memory, now: datetime) -> Reply:
        filters = {"status": "open", **intent.filters}
        params = SearchParams.model_validate(
            {k: v for k, v in filters.items()} | {"limit": SHOWN, "sort": ["due_at", "title"]}
        )
        rows, _, total = await self._service.search(user, params, now)
        tasks = [TaskSnapshot.model_validate(r) for r in rows]
        memory.last = [t.id for t in tasks]
        memory.focus = tasks[0].id if len(tasks) == 1 else memory.focus
        action = {"type": "tasks.listed", "task_ids": memory.last, "total": total}
        if not tasks:
            what = f"matching “{filters['q']}”" if "q" in filters else "like that"
            return Reply(f"You have no tasks {what}.", [action])
        lines = "\n".join(_line(i, t, user.timezone) for i, t in enumerate(tasks, 1))
        more = f"\n…and {total - len(tasks)} more." if total > len(tasks) else ""
        return Reply(
            f"Here {'is' if total == 1 else 'are'} {total} task"
            f"{'' if total == 1 else 's'}:\n{lines}{more}",
            [action],
        )

    # -- one task ------------------------------------------------------------------------

    async def _resolve(
        self, user: User, ref: Ref, memory: _Memory, now: datetime
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
        params = SearchParams.model_validate({"q": ref.words[:200], "status": "all", "limit": 20})
        rows, _, _ = await self._service.search(user, params, now)
        found = [TaskSnapshot.model_validate(r) for r in rows]
        exact = [t for t in found if t.title.casefold() == ref.words.casefold()]
        open_ones = [t for t in found if t.status == "open"]
        pick = exact or (open_ones if len(open_ones) == 1 else found)
        if len(pick) == 1:
            return pick[0]
        if not pick:
            return Reply(f"I couldn't find a task matching “{ref.words}”.")
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
        if intent.kind == "reschedule":
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

    # -- several tasks -------------------------------------------------------------------

    async def _ask_delete_many(
        self, user: User, intent: Intent, memory: _Memory, now: datetime
    ) -> Reply:
        params = SearchParams.model_validate({"status": "all", **intent.filters, "limit": 500})
        rows, _, total = await self._service.search(user, params, now)
        ids = [r["id"] for r in rows]
        if not ids:
            return Reply("There's nothing like that to delete.")
        if len(ids) == 1:
            return await self._delete_many(user, ids, memory, now)
        memory.pending = {"ids": ids, "until": (now + timedelta(minutes=5)).isoformat()}
        return Reply(
            f"That would delete {total} tasks. Are you sure? (yes / no)",
            [{"type": "confirm", "count": total}],
        )

    async def _delete_many(
        self, user: User, ids: list[str], memory: _Memory, now: datetime
    ) -> Reply:
        actions = []
        for task_id in ids:
            try:
                await self._service.delete(user, task_id, None, now)
            except (NotFound, PreconditionFailed):
                continue
            actions.append({"type": "task.deleted", "task_id": task_id})
        memory.last, memory.focus = [], None
        return Reply(f"Deleted {len(actions)} task{'' if len(actions) == 1 else 's'}.", actions)
