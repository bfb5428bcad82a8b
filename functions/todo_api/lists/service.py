"""The list use cases: check what the caller's user row allows, then let the repository
read, apply the policy's decision and commit it with its event."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from functions.todo_api.auth import User
from functions.todo_api.errors import NotFound, UnknownUser
from functions.todo_api.limits import Limits
from functions.todo_api.lists import policy
from functions.todo_api.lists.policy import MANAGE, READ, Change, ShareOutcome, require
from functions.todo_api.lists.repository import ListRepository
from functions.todo_api.outbox import Outbox
from shared.dapr import StateStore
from shared.events import ListSnapshot, ReminderAudience, Role

# Called after a list is deleted, with the deleter: removes its tasks (with their events).
TaskPurge = Callable[[str, str, datetime], Awaitable[int]]

Decide = Callable[[ListSnapshot], Change | None]


class ListService:
    def __init__(
        self, kv: StateStore, outbox: Outbox, purge: TaskPurge, limits: Limits | None = None
    ) -> None:
        self._limits = limits or Limits()
        self._purge = purge
        self._repo = ListRepository(kv, outbox)
        self.lists = self._repo

    # -- reads ---------------------------------------------------------------------------

    async def mine(self, user: User) -> list[ListSnapshot]:
        return await self.lists.many(list(user.roles))

    async def get(self, user: User, list_id: str) -> ListSnapshot:
        require(user, list_id, READ)
        snapshot = await self.lists.get(list_id)
        if snapshot is None:
            raise NotFound(list_id)
        return snapshot

    async def invitations(self, user: User) -> list[dict[str, Any]]:
        """The caller's pending invitations to lists that still invite them."""
        alive = {s.id: s for s in await self.lists.many(list(user.invitations))}
        return policy.visible_invitations(user, alive)

    # -- writes --------------------------------------------------------------------------

    async def create(self, user: User, name: str, now: datetime) -> ListSnapshot:
        return await self._repo.create(policy.decide_create(user, name, now, self._limits))

    async def update(
        self,
        user: User,
        list_id: str,
        now: datetime,
        *,
        name: str | None = None,
        remind: ReminderAudience | None = None,
    ) -> ListSnapshot:
        return await self._mutate(
            user,
            list_id,
            MANAGE,
            lambda before: policy.decide_update(before, user, now, name=name, remind=remind),
        )

    async def share(
        self, user: User, list_id: str, username: str, role: Role, now: datetime
    ) -> tuple[ListSnapshot, str]:
        """Invite `username` with `role` ("invited"), or change a member's role
        ("changed", "unchanged"). Nobody becomes a member without accepting."""
        require(user, list_id, MANAGE)
        found = await self._repo.user_by_name(username)
        if found is None:
            raise UnknownUser(username)
        member_id: str = found["id"]
        invitee = await self._repo.user(member_id) if member_id != user.id else None
        blocked = list((invitee or {}).get("blocked") or [])
        policy.decide_invitable(user, member_id, username, blocked)
        outcomes: list[ShareOutcome] = ["unchanged"]

        def decide(before: ListSnapshot) -> Change | None:
            name = found.get("username", username)
            change, outcome = policy.decide_share(
                before, user, member_id, name, role, now, self._limits
            )
            outcomes.append(outcome)
            return change

        snapshot = await self._mutate(user, list_id, MANAGE, decide)
        return snapshot, outcomes[-1]

    async def accept(self, user: User, list_id: str, now: datetime) -> ListSnapshot:
        """The invitee joins with the role they were invited with."""
        policy.decide_may_accept(user, list_id, self._limits)
        try:
            return await self._mutate(
                user, list_id, None, lambda before: policy.decide_accept(before, user, now)
            )
        except NotFound:
            await self._repo.forget_invitation(user.id, list_id)  # gone or withdrawn
            raise

    async def decline(self, user: User, list_id: str, now: datetime, *, block: bool) -> None:
        """Decline (and with `block`, refuse every later invitation from the inviter)."""
        if list_id not in user.invitations:
            raise NotFound(list_id)
        inviter = user.invitations[list_id].get("by")
        try:
            await self._mutate(
                user,
                list_id,
                None,
                lambda before: policy.decide_withdraw(before, user, user.id, now),
            )
        except NotFound:
            await self._repo.forget_invitation(user.id, list_id)
            if inviter is None:
                raise
        if block and inviter is not None:
            await self._repo.set_blocked(user.id, inviter, blocked=True)

    async def block(self, user: User, username: str, now: datetime, *, blocked: bool) -> None:
        """Refuse (or again accept) invitations from `username`; blocking declines
        their pending ones too."""
        found = await self._repo.user_by_name(username)
        if found is None:
            raise UnknownUser(username)
        other: str = found["id"]
        await self._repo.set_blocked(user.id, other, blocked=blocked)
        if blocked:
            for list_id in policy.invited_by(user, other):
                with contextlib.suppress(NotFound):
                    await self.decline(user, list_id, now, block=False)

    async def unshare(self, user: User, list_id: str, username: str, now: datetime) -> None:
        """The owner removes a member, or a member leaves (removes themself)."""
        found = await self._repo.user_by_name(username)
        member_id = found["id"] if found else None
        leaving = policy.decide_may_unshare(user, list_id, member_id)
        await self._mutate(
            user,
            list_id,
            READ if leaving else MANAGE,
            lambda before: policy.decide_unshare(
                before, user, member_id, username, now, leaving=leaving
            ),
        )

    async def delete(self, user: User, list_id: str, now: datetime) -> int:
        """Delete the list (access ends for everyone at once), then its tasks."""
        await self._mutate(
            user, list_id, MANAGE, lambda before: policy.decide_delete(before, user, now)
        )
        return await self._purge(list_id, user.id, now)

    async def _mutate(
        self, user: User, list_id: str, allowed: frozenset[Role] | None, decide: Decide
    ) -> ListSnapshot:
        """`allowed` None: the caller is not a member but invited (checked on their
        fresh user row in the same transaction)."""
        if allowed is None:
            return await self._repo.mutate(list_id, decide)
        require(user, list_id, allowed)

        def checked(before: ListSnapshot) -> Change | None:
            policy.decide_access(before, user.id, allowed)
            return decide(before)

        return await self._repo.mutate(list_id, checked)
