"""Lists and who may do what in them (DESIGN §3): owner / editor / viewer.

A list row (`list|<id>`) and each member's user row (`userid|<id>`, which keeps the
member's roles so that every request can authorise from the one row it reads
anyway) change in ONE kv transaction together with the event that announces it
(functions/todo_api/outbox.py). Concurrent changes are detected by ETag and retried
from a fresh read.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, Refused, UnknownUser
from functions.todo_api.limits import LimitReached, Limits
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
from shared.events import (
    InvitationDeclined,
    ListCreated,
    ListDeleted,
    ListEvent,
    ListSnapshot,
    ListUpdated,
    Member,
    MemberAdded,
    MemberChanged,
    MemberInvited,
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
    # Invitations set (or answered: None) in the invitees' user rows.
    invites: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # Who hears of it besides the members (an invitee, of their invitation only).
    notify: list[str] = field(default_factory=list)


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
    def __init__(
        self, kv: StateStore, outbox: Outbox, purge: TaskPurge, limits: Limits | None = None
    ) -> None:
        self._limits = limits or Limits()
        self._kv = kv
        self._outbox = outbox
        self._purge = purge
        self.lists = Lists(kv)

    async def _by_name(self, username: str) -> StateItem | None:
        # A name PostgreSQL cannot hold (a NUL, say) names nobody; the store would refuse
        # the lookup.
        return None if unkeyable(username) else await self._kv.get(name_key(username))

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
        owned = sum(1 for role in user.roles.values() if role == "owner")
        if owned >= self._limits.lists_owned:
            raise LimitReached(
                f"You own {owned} lists, the most one account can own. Delete one you "
                f"no longer need first."
            )
        if len(user.roles) >= self._limits.lists_joined:
            raise LimitReached(
                f"You are in {len(user.roles)} lists, the most one account can be in. "
                f"Leave or delete one first."
            )
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
    ) -> tuple[ListSnapshot, str]:
        """Invite `username` with `role` ("invited"), or change a member's role
        ("changed", "unchanged"). Nobody becomes a member without accepting."""
        require(user, list_id, MANAGE)
        found = await self._by_name(username)
        if found is None:
            raise UnknownUser(username)
        member_id: str = found.value["id"]
        if member_id == user.id:
            raise Refused("you own this list already", code="owner")
        invitee = await self._kv.get(id_key(member_id))
        if invitee is not None and user.id in (invitee.value.get("blocked") or []):
            raise Refused(f"{username} does not accept invitations from you", code="blocked")
        outcome = "unchanged"

        def decide(before: ListSnapshot) -> Change | None:
            nonlocal outcome
            previous = before.role_of(member_id)
            about = {
                "user_id": user.id,
                "list_id": list_id,
                "member_id": member_id,
                "role": role,
                "occurred_at": now,
            }
            if previous is None:
                outcome = "invited"
                pending = next((m for m in before.invited if m.user_id == member_id), None)
                if pending is not None and pending.role == role:
                    return None  # invited already: inviting again changes nothing
                people = len(before.members) + len(before.invited)
                if pending is None and people >= self._limits.members_per_list:
                    raise LimitReached(
                        f"{before.name} has {people} members and invitations, the most "
                        f"one list can have. Remove someone or withdraw an invitation first."
                    )
                others = [m for m in before.invited if m.user_id != member_id]
                name = pending.username if pending else found.value.get("username", username)
                after = _bump(
                    before,
                    now,
                    invited=[*others, Member(user_id=member_id, username=name, role=role)],
                )
                invitation = {
                    "role": role,
                    "by": user.id,
                    "by_name": user.username,
                    "list_name": after.name,
                    "at": now.isoformat(),
                }
                # The invitee hears of the invitation, and of nothing else in the list.
                return Change(
                    after,
                    MemberInvited(tasklist=after, **about),
                    invites={member_id: invitation},
                    notify=[member_id],
                )
            if previous == role:
                return None
            outcome = "changed"
            others = [m for m in before.members if m.user_id != member_id]
            name = next(m.username for m in before.members if m.user_id == member_id)
            after = _bump(
                before,
                now,
                members=[*others, Member(user_id=member_id, username=name, role=role)],
            )
            event = MemberChanged(tasklist=after, previous_role=previous, **about)
            return Change(after, event, {member_id: role})

        snapshot = await self._mutate(user, list_id, MANAGE, decide)
        return snapshot, outcome

    async def invitations(self, user: User) -> list[dict[str, Any]]:
        """The caller's pending invitations to lists that still invite them."""
        alive = {s.id: s for s in await self.lists.many(list(user.invitations))}
        return [
            {k: v for k, v in inv.items() if k != "by"}
            | {"list_id": list_id, "list_name": alive[list_id].name}
            for list_id, inv in user.invitations.items()
            if list_id in alive and any(m.user_id == user.id for m in alive[list_id].invited)
        ]

    async def accept(self, user: User, list_id: str, now: datetime) -> ListSnapshot:
        """The invitee joins with the role they were invited with."""
        if list_id not in user.invitations and list_id not in user.roles:
            raise NotFound(list_id)  # never invited (or an id no list can have)
        if list_id not in user.roles and len(user.roles) >= self._limits.lists_joined:
            raise LimitReached(
                f"You are in {len(user.roles)} lists, the most one account can be in. "
                f"Leave one before you accept."
            )

        def decide(before: ListSnapshot) -> Change | None:
            if before.role_of(user.id) is not None:
                return None
            pending = next((m for m in before.invited if m.user_id == user.id), None)
            if pending is None:
                raise NotFound(list_id)
            after = _bump(
                before,
                now,
                members=[*before.members, pending],
                invited=[m for m in before.invited if m.user_id != user.id],
            )
            event = MemberAdded(
                user_id=user.id,
                list_id=list_id,
                tasklist=after,
                member_id=user.id,
                role=pending.role,
                occurred_at=now,
            )
            return Change(after, event, {user.id: pending.role})

        try:
            return await self._mutate(user, list_id, None, decide)
        except NotFound:
            await self._forget_invitation(user.id, list_id)  # gone or withdrawn
            raise

    async def decline(self, user: User, list_id: str, now: datetime, *, block: bool) -> None:
        """Decline (and with `block`, refuse every later invitation from the inviter)."""
        if list_id not in user.invitations:
            raise NotFound(list_id)
        inviter = user.invitations[list_id].get("by")
        try:
            await self._mutate(user, list_id, None, self._withdraw(user, user.id, list_id, now))
        except NotFound:
            await self._forget_invitation(user.id, list_id)
            if inviter is None:
                raise
        if block and inviter is not None:
            await self._set_blocked(user.id, inviter, blocked=True)

    def _withdraw(
        self, user: User, member_id: str, list_id: str, now: datetime
    ) -> Callable[[ListSnapshot], Change | None]:
        def decide(before: ListSnapshot) -> Change | None:
            pending = next((m for m in before.invited if m.user_id == member_id), None)
            if pending is None:
                raise NotFound(list_id)
            after = _bump(before, now, invited=[m for m in before.invited if m != pending])
            event = InvitationDeclined(
                user_id=user.id,
                list_id=list_id,
                tasklist=after,
                member_id=member_id,
                role=pending.role,
                occurred_at=now,
            )
            return Change(after, event, invites={member_id: None}, notify=[member_id])

        return decide

    async def block(self, user: User, username: str, now: datetime, *, blocked: bool) -> None:
        """Refuse (or again accept) invitations from `username`; blocking declines
        their pending ones too."""
        found = await self._by_name(username)
        if found is None:
            raise UnknownUser(username)
        other: str = found.value["id"]
        await self._set_blocked(user.id, other, blocked=blocked)
        if blocked:
            for list_id, invitation in user.invitations.items():
                if invitation.get("by") == other:
                    with contextlib.suppress(NotFound):
                        await self.decline(user, list_id, now, block=False)

    async def _set_blocked(self, user_id: str, other: str, *, blocked: bool) -> None:
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
        raise Refused("too many concurrent changes; try again", code="busy")

    async def _forget_invitation(self, user_id: str, list_id: str) -> None:
        row = await self._kv.get(id_key(user_id))
        if row is None or list_id not in (row.value.get("invitations") or {}):
            return
        invitations = {k: v for k, v in row.value["invitations"].items() if k != list_id}
        try:
            await self._kv.save(row.key, {**row.value, "invitations": invitations}, etag=row.etag)
        except EtagMismatch:
            pass  # changed meanwhile; a stale invitation is filtered out when listed

    async def unshare(self, user: User, list_id: str, username: str, now: datetime) -> None:
        """The owner removes a member, or a member leaves (removes themself)."""
        role = require(user, list_id, READ)
        found = await self._by_name(username)
        member_id = found.value["id"] if found else None
        leaving = member_id == user.id
        if not leaving and role != "owner":
            raise Forbidden(list_id)
        if leaving and role == "owner":
            raise Refused("the owner cannot leave; delete the list instead", code="owner")

        def decide(before: ListSnapshot) -> Change | None:
            previous = before.role_of(member_id) if member_id else None
            if member_id is not None and previous is None and not leaving:
                return self._withdraw(user, member_id, list_id, now)(before)  # an invitation
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
        allowed: frozenset[Role] | None,
        decide: Callable[[ListSnapshot], Change | None],
    ) -> ListSnapshot:
        """`allowed` None: the caller is not a member but invited (checked on their
        fresh user row in the same transaction)."""
        if allowed is not None:
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
            if allowed is not None and before.role_of(user.id) not in allowed:
                raise NotFound(list_id) if before.role_of(user.id) is None else Forbidden(list_id)
            change = decide(before)
            if change is None:
                return before
            audience = list(
                dict.fromkeys(
                    [
                        *before.member_ids,
                        *(change.after.member_ids if change.after else []),
                        *change.notify,
                    ]
                )
            )
            ops = [
                StateOp.upsert(list_key(list_id), list_row(change.after), item.etag)
                if change.after
                else StateOp.delete(list_key(list_id), item.etag)
            ]
            touched = list(dict.fromkeys([*change.roles, *change.invites]))
            users = await self._kv.get_bulk([id_key(m) for m in touched])
            for row in users:
                if row.value is None:
                    continue  # an account that no longer exists
                member = row.key.removeprefix("userid|")
                roles = {list_id: change.roles[member]} if member in change.roles else {}
                invites = {list_id: change.invites[member]} if member in change.invites else {}
                ops.append(_with_roles(row.key, row.value, row.etag, roles, invites))
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
    key: str,
    record: dict[str, Any],
    etag: str | None,
    roles: dict[str, Role | None],
    invites: dict[str, dict[str, Any] | None] | None = None,
) -> StateOp:
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
    return StateOp.upsert(key, updated, etag)
