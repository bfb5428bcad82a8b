"""Lists in the kv store: list rows, the member's user rows, and the commit of a `Change`.

A list row (`list|<id>`) and each member's user row (`userid|<id>`, which keeps the
member's roles so that every request can authorise from the one row it reads anyway)
change in ONE kv transaction together with the event that announces it
(functions/todo_api/outbox.py). Concurrent changes are detected by ETag and retried
from a fresh read: the decision is made again on what is there now. The key formats
are functions/todo_api/store.py's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from functions.todo_api.errors import NotFound, Refused
from functions.todo_api.lists.policy import Change
from functions.todo_api.outbox import Outbox
from functions.todo_api.store import (
    id_key,
    list_key,
    list_row,
    memberships_of,
    name_key,
    read_list,
    unkeyable,
)
from shared.dapr import EtagMismatch, StateItem, StateOp, StateStore
from shared.events import ListSnapshot, Member, Role

ATTEMPTS = 8


def busy() -> Refused:
    return Refused("too many concurrent changes; try again", code="busy")


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
        with contextlib.suppress(EtagMismatch):  # upgraded meanwhile by another request
            await self._kv.save(item.key, list_row(snapshot), etag=item.etag)
        return snapshot

    async def audience(self, list_ids: list[str]) -> dict[str, list[str]]:
        """Each list's member ids as they are now (a deleted list: nobody)."""
        return {x.id: x.member_ids for x in await self.many(list_ids)}

    async def members(self, list_id: str) -> list[str]:
        snapshot = await self.get(list_id)
        return snapshot.member_ids if snapshot else []


class ListRepository(Lists):
    """The reads, and the writes: each one commits a `Change` with its event."""

    def __init__(self, kv: StateStore, outbox: Outbox) -> None:
        super().__init__(kv)
        self._outbox = outbox

    async def user_by_name(self, username: str) -> dict[str, Any] | None:
        """The account row a username names, if any."""
        # A name PostgreSQL cannot hold (a NUL, say) names nobody; the store would refuse
        # the lookup.
        if unkeyable(username):
            return None
        found = await self._kv.get(name_key(username))
        return None if found is None else dict(found.value)

    async def user(self, user_id: str) -> dict[str, Any] | None:
        row = await self._kv.get(id_key(user_id))
        return None if row is None else dict(row.value)

    async def create(self, change: Change) -> ListSnapshot:
        """A new list, and its owner's membership, with its event."""
        assert change.after is not None
        (owner,) = change.roles
        for _ in range(ATTEMPTS):
            me = await self._kv.get(id_key(owner))
            if me is None:
                raise NotFound(owner)
            announce, pending = self._outbox.pending(
                self._kv.name, change.event, change.event.occurred_at, members=[owner]
            )
            ops = [
                StateOp.insert(list_key(change.after.id), list_row(change.after)),
                _with_roles(me, {change.after.id: change.roles[owner]}),
                announce,
            ]
            try:
                await self._kv.transact(ops)
            except EtagMismatch:
                continue
            self._outbox.committed(pending)
            return change.after
        raise busy()

    async def mutate(
        self, list_id: str, decide: Callable[[ListSnapshot], Change | None]
    ) -> ListSnapshot:
        """Read the list, decide, commit; again from a fresh read when the commit lost a
        race. Returns the list after the change (before it, for a deletion or no change)."""
        for _ in range(ATTEMPTS):
            item = await self._kv.get(list_key(list_id))
            if item is None:
                raise NotFound(list_id)
            before = read_list(item.value)
            if before is None:
                if await self.read(item) is None:
                    raise NotFound(list_id)
                continue  # a row from before sharing, upgraded just now: re-read its ETag
            change = decide(before)
            if change is None:
                return before
            ops = [
                StateOp.upsert(list_key(list_id), list_row(change.after), item.etag)
                if change.after
                else StateOp.delete(list_key(list_id), item.etag)
            ]
            touched = list(dict.fromkeys([*change.roles, *change.invites]))
            rows = {i.key: i for i in await self._kv.get_bulk([id_key(m) for m in touched])}
            for member in touched:
                row = rows.get(id_key(member))
                if row is None or row.value is None:
                    continue  # an account that no longer exists
                roles = {list_id: change.roles[member]} if member in change.roles else {}
                invites = {list_id: change.invites[member]} if member in change.invites else {}
                ops.append(_with_roles(row, roles, invites))
            announce, pending = self._outbox.pending(
                self._kv.name,
                change.event,
                change.event.occurred_at,
                members=change.audience(before),
            )
            ops.append(announce)
            try:
                await self._kv.transact(ops)
            except EtagMismatch:
                continue
            self._outbox.committed(pending)
            return change.after or before
        raise busy()

    async def set_blocked(self, user_id: str, other: str, *, blocked: bool) -> None:
        for _ in range(ATTEMPTS):
            row = await self._kv.get(id_key(user_id))
            if row is None:
                raise NotFound(user_id)
            now_blocked = set(row.value.get("blocked") or [])
            (now_blocked.add if blocked else now_blocked.discard)(other)
            try:
                await self._kv.save(
                    row.key, {**row.value, "blocked": sorted(now_blocked)}, etag=row.etag
                )
            except EtagMismatch:
                continue
            return
        raise busy()

    async def forget_invitation(self, user_id: str, list_id: str) -> None:
        """Drop an invitation the list no longer holds from the invitee's row."""
        row = await self._kv.get(id_key(user_id))
        if row is None or list_id not in (row.value.get("invitations") or {}):
            return
        invitations = {k: v for k, v in row.value["invitations"].items() if k != list_id}
        # Changed meanwhile: a stale invitation is filtered out when listed.
        with contextlib.suppress(EtagMismatch):
            await self._kv.save(row.key, {**row.value, "invitations": invitations}, etag=row.etag)


def _with_roles(
    row: StateItem,
    roles: dict[str, Role | None],
    invites: dict[str, dict[str, Any] | None] | None = None,
) -> StateOp:
    """The user row with these memberships and invitations set (None: removed)."""
    record: dict[str, Any] = row.value
    memberships = dict(memberships_of(record))
    for list_id, role in roles.items():
        if role is None:
            memberships.pop(list_id, None)
        else:
            memberships[list_id] = role
    # Joining or leaving a list answers any invitation to it.
    invitations = {k: v for k, v in (record.get("invitations") or {}).items() if k not in roles}
    for list_id, invitation in (invites or {}).items():
        if invitation is None:
            invitations.pop(list_id, None)
        else:
            invitations[list_id] = invitation
    updated = {k: v for k, v in record.items() if k != "lists"} | {
        "memberships": memberships,
        "invitations": invitations,
    }
    return StateOp.upsert(row.key, updated, row.etag)
