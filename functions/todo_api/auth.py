"""Accounts and bearer tokens.

Passwords are hashed with Argon2id (argon2-cffi); tokens are HS256 JWTs signed with
a key read from the Dapr secret store (`jwt.signingKey`), with an expiry.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.dapr import Secrets, StateOp, StateStore

ISSUER = "taskwave"
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


class BadToken(Exception):
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


class Tokens:
    """Issues and checks tokens; the signing key comes from the secret store once."""

    def __init__(self, secrets: Secrets, secret_name: str, ttl: timedelta) -> None:
        self._secrets = secrets
        self._secret_name = secret_name
        self.ttl = ttl
        self._key: str | None = None

    async def key(self) -> str:
        if self._key is None:
            secret = await self._secrets.get_secret(self._secret_name)
            self._key = secret["signingKey"]
        return self._key

    async def issue(self, user: User, now: datetime) -> str:
        claims = {
            "sub": user.id,
            "name": user.username,
            "iss": ISSUER,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
        }
        return jwt.encode(claims, await self.key(), algorithm="HS256")

    async def verify(self, token: str) -> str:
        """The user id the token was issued to; BadToken if forged, malformed or expired."""
        try:
            claims = jwt.decode(
                token,
                await self.key(),
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise BadToken(str(exc)) from exc
        return str(claims["sub"])
