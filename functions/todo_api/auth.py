"""Accounts: Argon2id password hashes (functions.todo_api.passwords, bounded cost) in
the kv store, one default list each.

Bearer tokens are shared.tokens.Tokens, so realtime verifies the same tokens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.todo_api.outbox import Outbox
from functions.todo_api.passwords import Passwords
from functions.todo_api.store import (
    id_key,
    list_key,
    list_row,
    memberships_of,
    name_key,
    unkeyable,
)
from shared.dapr import EtagMismatch, StateOp, StateStore
from shared.events import ListCreated, ListSnapshot, Member, Role
from shared.tokens import BadToken, Claims, Tokens

# Tokens signed out one by one that a user row remembers; past it, signing out one
# signs out all (the version moves), so the row stays small.
MAX_REVOKED = 64


@dataclass(frozen=True)
class User:
    id: str
    username: str
    timezone: str
    default_list: str
    # Every list the user is a member of, with their role: authorisation reads only this.
    roles: dict[str, Role]
    # Pending invitations, by list id ({role, by, by_name, list_name, at}): not
    # memberships, so nothing above reads them for authorisation.
    invitations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Users whose invitations this user refuses.
    blocked: tuple[str, ...] = ()
    # Tokens issued before this version are revoked (sign out everywhere), and so are
    # the ids of tokens signed out one by one (kept until they would have expired).
    token_version: int = 0
    revoked_tokens: frozenset[str] = frozenset()

    def accepts(self, claims: Claims) -> bool:
        return claims.version == self.token_version and claims.token_id not in self.revoked_tokens

    @property
    def lists(self) -> tuple[str, ...]:
        return tuple(self.roles)


class UsernameTaken(Exception):
    pass


class BadCredentials(Exception):
    pass


class Accounts:
    def __init__(self, kv: StateStore, outbox: Outbox, passwords: Passwords) -> None:
        self._kv = kv
        self._outbox = outbox
        self._passwords = passwords

    async def register(self, username: str, password: str, timezone: str, now: datetime) -> User:
        user_id = str(uuid.uuid4())
        list_id = str(uuid.uuid4())
        digest = await self._passwords.hash(password)
        record = {
            "id": user_id,
            "username": username,
            "timezone": timezone,
            "default_list": list_id,
            "memberships": {list_id: "owner"},
            "created_at": now.isoformat(),
        }
        inbox = ListSnapshot(
            id=list_id,
            name="Inbox",
            owner_id=user_id,
            members=[Member(user_id=user_id, username=username, role="owner")],
            default=True,
            created_at=now,
            updated_at=now,
        )
        created = ListCreated(user_id=user_id, list_id=list_id, tasklist=inbox, occurred_at=now)
        announce, pending = self._outbox.pending(self._kv.name, created, now, members=[user_id])
        try:
            # One transaction: the name is claimed, or nothing is written.
            await self._kv.transact(
                [
                    StateOp.insert(name_key(username), {"id": user_id, "password_hash": digest}),
                    StateOp.insert(id_key(user_id), record),
                    StateOp.insert(list_key(list_id), list_row(inbox)),
                    announce,
                ]
            )
        except Exception as exc:
            if await self._kv.get(name_key(username)) is not None:
                raise UsernameTaken(username) from exc
            raise
        self._outbox.committed(pending)
        return _user(record)

    async def authenticate(self, username: str, password: str) -> User:
        item = None if unkeyable(username) else await self._kv.get(name_key(username))
        # An unknown name costs the same hash as a wrong password (no timing oracle).
        digest = item.value["password_hash"] if item else None
        if not await self._passwords.verify(digest, password) or item is None:
            raise BadCredentials()
        user = await self.by_id(item.value["id"])
        if user is None:
            raise BadCredentials()
        return user

    async def sign_out(self, claims: Claims, now: datetime, *, everywhere: bool) -> None:
        """Revoke this token, or (everywhere) every token issued so far."""
        for _ in range(8):
            item = await self._kv.get(id_key(claims.user_id))
            if item is None:
                return
            record = dict(item.value)
            revoked = {
                jti: exp
                for jti, exp in (record.get("revoked_tokens") or {}).items()
                if exp > now.timestamp()  # an expired token needs no revoking
            }
            if not everywhere and claims.token_id:
                revoked[claims.token_id] = claims.expires_at.timestamp()
            if everywhere or len(revoked) > MAX_REVOKED or not claims.token_id:
                record["token_version"] = int(record.get("token_version", 0)) + 1
                revoked = {}
            record["revoked_tokens"] = revoked
            try:
                await self._kv.save(item.key, record, etag=item.etag)
            except EtagMismatch:
                continue
            return
        raise EtagMismatch("too many concurrent changes to the account")

    async def by_id(self, user_id: str) -> User | None:
        item = await self._kv.get(id_key(user_id))
        return _user(item.value) if item else None


class Sessions:
    """Who a bearer token stands for now: its signature and expiry (Tokens), then the
    account, which knows the token's sign-outs. The edge's authentication backend and
    realtime's session check both ask this."""

    def __init__(self, tokens: Tokens, accounts: Accounts) -> None:
        self.tokens = tokens
        self.accounts = accounts

    async def resolve(self, token: str) -> tuple[User, Claims] | None:
        try:
            claims = await self.tokens.claims(token)
        except BadToken:
            return None
        user = await self.accounts.by_id(claims.user_id)
        if user is None or not user.accepts(claims):
            return None
        return user, claims


def _user(record: dict[str, Any]) -> User:
    return User(
        id=record["id"],
        username=record["username"],
        timezone=record["timezone"],
        default_list=record["default_list"],
        roles=memberships_of(record),
        invitations=dict(record.get("invitations") or {}),
        blocked=tuple(record.get("blocked") or ()),
        token_version=int(record.get("token_version", 0)),
        revoked_tokens=frozenset(record.get("revoked_tokens") or {}),
    )
