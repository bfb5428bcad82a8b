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
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from functions.todo_api.auth import User
from functions.todo_api.chat import match
from functions.todo_api.chat.conversation import Memory, NoMatch, Reply
from functions.todo_api.chat.intent import LIST_KINDS, Intent, Kind, Ref
from functions.todo_api.chat.list_actions import ListActions
from functions.todo_api.chat.llm import (
    CONSENT,
    MAX_TOOL_CALLS,
    LlmClient,
    intent_from_tool,
    quoted,
    tool_calls,
)
from functions.todo_api.chat.memory_store import ConversationStore
from functions.todo_api.chat.task_actions import TaskActions
from functions.todo_api.chat.understand import understand
from functions.todo_api.lists import ListService
from functions.todo_api.service import Forbidden, NotFound, PreconditionFailed, TaskService
from functions.todo_api.store import id_key, memberships_of
from functions.todo_api.undo import TASK_EVENTS
from functions.todo_api.undo_service import UndoRequest, UndoService
from shared.dapr import StateStore
from shared.web.errors import ApiError

HELP = (
    "I can add, list, search, complete, reopen, delete, rename and reschedule tasks, and "
    "share lists. Try: “add pay rent every month on the last day at 9am #home”, "
    "“what's due this week?”, “mark the second one done”, “move dentist to next friday”, "
    "“remind me 30 minutes before”, “create a list called groceries”, "
    "“share groceries with sam”, “add milk to groceries”, “what lists do I have?”."
)
LLM_ROUNDS = 4
CLARIFY_FOR = timedelta(minutes=10)
# "undo" right after one of these takes it back: a new task is deleted, a completion reopened.
_UNDOABLE = ("task.created", "task.completed", "task.reopened")
_WROTE = ("task.created", "task.completed", "task.reopened", "task.updated", "task.deleted")
_UNDO = re.compile(
    r"^(?:(?:please\s+|can you\s+|could you\s+)?(?:undo|undo (?:that|it|this|my last change"
    r"|the last (?:one|thing|action|change|edit)|what i (?:just )?did)|revert(?: that| it| the"
    r" last change)?|reverse that)"
    r"|take (?:that|it) back|never ?mind,? undo(?: that)?|oops,? undo(?: that)?)\W*$",
    re.I,
)
# An answer to "which one?": an ordinal, "the X one", or a few words naming a candidate.
_ANSWER = re.compile(
    r"^(?:(?:the|that|this)\s+)?(?P<w>.{1,60}?)(?:\s+(?:one|task|thing|item))?(?:\s+please)?\W*$",
    re.I,
)
_SEVERAL = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*", re.I)
log = logging.getLogger(__name__)


class ChatEngine:
    def __init__(
        self,
        service: TaskService,
        kv: StateStore,
        llm: LlmClient | None = None,
        lists: ListService | None = None,
        undo: UndoService | None = None,
    ) -> None:
        self._kv = kv
        self._memory = ConversationStore(kv)
        self._undo_api = undo
        self._llm = llm
        self._service = service
        self._list_service = lists
        self._lists = ListActions(service, lists, self._run)
        self._tasks = TaskActions(service, self._lists)

    async def handle(
        self, user: User, message: str, conversation_id: str | None, now: datetime
    ) -> Reply:
        cid = conversation_id or uuid.uuid4().hex
        memory = await self._memory.load(user.id, cid)
        intent = understand(message, now, user.timezone)
        reply = None
        # A yes or no to the question just asked is answered here: the model never saw it.
        answering = memory.pending is not None and intent.kind in ("confirm", "deny")
        if self._llm is not None and not answering:
            try:
                reply = await self._llm_turn(self._llm, user, message, memory, now)
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                log.warning("LLM backend failed (%s); answering with the built-in engine", exc)
        asked, memory.clarify = memory.clarify, None
        if reply is None and asked is not None:
            reply = await self._answer_clarify(user, message, intent, asked, memory, now)
        undone, memory.last_action = memory.last_action, None
        if reply is None and _UNDO.match(message.strip()):
            reply = await self._undo_last(user, undone, memory, now)
        if reply is None:
            reply = await self._act(user, intent, memory, now)
            if intent.note and any(a.get("type") == "task.created" for a in reply.actions):
                reply.reply += " " + intent.note
            for more in intent.then:
                # "mark X done and add Y": each request in turn, one reply.
                next_reply = await self._act(user, more, memory, now)
                reply = Reply(
                    f"{reply.reply}\n{next_reply.reply}", [*reply.actions, *next_reply.actions]
                )
            if any(a.get("type") == "clarify" and "task_ids" in a for a in reply.actions):
                memory.clarify = {"message": message, "until": (now + CLARIFY_FOR).isoformat()}
        done = [a for a in reply.actions if a.get("type") in _UNDOABLE and a.get("task_id")]
        if len(done) == 1:
            memory.last_action = {"type": done[0]["type"], "task_id": done[0]["task_id"]}
        wrote = [str(a["task_id"]) for a in reply.actions if a.get("type") in _WROTE]
        if wrote:  # the tasks "undo the last change" looks at first
            memory.changed = list(dict.fromkeys([*reversed(wrote), *memory.changed]))[:5]
        reply.conversation_id = cid
        await self._memory.save(user.id, cid, memory)
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
            if "undo" in pending:  # yes: undo it over the newer change
                return await self._apply_undo(user, pending["undo"], memory, now, force=True)
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
        if intent.kind == "preview":
            return await self._tasks.preview(user, intent, memory, now)
        if intent.kind in ("list", "search"):
            return await self._tasks.show(user, intent, memory, now)
        if intent.kind == "delete" and intent.ref is not None and intent.ref.all:
            return await self._tasks.ask_delete_many(user, intent, memory, now)
        if intent.kind in ("complete", "reopen") and intent.ref is not None and intent.ref.all:
            return await self._tasks.change_all(user, intent, memory, now)
        within = await self._lists.scope(user, intent.tasklist, memory)
        if isinstance(within, Reply):
            return within
        if within is None and intent.tasklist is not None and intent.fallback is not None:
            # No list is called so: the message's other reading.
            return await self._run(user, intent.fallback, memory, now)
        several = await self._several(user, intent, memory, now, within)
        if several is not None:
            return several
        target = await self._tasks.resolve(
            user,
            intent.ref or Ref(it=True),
            memory,
            now,
            None if intent.kind == "move" else within,
            intent.kind,
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

    async def _several(
        self, user: User, intent: Intent, memory: Memory, now: datetime, within: Any
    ) -> Reply | None:
        """ "mark eggs and coffee beans as done": each named task, when each part names
        exactly one (and the whole is not itself one title, like "Salt and pepper")."""
        ref = intent.ref
        if intent.kind not in ("complete", "reopen", "delete") or ref is None or not ref.words:
            return None
        parts = [p for p in _SEVERAL.split(ref.words) if p.strip()]
        if len(parts) < 2:
            return None
        whole = await self._tasks.match(user, ref.words, now, within, intent.kind)
        if len(whole) == 1 and whole[0].title.casefold() == ref.words.strip().casefold():
            return None
        found = []
        for part in parts:
            hits = await self._tasks.match(user, part, now, within, intent.kind)
            if len(hits) != 1 or hits[0] in found:
                return None
            found.append(hits[0])
        said, actions = [], []
        for task in found:
            done = await self._tasks.change(user, intent, task, memory, now)
            said.append(done.reply)
            actions += done.actions
        memory.last = [t.id for t in found]
        return Reply("\n".join(said), actions)

    async def _undo_last(
        self, user: User, undone: dict[str, Any] | None, memory: Memory, now: datetime
    ) -> Reply | None:
        """ "undo that": the caller's last change, through the same undo as POST
        /tasks/{id}/undo (asking first over a newer change). Without the audit log, what
        the last turn did to one task is taken back; None: nothing to undo."""
        if self._undo_api is not None:
            try:
                last = await self._last_change(user, undone, memory, now)
            except ApiError:
                last = None  # the audit log is unavailable: the turn's own memory
            else:
                if last is None and undone is None:
                    return Reply("There's nothing of yours I can undo.")
            # Right after a turn, only that turn's own event is undone this way (the audit
            # log may not have it yet: then the turn's memory takes it back).
            if last is not None and (undone is None or last["type"] == undone.get("type")):
                return await self._apply_undo(user, last, memory, now, force=False)
        if undone is None:
            return None
        return await self._undo(user, undone, memory, now)

    async def _last_change(
        self, user: User, undone: dict[str, Any] | None, memory: Memory, now: datetime
    ) -> dict[str, Any] | None:
        """The newest task event the caller caused, among the tasks the chat changed and
        the ones changed most recently: {task_id, event_id, type, title}."""
        assert self._undo_api is not None
        if undone is not None:
            candidates = [str(undone["task_id"])]
        else:
            candidates = [*memory.changed]
            candidates += [t.id for t in await self._tasks.recently_changed(user, now)]
        best: dict[str, Any] | None = None
        for task_id in dict.fromkeys(candidates):
            try:
                history = await self._undo_api.history(user, task_id)
            except ApiError as exc:
                if exc.status == 503:
                    raise
                continue
            mine = [
                e
                for e in history
                if e.get("task_id") == task_id
                and e.get("type") in TASK_EVENTS
                and e.get("user_id") == user.id
            ]
            if not mine:
                continue
            last = mine[-1]
            if best is None or str(last.get("occurred_at", "")) > best["at"]:
                best = {
                    "task_id": task_id,
                    "event_id": str(last["event_id"]),
                    "type": last["type"],
                    "title": str((last.get("task") or {}).get("title", "")),
                    "at": str(last.get("occurred_at", "")),
                }
        return best

    async def _apply_undo(
        self, user: User, last: dict[str, Any], memory: Memory, now: datetime, *, force: bool
    ) -> Reply:
        assert self._undo_api is not None
        title = last.get("title") or "that task"
        what = {
            "task.created": f"adding “{title}”",
            "task.updated": f"the change to “{title}”",
            "task.completed": f"completing “{title}”",
            "task.reopened": f"reopening “{title}”",
            "task.deleted": f"deleting “{title}”",
        }.get(str(last.get("type")), f"the last change to “{title}”")
        body = UndoRequest(event_id=str(last["event_id"]), force=force)
        try:
            done = await self._undo_api.apply(user, str(last["task_id"]), body, now)
        except ApiError as exc:
            if exc.status == 412:
                memory.ask(now, undo={k: last[k] for k in ("task_id", "event_id", "type", "title")})
                return Reply(
                    f"“{title}” changed after {what.split(' “')[0]}. Undo {what} anyway? "
                    "(yes / no)",
                    [{"type": "confirm", "undo": last["event_id"]}],
                )
            if exc.status == 409:
                return Reply(f"I already undid {what}.")
            return Reply(f"I couldn't undo {what}: {exc.message}.")
        action: dict[str, Any] = {"type": "task.undone", "task_id": last["task_id"],
                                  "event_id": last["event_id"], "action": done.action}  # fmt: skip
        if done.task is not None:
            action["task_id"] = done.task.id
            memory.focus = done.task.id
        else:
            memory.focus = None
        memory.changed = [t for t in memory.changed if t != last["task_id"]]
        return Reply(f"Undid {what}.", [action])

    async def _undo(
        self, user: User, undone: dict[str, Any], memory: Memory, now: datetime
    ) -> Reply | None:
        """Take back what the last turn did to one task; None: nothing this can undo."""
        kind: dict[str, Kind] = {
            "task.created": "delete",
            "task.completed": "reopen",
            "task.reopened": "complete",
        }
        what = kind.get(str(undone.get("type")))
        if what is None:
            return None
        target = await self._tasks.get(user, str(undone.get("task_id")))
        if target is None:
            return Reply("That task is gone now.")
        return await self._tasks.change(
            user, Intent(what, ref=Ref(task_id=target.id)), target, memory, now
        )

    async def _answer_clarify(
        self,
        user: User,
        message: str,
        intent: Intent,
        asked: dict[str, Any],
        memory: Memory,
        now: datetime,
    ) -> Reply | None:
        """The answer to "Several tasks match. Which one?": the first message again, now
        about the candidate the answer names. Anything else is a new message."""
        if datetime.fromisoformat(str(asked.get("until"))) < now or not memory.last:
            return None
        ordinal = _ordinal_only(message)
        if ordinal is None and intent.kind != "unknown":
            return None
        first = understand(str(asked.get("message", "")), now, user.timezone)
        if first.ref is None:
            return None
        if ordinal is not None:
            first.ref = Ref(ordinal=ordinal)
        else:
            m = _ANSWER.match(message.strip())
            if m is None or len(m.group("w").split()) > 6:
                return None
            candidates = []
            for task_id in memory.last:
                got = await self._tasks.get(user, task_id)
                if got is not None:
                    candidates.append(got)
            hits = match.rank(m.group("w"), candidates)
            if len(hits) != 1:
                return None
            first.ref = Ref(task_id=hits[0].id)
        first.fallback = None
        return await self._run(user, first, memory, now)


def _ordinal_only(message: str) -> int | None:
    """1 for "the first one", "first", "#1", "1", "number 1"; -1 for "the last one"."""
    text = message.strip().strip(".!?").lower()
    text = re.sub(r"^(?:the|that|this|i mean|i meant|oh|ok|um)\s+", "", text)
    text = re.sub(r"\s+(?:one|task|item|please)$", "", text)
    words = {
        "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
        "4th": 4, "fifth": 5, "5th": 5, "last": -1, "one": 1, "two": 2, "three": 3,
    }  # fmt: skip
    if text in words:
        return words[text]
    if m := re.fullmatch(r"(?:#|no\.?\s*|number\s+)?(\d{1,2})", text):
        return int(m.group(1))
    return None
