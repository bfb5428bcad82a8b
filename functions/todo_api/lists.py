"""Lists and who may do what in them (DESIGN §3): owner / editor / viewer.

A list row (`list|<id>`) and each member's user row (`userid|<id>`, which keeps the
member's roles so that every request can authorise from the one row it reads
anyway) change in ONE kv transaction together with the event that announces it
(functions/todo_api/outbox.py). Concurrent changes are detected by ETag and retried
from a fresh read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, Refused, UnknownUser
from functions.todo_api.outbox import Outbox
from functions.todo_api.store import id_key, list_key, list_row, memberships_of, name_key, read_list
from shared.dapr import EtagMismatch, StateItem, StateOp, StateStore
from shared.events import (
    ListCreated,
    ListDeleted,
    ListEvent,
    ListSnapshot,
    ListUpdated,
    Member,
    MemberAdded,
    MemberChanged,
    MemberRemoved,
    ReminderAudience,
    Role,
)

ATTEMPTS = 8

READ: frozenset[Role] = frozenset({"owner", "editor", "viewer"})
WRITE: frozenset[Role] = frozenset({"owner", "editor"})
MANAGE: frozenset[Role] = frozenset({"owner"})


def require(user: User, list_id: str, allowed: frozenset[Role]) -> Role:
    """The caller's role in the list; NotFound for outsiders, Forbidden without the right."""
    role = user.roles.get(list_id)
    if role is None:
        raise NotFound(list_id)
    if role not in allowed:
        raise Forbidden(list_id)
    return role


def new_list(
    owner: str, owner_name: str, name: str, now: datetime, *, default: bool = False
) -> ListSnapshot:
    return ListSnapshot(
        id=str(uuid.uuid4()),
        name=name,
        owner_id=owner,
        members=[Member(user_id=owner, username=owner_name, role="owner")],
        default=default,
        created_at=now,
        updated_at=now,
    )


@dataclass
class Change:
    """What one mutation decided: the list after it (None: deleted), its event, and the
    members whose user rows gain, change (role) or lose (None) the list."""

    after: ListSnapshot | None
    event: ListEvent
    roles: dict[str, Role | None] = field(default_factory=dict)


class Lists:
    """Reads of list rows, for anyone who needs members (fan-out, reminders)."""

    def __init__(self, kv: StateStore) -> None:
        self._kv = kv

    async def get(self, list_id: str) -> ListSnapshot | None:
        item = await self._kv.get(list_key(list_id))
        return await self.read(item) if item else None

    async def many(self, list_ids: list[str]) -> list[ListSnapshot]:
        if not list_ids:
            return []
        items = await self._kv.get_bulk([list_key(x) for x in list_ids])
        found = {i.key: await self.read(i) for i in items if i.value is not None}
        return [s for x in list_ids if (s := found.get(list_key(x))) is not None]

    async def read(self, item: StateItem) -> ListSnapshot | None:
        """The list in a stored row, upgrading a row from before sharing on the way."""
        snapshot = read_list(item.value)
        if snapshot is None and isinstance(item.value, dict) and "owner_id" in item.value:
            snapshot = await self._upgrade(item)
        return snapshot

    async def _upgrade(self, item: StateItem) -> ListSnapshot | None:
        """Default lists written before sharing (`members: {id: role}`, no `kind`): read
        them as today's shape and store that, once."""
        old = item.value
        owner = await self._kv.get(id_key(old["owner_id"]))
        if owner is None:
            return None
        at = old.get("created_at")
        member = Member(user_id=old["owner_id"], username=owner.value["username"], role="owner")
        snapshot = ListSnapshot(
            id=old["id"],
            name=old.get("name") or "Inbox",
            owner_id=old["owner_id"],
            members=[member],
            default=owner.value.get("default_list") == old["id"],
            created_at=at,
            updated_at=at,
        )
        try:
            await self._kv.save(item.key, list_row(snapshot), etag=item.etag)
        except EtagMismatch:
            pass  # upgraded meanwhile by another request
        return snapshot

    async def audience(self, list_ids: list[str]) -> dict[str, list[str]]:
        """Each list's member ids as they are now (a deleted list: nobody)."""
        return {x.id: x.member_ids for x in await self.many(list_ids)}

    async def members(self, list_id: str) -> list[str]:
        snapshot = await self.get(list_id)
        return snapshot.member_ids if snapshot else []


# Called after a list is deleted, with the deleter: removes its tasks (with their events).
TaskPurge = Callable[[str, str, datetime], Awaitable[int]]


class ListService:
    def __init__(self, kv: StateStore, outbox: Outbox, purge: TaskPurge) -> None:
        self._kv = kv
        self._outbox = outbox
        self._purge = purge
        self.lists = Lists(kv)

    # -- reads ---------------------------------------------------------------------------

    async def mine(self, user: User) -> list[ListSnapshot]:
        return await self.lists.many(list(user.roles))

    async def get(self, user: User, list_id: str) -> ListSnapshot:
        require(user, list_id, READ)
        snapshot = await self.lists.get(list_id)
        if snapshot is None:
            raise NotFound(list_id)
        return snapshot

    # -- writes --------------------------------------------------------------------------

    async def create(self, user: User, name: str, now: datetime) -> ListSnapshot:
        snapshot = new_list(user.id, user.username, name, now)
        event = ListCreated(
            user_id=user.id, list_id=snapshot.id, tasklist=snapshot, occurred_at=now
        )
        for _ in range(ATTEMPTS):
            me = await self._kv.get(id_key(user.id))
            if me is None:
                raise NotFound(user.id)
            announce, pending = self._outbox.pending(self._kv.name, event, now, members=[user.id])
            ops = [
                StateOp.insert(list_key(snapshot.id), list_row(snapshot)),
                _with_roles(me.key, me.value, me.etag, {snapshot.id: "owner"}),
                announce,
            ]
            try:
                await self._kv.transact(ops)
            except EtagMismatch:
                continue
            self._outbox.committed(pending)
            return snapshot
        raise Refused("too many concurrent changes; try again", code="busy")

    async def update(
        self,
        user: User,
        list_id: str,
        now: datetime,
        *,
        name: str | None = None,
        remind: ReminderAudience | None = None,
    ) -> ListSnapshot:
        def decide(before: ListSnapshot) -> Change | None:
            fields = {"name": name, "remind": remind}
            changed = {k: v for k, v in fields.items() if v is not None and getattr(before, k) != v}
            if not changed:
                return None
            after = _bump(before, now, **changed)
            event = ListUpdated(
                user_id=user.id,
                list_id=list_id,
                tasklist=after,
                changed=sorted(changed),
                occurred_at=now,
            )
            return Change(after, event)

        return await self._mutate(user, list_id, MANAGE, decide)

    async def share(
        self, user: User, list_id: str, username: str, role: Role, now: datetime
    ) -> tuple[ListSnapshot, bool]:
        """Add `username` with `role`, or change their role; True when newly added."""
        require(user, list_id, MANAGE)
        found = await self._kv.get(name_key(username))
        if found is None:
            raise UnknownUser(username)
        member_id: str = found.value["id"]
        if member_id == user.id:
            raise Refused("you own this list already", code="owner")
        added = False

        def decide(before: ListSnapshot) -> Change | None:
            nonlocal added
            previous = before.role_of(member_id)
            if previous == role:
                return None
            member = next((m.username for m in before.members if m.user_id == member_id), username)
            others = [m for m in before.members if m.user_id != member_id]
            after = _bump(
                before,
                now,
                members=[*others, Member(user_id=member_id, username=member, role=role)],
            )
            about = {
                "user_id": user.id,
                "list_id": list_id,
                "tasklist": after,
                "member_id": member_id,
                "role": role,
                "occurred_at": now,
            }
            event: ListEvent
            if previous is None:
                added = True
                event = MemberAdded(**about)
            else:
                event = MemberChanged(previous_role=previous, **about)
            return Change(after, event, {member_id: role})

        snapshot = await self._mutate(user, list_id, MANAGE, decide)
        return snapshot, added

    async def unshare(self, user: User, list_id: str, username: str, now: datetime) -> None:
        """The owner removes a member, or a member leaves (removes themself)."""
        role = require(user, list_id, READ)
        found = await self._kv.get(name_key(username))
        member_id = found.value["id"] if found else None
        leaving = member_id == user.id
        if not leaving and role != "owner":
            raise Forbidden(list_id)
        if leaving and role == "owner":
            raise Refused("the owner cannot leave; delete the list instead", code="owner")

        def decide(before: ListSnapshot) -> Change | None:
            previous = before.role_of(member_id) if member_id else None
            if member_id is None or previous is None:
                raise NotFound(username)
            after = _bump(
                before, now, members=[m for m in before.members if m.user_id != member_id]
            )
            event = MemberRemoved(
                user_id=user.id,
                list_id=list_id,
                tasklist=after,
                member_id=member_id,
                role=previous,
                occurred_at=now,
            )
            return Change(after, event, {member_id: None})

        await self._mutate(user, list_id, READ if leaving else MANAGE, decide)

    async def delete(self, user: User, list_id: str, now: datetime) -> int:
        """Delete the list (access ends for everyone at once), then its tasks."""

        def decide(before: ListSnapshot) -> Change | None:
            if before.default:
                raise Refused("a default list cannot be deleted", code="default_list")
            event = ListDeleted(user_id=user.id, list_id=list_id, tasklist=before, occurred_at=now)
            return Change(None, event, {m: None for m in before.member_ids})

        await self._mutate(user, list_id, MANAGE, decide)
        return await self._purge(list_id, user.id, now)

    async def _mutate(
        self,
        user: User,
        list_id: str,
        allowed: frozenset[Role],
        decide: Callable[[ListSnapshot], Change | None],
    ) -> ListSnapshot:
        require(user, list_id, allowed)
        for _ in range(ATTEMPTS):
            item = await self._kv.get(list_key(list_id))
            if item is None:
                raise NotFound(list_id)
            before = read_list(item.value)
            if before is None:
                if await self.lists.read(item) is None:
                    raise NotFound(list_id)
                continue  # a row from before sharing, upgraded just now: re-read its ETag
            # The list row is the truth; the caller's user row may be a moment old.
            if before.role_of(user.id) not in allowed:
                raise NotFound(list_id) if before.role_of(user.id) is None else Forbidden(list_id)
            change = decide(before)
            if change is None:
                return before
            audience = list(
                dict.fromkeys(
                    [*before.member_ids, *(change.after.member_ids if change.after else [])]
                )
            )
            ops = [
                StateOp.upsert(list_key(list_id), list_row(change.after), item.etag)
                if change.after
                else StateOp.delete(list_key(list_id), item.etag)
            ]
            users = await self._kv.get_bulk([id_key(m) for m in change.roles])
            for row in users:
                if row.value is None:
                    continue  # an account that no longer exists
                member = row.key.removeprefix("userid|")
                ops.append(
                    _with_roles(row.key, row.value, row.etag, {list_id: change.roles[member]})
                )
            announce, pending = self._outbox.pending(
                self._kv.name, change.event, change.event.occurred_at, members=audience
            )
            ops.append(announce)
            try:
                await self._kv.transact(ops)
            except EtagMismatch:
                continue
            self._outbox.committed(pending)
            return change.after or before
        raise Refused("too many concurrent changes; try again", code="busy")


def _bump(before: ListSnapshot, now: datetime, **changes: Any) -> ListSnapshot:
    return before.model_copy(update={**changes, "updated_at": now, "version": before.version + 1})


def _with_roles(
    key: str, record: dict[str, Any], etag: str | None, roles: dict[str, Role | None]
) -> StateOp:
    memberships = dict(memberships_of(record))
    for list_id, role in roles.items():
        if role is None:
            memberships.pop(list_id, None)
        else:
            memberships[list_id] = role
    updated = {k: v for k, v in record.items() if k != "lists"} | {"memberships": memberships}
    return StateOp.upsert(key, updated, etag)
