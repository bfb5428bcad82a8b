"""Accounts: Argon2id password hashes (argon2-cffi) in the kv store, one default list each.

Bearer tokens are shared.tokens.Tokens, so realtime verifies the same tokens.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.dapr import StateOp, StateStore

_hasher = PasswordHasher()
# Verifying against this keeps the response time the same for unknown users.
_DUMMY_HASH = _hasher.hash("taskwave-timing-equaliser")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    timezone: str
    default_list: str
    lists: tuple[str, ...]


class UsernameTaken(Exception):
    pass


class BadCredentials(Exception):
    pass


def _name_key(username: str) -> str:
    return f"user|{username.casefold()}"


def _id_key(user_id: str) -> str:
    return f"userid|{user_id}"


class Accounts:
    def __init__(self, kv: StateStore) -> None:
        self._kv = kv

    async def register(self, username: str, password: str, timezone: str, now: datetime) -> User:
        user_id = str(uuid.uuid4())
        list_id = str(uuid.uuid4())
        digest = await asyncio.to_thread(_hasher.hash, password)
        record = {
            "id": user_id,
            "username": username,
            "timezone": timezone,
            "default_list": list_id,
            "lists": [list_id],
            "created_at": now.isoformat(),
        }
        default_list = {
            "id": list_id,
            "name": "Inbox",
            "owner_id": user_id,
            "members": {user_id: "owner"},
            "created_at": now.isoformat(),
        }
        try:
            # One transaction: the name is claimed, or nothing is written.
            await self._kv.transact(
                [
                    StateOp.insert(_name_key(username), {"id": user_id, "password_hash": digest}),
                    StateOp.insert(_id_key(user_id), record),
                    StateOp.insert(f"list|{list_id}", default_list),
                ]
            )
        except Exception as exc:
            if await self._kv.get(_name_key(username)) is not None:
                raise UsernameTaken(username) from exc
            raise
        return _user(record)

    async def authenticate(self, username: str, password: str) -> User:
        item = await self._kv.get(_name_key(username))
        digest = item.value["password_hash"] if item else _DUMMY_HASH
        try:
            await asyncio.to_thread(_hasher.verify, digest, password)
        except (VerificationError, InvalidHashError) as exc:
            raise BadCredentials() from exc
        if item is None:
            raise BadCredentials()
        user = await self.by_id(item.value["id"])
        if user is None:
            raise BadCredentials()
        return user

    async def by_id(self, user_id: str) -> User | None:
        item = await self._kv.get(_id_key(user_id))
        return _user(item.value) if item else None


def _user(record: dict[str, Any]) -> User:
    return User(
        id=record["id"],
        username=record["username"],
        timezone=record["timezone"],
        default_list=record["default_list"],
        lists=tuple(record["lists"]),
    )
