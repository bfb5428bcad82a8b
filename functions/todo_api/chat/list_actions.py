"""The chat's list actions: which list a message names, what lists and who is in one,
create, rename and delete a list, share, unshare and leave; and the list side of task
actions (adding to a list, listing one, moving a task to one). They go through the same
ListService and TaskService as REST; sharing.py words what they find."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from functions.todo_api.auth import User
from functions.todo_api.chat import sharing
from functions.todo_api.chat.conversation import Memory, NoMatch, Reply, plural, task_updated
from functions.todo_api.chat.intent import Intent, ListRef
from functions.todo_api.errors import Refused, UnknownUser
from functions.todo_api.lists import WRITE, ListService
from functions.todo_api.models import ListCreate, SearchParams, TaskPatch
from functions.todo_api.service import Forbidden, NotFound, TaskService
from shared.events import ListSnapshot, Role, TaskSnapshot

# The engine's dispatch: a list message's other reading ("remove milk from groceries",
# nobody called milk) runs as a task command.
Run = Callable[[User, Intent, Memory, datetime], Awaitable[Reply]]


def _list_act(kind: str, snapshot: ListSnapshot, **more: Any) -> dict[str, Any]:
    return {"type": kind, "list_id": snapshot.id, "name": snapshot.name, **more}


class ListActions:
    def __init__(self, service: TaskService, lists: ListService | None, run: Run) -> None:
        self._service = service
        self._lists = lists
        self._run = run

    async def which(self, user: User, ref: ListRef, memory: Memory) -> ListSnapshot | Reply:
        """The one list `ref` names; else a question (several match) or a NoMatch."""
        if self._lists is None:
            return NoMatch("Lists aren't available here.")
        mine = await self._lists.mine(user)
        if ref.list_id is not None:
            found = next((s for s in mine if s.id == ref.list_id), None)
            return found or NoMatch("I couldn't find that list.")
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
        return NoMatch(
            f"You don't have a list called “{ref.name}”. Your lists: {sharing.names(mine, user)}."
        )

    async def scope(
        self, user: User, ref: ListRef | None, memory: Memory
    ) -> ListSnapshot | Reply | None:
        """The list a task action is limited to, or None. Words that only maybe named a list
        and name none are None too: the message then keeps its ordinary meaning."""
        if ref is None:
            return None
        found = await self.which(user, ref, memory)
        if isinstance(found, NoMatch) and ref.maybe:
            return None
        return found

    async def names(self, user: User, tasks: list[TaskSnapshot]) -> dict[str, str]:
        """Names of the lists the tasks shown are in, when that is not the default list."""
        if self._lists is None or all(t.list_id == user.default_list for t in tasks):
            return {}
        mine = await self._lists.mine(user)
        return {s.id: s.name for s in mine if s.id != user.default_list}

    async def read_only(self, user: User, list_id: str, what: str) -> str:
        name = "that list"
        if self._lists is not None:
            with contextlib.suppress(NotFound, Forbidden):
                name = (await self._lists.get(user, list_id)).name
        return f"You can only view {name}, so you can't {what}."

    async def move(
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
            return Reply(await self.read_only(user, task.list_id, "move its tasks"))
        return Reply(
            f"Moved “{updated.title}” to {into.name}.",
            [task_updated(task.id, updated.title, ["list_id"], list_id=into.id)],
        )

    async def act(self, user: User, intent: Intent, memory: Memory, now: datetime) -> Reply:
        """An intent about a list itself (LIST_KINDS)."""
        if self._lists is None:
            return Reply("Lists aren't available here.")
        if intent.kind == "lists":
            return await self._show(self._lists, user)
        if intent.kind == "list_create":
            return await self._create(self._lists, user, intent, memory, now)
        found = await self.which(user, intent.tasklist or ListRef(it=True), memory)
        if isinstance(found, NoMatch) and intent.fallback is not None:
            other = await self._run(user, intent.fallback, memory, now)
            return found if isinstance(other, NoMatch) else other
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
            return await self._rename(self._lists, user, intent, found, now)
        return await self._ask_delete(user, found, memory, now)

    async def _show(self, lists: ListService, user: User) -> Reply:
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
        return Reply(f"You have {plural(len(mine), 'list')}:\n{lines}", [action])

    async def _create(
        self, lists: ListService, user: User, intent: Intent, memory: Memory, now: datetime
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
            if exc.code == "limit_reached":
                return Reply(f"I couldn't create that list. {exc}")
            return Reply(f"I couldn't create that list: {exc}.")
        memory.list_focus = created.id
        return Reply(
            f"Created the list {created.name}. Add to it with “add milk to {created.name}”, "
            f"or share it with “share {created.name} with <username>”.",
            [_list_act("list.created", created)],
        )

    async def _rename(
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
                after, outcome = await lists.share(user, found.id, username, role, now)
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
            if outcome == "invited":
                said.append(
                    f"Invited {member} to {after.name}: once they accept, they can {can} it."
                )
                kind = "list.member_invited"
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
        memory: Memory,
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
                if not isinstance(other, NoMatch):
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
        self, lists: ListService, user: User, found: ListSnapshot, memory: Memory, now: datetime
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

    async def _ask_delete(
        self, user: User, found: ListSnapshot, memory: Memory, now: datetime
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
        memory.ask(now, list_id=found.id, name=found.name)
        what = f"and its {plural(count, 'task')}?" if count else "? It has no tasks."
        return Reply(
            f"Delete the list {found.name} {what}{losing} (yes / no)".replace(" ?", "?"),
            [_list_act("confirm", found, count=count)],
        )

    async def delete(
        self, user: User, pending: dict[str, Any], memory: Memory, now: datetime
    ) -> Reply:
        """The list deletion the user just said yes to."""
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
            f"Deleted the list {name}" + (f" and its {plural(purged, 'task')}." if purged else "."),
            [
                {
                    "type": "list.deleted",
                    "list_id": pending["list_id"],
                    "name": name,
                    "tasks_deleted": purged,
                }
            ],
        )
