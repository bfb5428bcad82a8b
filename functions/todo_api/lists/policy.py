"""Who may do what in a list, and what each change to it is (DESIGN §3): pure decisions.

Every `decide_*` takes the list as read (and the caller, the clock, the limits) and
returns the `Change` to commit, None when nothing changes, or raises the refusal. No
store here: the repository reads, retries on a lost race and commits what these decide.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, Refused
from functions.todo_api.limits import LimitReached, Limits
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

READ: frozenset[Role] = frozenset({"owner", "editor", "viewer"})
WRITE: frozenset[Role] = frozenset({"owner", "editor"})
MANAGE: frozenset[Role] = frozenset({"owner"})

# What sharing did: invited someone, changed a member's role, or nothing.
ShareOutcome = Literal["invited", "changed", "unchanged"]


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

    def audience(self, before: ListSnapshot | None) -> list[str]:
        """Who hears of it: the members before and after, and whom it names besides."""
        return list(
            dict.fromkeys(
                [
                    *(before.member_ids if before else []),
                    *(self.after.member_ids if self.after else []),
                    *self.notify,
                ]
            )
        )


def require(user: User, list_id: str, allowed: frozenset[Role]) -> Role:
    """The caller's role in the list; NotFound for outsiders, Forbidden without the right."""
    role = user.roles.get(list_id)
    if role is None:
        raise NotFound(list_id)
    if role not in allowed:
        raise Forbidden(list_id)
    return role


def decide_access(before: ListSnapshot, user_id: str, allowed: frozenset[Role]) -> None:
    """The same check on the list row itself: the truth, where the caller's user row may
    be a moment old."""
    role = before.role_of(user_id)
    if role is None:
        raise NotFound(before.id)
    if role not in allowed:
        raise Forbidden(before.id)


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


def bump(before: ListSnapshot, now: datetime, **changes: Any) -> ListSnapshot:
    return before.model_copy(update={**changes, "updated_at": now, "version": before.version + 1})


def decide_create(user: User, name: str, now: datetime, limits: Limits) -> Change:
    owned = sum(1 for role in user.roles.values() if role == "owner")
    if owned >= limits.lists_owned:
        raise LimitReached(
            f"You own {owned} lists, the most one account can own. Delete one you "
            f"no longer need first."
        )
    if len(user.roles) >= limits.lists_joined:
        raise LimitReached(
            f"You are in {len(user.roles)} lists, the most one account can be in. "
            f"Leave or delete one first."
        )
    after = new_list(user.id, user.username, name, now)
    event = ListCreated(user_id=user.id, list_id=after.id, tasklist=after, occurred_at=now)
    return Change(after, event, {user.id: "owner"})


def decide_update(
    before: ListSnapshot,
    user: User,
    now: datetime,
    *,
    name: str | None = None,
    remind: ReminderAudience | None = None,
) -> Change | None:
    fields = {"name": name, "remind": remind}
    changed = {k: v for k, v in fields.items() if v is not None and getattr(before, k) != v}
    if not changed:
        return None
    after = bump(before, now, **changed)
    event = ListUpdated(
        user_id=user.id,
        list_id=before.id,
        tasklist=after,
        changed=sorted(changed),
        occurred_at=now,
    )
    return Change(after, event)


def decide_invitable(user: User, member_id: str, username: str, blocked: list[str]) -> None:
    """Whether `user` may invite `member_id` at all; `blocked`: whom the invitee refuses."""
    if member_id == user.id:
        raise Refused("you own this list already", code="owner")
    if user.id in blocked:
        raise Refused(f"{username} does not accept invitations from you", code="blocked")


def decide_share(
    before: ListSnapshot,
    user: User,
    member_id: str,
    member_name: str,
    role: Role,
    now: datetime,
    limits: Limits,
) -> tuple[Change | None, ShareOutcome]:
    """Invite a non-member with `role`, or change a member's role. Nobody becomes a
    member without accepting."""
    previous = before.role_of(member_id)
    about = {
        "user_id": user.id,
        "list_id": before.id,
        "member_id": member_id,
        "role": role,
        "occurred_at": now,
    }
    if previous is None:
        pending = next((m for m in before.invited if m.user_id == member_id), None)
        if pending is not None and pending.role == role:
            return None, "invited"  # invited already: inviting again changes nothing
        people = len(before.members) + len(before.invited)
        if pending is None and people >= limits.members_per_list:
            raise LimitReached(
                f"{before.name} has {people} members and invitations, the most "
                f"one list can have. Remove someone or withdraw an invitation first."
            )
        others = [m for m in before.invited if m.user_id != member_id]
        name = pending.username if pending else member_name
        after = bump(
            before, now, invited=[*others, Member(user_id=member_id, username=name, role=role)]
        )
        invitation = {
            "role": role,
            "by": user.id,
            "by_name": user.username,
            "list_name": after.name,
            "at": now.isoformat(),
        }
        # The invitee hears of the invitation, and of nothing else in the list.
        change = Change(
            after,
            MemberInvited(tasklist=after, **about),
            invites={member_id: invitation},
            notify=[member_id],
        )
        return change, "invited"
    if previous == role:
        return None, "unchanged"
    others = [m for m in before.members if m.user_id != member_id]
    name = next(m.username for m in before.members if m.user_id == member_id)
    after = bump(
        before, now, members=[*others, Member(user_id=member_id, username=name, role=role)]
    )
    event = MemberChanged(tasklist=after, previous_role=previous, **about)
    return Change(after, event, {member_id: role}), "changed"


def decide_may_accept(user: User, list_id: str, limits: Limits) -> None:
    """Before reading the list: only an invitee (or a member already) accepts, within
    the number of lists one account may be in."""
    if list_id not in user.invitations and list_id not in user.roles:
        raise NotFound(list_id)  # never invited (or an id no list can have)
    if list_id not in user.roles and len(user.roles) >= limits.lists_joined:
        raise LimitReached(
            f"You are in {len(user.roles)} lists, the most one account can be in. "
            f"Leave one before you accept."
        )


def decide_accept(before: ListSnapshot, user: User, now: datetime) -> Change | None:
    """The invitee joins with the role they were invited with."""
    if before.role_of(user.id) is not None:
        return None
    pending = next((m for m in before.invited if m.user_id == user.id), None)
    if pending is None:
        raise NotFound(before.id)  # withdrawn meanwhile
    after = bump(
        before,
        now,
        members=[*before.members, pending],
        invited=[m for m in before.invited if m.user_id != user.id],
    )
    event = MemberAdded(
        user_id=user.id,
        list_id=before.id,
        tasklist=after,
        member_id=user.id,
        role=pending.role,
        occurred_at=now,
    )
    return Change(after, event, {user.id: pending.role})


def decide_withdraw(before: ListSnapshot, user: User, member_id: str, now: datetime) -> Change:
    """An invitation ends unanswered: declined by the invitee, or withdrawn by the owner."""
    pending = next((m for m in before.invited if m.user_id == member_id), None)
    if pending is None:
        raise NotFound(before.id)
    after = bump(before, now, invited=[m for m in before.invited if m != pending])
    event = InvitationDeclined(
        user_id=user.id,
        list_id=before.id,
        tasklist=after,
        member_id=member_id,
        role=pending.role,
        occurred_at=now,
    )
    return Change(after, event, invites={member_id: None}, notify=[member_id])


def decide_may_unshare(user: User, list_id: str, member_id: str | None) -> bool:
    """Whether this is the caller leaving (True) or the owner removing someone (False);
    refused otherwise. Only the owner removes others, and the owner cannot leave."""
    role = require(user, list_id, READ)
    leaving = member_id == user.id
    if not leaving and role != "owner":
        raise Forbidden(list_id)
    if leaving and role == "owner":
        raise Refused("the owner cannot leave; delete the list instead", code="owner")
    return leaving


def decide_unshare(
    before: ListSnapshot,
    user: User,
    member_id: str | None,
    username: str,
    now: datetime,
    *,
    leaving: bool,
) -> Change:
    """Remove a member; the owner naming someone only invited withdraws the invitation."""
    previous = before.role_of(member_id) if member_id else None
    if member_id is not None and previous is None and not leaving:
        return decide_withdraw(before, user, member_id, now)
    if member_id is None or previous is None:
        raise NotFound(username)
    after = bump(before, now, members=[m for m in before.members if m.user_id != member_id])
    event = MemberRemoved(
        user_id=user.id,
        list_id=before.id,
        tasklist=after,
        member_id=member_id,
        role=previous,
        occurred_at=now,
    )
    return Change(after, event, {member_id: None})


def decide_delete(before: ListSnapshot, user: User, now: datetime) -> Change:
    """Access ends for every member at once; a default list stays."""
    if before.default:
        raise Refused("a default list cannot be deleted", code="default_list")
    event = ListDeleted(user_id=user.id, list_id=before.id, tasklist=before, occurred_at=now)
    return Change(None, event, {m: None for m in before.member_ids})


def visible_invitations(user: User, alive: Mapping[str, ListSnapshot]) -> list[dict[str, Any]]:
    """The caller's pending invitations to lists (`alive`) that still invite them, without
    the inviter's id."""
    return [
        {k: v for k, v in inv.items() if k != "by"}
        | {"list_id": list_id, "list_name": alive[list_id].name}
        for list_id, inv in user.invitations.items()
        if list_id in alive and any(m.user_id == user.id for m in alive[list_id].invited)
    ]


def invited_by(user: User, inviter: str) -> list[str]:
    """The lists `inviter` has invited `user` to (what blocking them declines)."""
    return [x for x, inv in user.invitations.items() if inv.get("by") == inviter]
