"""Bearer tokens: HS256 JWTs with an expiry, signed with a key from the Dapr secret store.

todo-api issues them; every function that authenticates users (realtime) verifies
them with the same key, read once from the `secrets` store. Each token carries its
own id (`jti`) and the user's token version (`ver`): todo-api refuses a token whose
version is behind the user row's (signed out everywhere) or whose id the user signed
out (see functions/todo_api/auth.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import jwt

from shared.dapr import Secrets

ISSUER = "taskwave"


class BadToken(Exception):
    pass


class Subject(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def username(self) -> str: ...


@dataclass(frozen=True)
class Claims:
    user_id: str
    token_id: str  # "" for a token issued before tokens had ids
    version: int
    expires_at: datetime


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

    async def ready(self) -> bool:
        """Readiness: the signing key can be read from the secret store."""
        return bool(await self.key())

    async def issue(self, user: Subject, now: datetime, version: int = 0) -> str:
        claims = {
            "sub": user.id,
            "name": user.username,
            "iss": ISSUER,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "ver": version,
        }
        return jwt.encode(claims, await self.key(), algorithm="HS256")

    async def verify(self, token: str) -> str:
        """The user id the token was issued to; BadToken if forged, malformed or expired."""
        return (await self.claims(token)).user_id

    async def claims(self, token: str) -> Claims:
        """What the token says; BadToken if forged, malformed or expired."""
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
        version = claims.get("ver", 0)
        if not isinstance(version, int):
            raise BadToken("bad token version")
        return Claims(
            user_id=str(claims["sub"]),
            token_id=str(claims.get("jti", "")),
            version=version,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
