"""Runs what the chat understood through the same TaskService and ListService as REST (so
every action is evented, audited and synced), keeping a little conversation memory in the
kv store: the tasks last shown ("the second one"), the task and the list in focus ("it"),
and a pending confirmation for deleting several tasks or a whole list.

This is the turn loop and the dispatch; task_actions.py and list_actions.py act."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import httpx

from functions.todo_api.auth import User
from functions.todo_api.chat.conversation import Memory, NoMatch, Reply
from functions.todo_api.chat.intent import LIST_KINDS, Intent, Ref
from functions.todo_api.chat.list_actions import ListActions
from functions.todo_api.chat.llm import (
    CONSENT,
    MAX_TOOL_CALLS,
    LlmClient,
    intent_from_tool,
    quoted,
    tool_calls,
)
from functions.todo_api.chat.task_actions import TaskActions
from functions.todo_api.chat.understand import understand
from functions.todo_api.lists import ListService
from functions.todo_api.service import Forbidden, NotFound, PreconditionFailed, TaskService
from functions.todo_api.store import id_key, memberships_of
from shared.dapr import StateStore

HELP = (
    "I can add, list, search, complete, reopen, delete, rename and reschedule tasks, and "
    "share lists. Try: “add pay rent every month on the last day at 9am #home”, "
    "“what's due this week?”, “mark the second one done”, “move dentist to next friday”, "
    "“remind me 30 minutes before”, “create a list called groceries”, "
    "“share groceries with sam”, “add milk to groceries”, “what lists do I have?”."
)
LLM_ROUNDS = 4
log = logging.getLogger(__name__)


class ChatEngine:
    def __init__(
        self,
        service: TaskService,
        kv: StateStore,
        llm: LlmClient | None = None,
        lists: ListService | None = None,
    ) -> None:
        self._kv = kv
        self._llm = llm
        self._service = service
        self._list_service = lists
        self._lists = ListActions(service, lists, self._run)
        self._tasks = TaskActions(service, self._lists)

    async def handle(
        self, user: User, message: str, conversation_id: str | None, now: datetime
    ) -> Reply:
        cid = conversation_id or uuid.uuid4().hex
        key = f"chat|{user.id}|{cid}"
        item = await self._kv.get(key)
        memory = Memory.load(item.value if item else None)
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
        self, llm: LlmClient, user: User, message: str, memory: Memory, now: datetime
    ) -> Reply:
        """Let the model call tools (each one an ordinary intent) until it answers."""
        messages: list[dict[str, Any]] = [
            llm.system(now, user.timezone),
            {"role": "user", "content": message},
        ]
        actions: list[dict[str, Any]] = []
        made = 0
        for _ in range(LLM_ROUNDS):
            answer = await llm.complete(messages)
            calls = tool_calls(answer)
            if not calls:
                return Reply(str(answer.get("content") or "Done."), actions)
            messages.append(answer)
            for call_id, name, arguments in calls:
                made += 1
                try:
                    if made > MAX_TOOL_CALLS:
                        raise ValueError(f"at most {MAX_TOOL_CALLS} actions per message")
                    intent = intent_from_tool(name, arguments)
                except ValueError as exc:
                    result = quoted(f"refused: {exc}", [])
                else:
                    if name in CONSENT:
                        # Nothing happens without the user's own yes.
                        question = await self._consent(user, name, arguments, memory, now)
                        return Reply(question, [*actions, {"type": "confirm", "tool": name}])
                    done = await self._act(user, intent, memory, now)
                    actions += done.actions
                    if any(str(a.get("type", "")).startswith("list.") for a in done.actions):
                        user = await self._reload(user)  # memberships changed in this turn
                    # The ids in the actions let the model act on what it just listed.
                    result = quoted(done.reply, done.actions)
                messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
        return Reply("I couldn't finish that; please try again in other words.", actions)

    async def _consent(
        self, user: User, name: str, arguments: str, memory: Memory, now: datetime
    ) -> str:
        """Ask before a tool call that acts on others or destroys; a yes runs it."""
        args = json.loads(arguments or "{}")
        what = await self._describe(user, name, args)
        memory.ask(now, tool=name, arguments=arguments)
        return f"Shall I {what}? Say yes or no."

    async def _describe(self, user: User, name: str, args: dict[str, Any]) -> str:
        list_name, title = "that list", "that task"
        if self._list_service is not None and args.get("list_id"):
            with contextlib.suppress(NotFound, Forbidden):
                found = await self._list_service.get(user, str(args["list_id"]))
                list_name = f"“{found.name}”"
        if args.get("task_id"):
            with contextlib.suppress(NotFound, Forbidden):
                task, _ = await self._service.get(user, str(args["task_id"]))
                title = f"“{task.title}”"
        who, role = args.get("username", "them"), args.get("role", "editor")
        return {
            "share_list": f"invite {who} to {list_name} as {role}",
            "unshare_list": f"remove {who} from {list_name}",
            "leave_list": f"take you out of {list_name}",
            "delete_task": f"delete the task {title}",
        }[name]

    async def _reload(self, user: User) -> User:
        item = await self._kv.get(id_key(user.id))
        if item is None or not isinstance(item.value, dict):
            return user
        return dataclasses.replace(user, roles=memberships_of(item.value))

    async def _act(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        pending = memory.answer(now)
        if intent.kind == "confirm":
            if pending is None:
                return Reply("There's nothing waiting for a yes. What would you like to do?")
            if "tool" in pending:  # a model's tool call the user has now agreed to
                intent = intent_from_tool(pending["tool"], pending["arguments"])
                return await self._run(user, intent, memory, now)
            if "list_id" in pending:
                return await self._lists.delete(user, pending, memory, now)
            return await self._tasks.delete_many(user, pending["ids"], memory, now)
        if intent.kind == "deny":
            return Reply("OK, I left everything as it was." if pending else "OK.")
        if intent.kind == "help":
            return Reply(HELP)
        if intent.kind == "greet":
            return Reply("Hi! " + HELP)
        if intent.kind == "unknown":
            return Reply("Sorry, I didn't understand that. " + HELP)
        return await self._run(user, intent, memory, now)

    async def _run(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        """One operation; an intent's fallback runs when its own target does not exist."""
        if intent.kind in LIST_KINDS:
            return await self._lists.act(user, intent, memory, now)
        if intent.kind == "create":
            return await self._tasks.create(user, intent, memory, now)
        if intent.kind in ("list", "search"):
            return await self._tasks.show(user, intent, memory, now)
        if intent.kind == "delete" and intent.ref is not None and intent.ref.all:
            return await self._tasks.ask_delete_many(user, intent, memory, now)
        within = await self._lists.scope(user, intent.tasklist, memory)
        if isinstance(within, Reply):
            return within
        if within is None and intent.tasklist is not None and intent.fallback is not None:
            # No list is called so: the message's other reading.
            return await self._run(user, intent.fallback, memory, now)
        target = await self._tasks.resolve(
            user, intent.ref or Ref(it=True), memory, now, None if intent.kind == "move" else within
        )
        if isinstance(target, NoMatch) and intent.fallback is not None:
            other = await self._run(user, intent.fallback, memory, now)
            return target if isinstance(other, NoMatch) else other
        if isinstance(target, Reply):
            return target
        memory.focus = target.id
        try:
            if intent.kind == "move" and within is not None:
                return await self._lists.move(user, target, within, now)
            return await self._tasks.change(user, intent, target, memory, now)
        except NotFound:
            return Reply("That task is gone now.")
        except PreconditionFailed:
            return Reply("That task changed just now; please try again.")
        except Forbidden:
            return Reply(await self._lists.read_only(user, target.list_id, "change its tasks"))
