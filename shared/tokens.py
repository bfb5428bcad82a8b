"""Bearer tokens: EdDSA (Ed25519) JWTs with a key id (`kid`) and an expiry.

Two secrets in the Dapr `secrets` store keep signing and verifying apart:
  `jwt`         {"kid": ..., "privateKey": <PEM>}   the key that signs now; todo-api only
  `jwt-public`  {<kid>: <PEM public key>, ...}      every key that may still verify
todo-api signs; realtime (and anything else that only authenticates) reads the public
set alone, so it cannot mint a token. Rotation: publish the new public key, switch
`jwt` to the new private key, drop the old public key once its last token expired
(README "Security"). Both secrets are re-read every few minutes, and the public set
also when a token names a kid not seen yet, so a rotation needs no restart and signs
no one out.

Each token carries its own id (`jti`) and the user's token version (`ver`): todo-api
refuses a token whose version is behind the user row's (signed out everywhere) or
whose id the user signed out (see functions/todo_api/auth.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.dapr import Secrets

log = logging.getLogger(__name__)

ISSUER = "taskwave"
ALGORITHM = "EdDSA"
# How long a read of either secret is trusted, and how often at most an unknown kid
# may send a verifier back to the store (a flood of made-up kids costs one read).
REFRESH_S = 300.0
UNKNOWN_KID_REFRESH_S = 10.0
# Tokens whose signature was checked, remembered so a client's next request costs a
# dictionary lookup instead of a decode and an Ed25519 verification (~0.15 ms, on
# every request). Bounded: past it the memory starts again.
VERIFIED_CACHE = 8192


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


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: Ed25519PrivateKey


def new_signing_key(kid: str) -> tuple[dict[str, str], dict[str, str]]:
    """A fresh Ed25519 key: the `jwt` secret's values, and its entry in the public set."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {"kid": kid, "privateKey": private}, {kid: public_pem(key.public_key())}


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_keys(values: dict[str, str]) -> dict[str, Ed25519PublicKey]:
    """The usable keys of a public set; an entry that is not an Ed25519 key is skipped
    (and logged), so one bad paste does not stop every other key from verifying."""
    keys: dict[str, Ed25519PublicKey] = {}
    for kid, pem in values.items():
        try:
            key = serialization.load_pem_public_key(pem.encode())
        except ValueError:
            key = None
        if isinstance(key, Ed25519PublicKey):
            keys[kid] = key
        else:
            log.error("public key %r is not an Ed25519 PEM key; ignored", kid)
    return keys


def signing_key(values: dict[str, str]) -> SigningKey:
    key = serialization.load_pem_private_key(values["privateKey"].encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key is not an Ed25519 key")
    return SigningKey(kid=values["kid"], key=key)


class Tokens:
    """Checks tokens against the public set; issues them when given the signing secret.

    `public` and `signing` name secrets in the store. A verifier only (realtime) is
    built without `signing` and never asks for it.
    """

    def __init__(
        self,
        secrets: Secrets,
        *,
        public: str,
        signing: str | None = None,
        ttl: timedelta = timedelta(0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secrets = secrets
        self._public_name = public
        self._signing_name = signing
        self.ttl = ttl
        self._clock = clock
        self._public: dict[str, Ed25519PublicKey] = {}
        self._public_read = -float("inf")
        self._signer: SigningKey | None = None
        self._signer_read = -float("inf")
        # token -> (kid, claims). The same string always verifies the same way, save
        # for time (expiry, checked on every use) and the key set (its kid must still
        # be published).
        self._verified: dict[str, tuple[str, Claims]] = {}

    async def _keys(self, *, unknown: str | None = None) -> dict[str, Ed25519PublicKey]:
        age = self._clock() - self._public_read
        if age >= REFRESH_S or (unknown is not None and age >= UNKNOWN_KID_REFRESH_S):
            self._public = public_keys(await self._secrets.get_secret(self._public_name))
            self._public_read = self._clock()
        return self._public

    async def _signing(self) -> SigningKey:
        if self._signing_name is None:
            raise RuntimeError("these tokens verify only: no signing secret was named")
        if self._signer is None or self._clock() - self._signer_read >= REFRESH_S:
            self._signer = signing_key(await self._secrets.get_secret(self._signing_name))
            self._signer_read = self._clock()
        return self._signer

    async def ready(self) -> bool:
        """Readiness: the public set can be read, and a signer's key is in it (else it
        would issue tokens no one accepts)."""
        keys = await self._keys()
        if self._signing_name is None:
            return bool(keys)
        signer = await self._signing()
        if signer.kid not in keys:
            keys = await self._keys(unknown=signer.kid)
        return signer.kid in keys

    async def issue(self, user: Subject, now: datetime, version: int = 0) -> str:
        signer = await self._signing()
        claims = {
            "sub": user.id,
            "name": user.username,
            "iss": ISSUER,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "ver": version,
        }
        return jwt.encode(claims, signer.key, algorithm=ALGORITHM, headers={"kid": signer.kid})

    async def verify(self, token: str) -> str:
        """The user id the token was issued to; BadToken if forged, malformed or expired."""
        return (await self.claims(token)).user_id

    async def claims(self, token: str) -> Claims:
        """What the token says; BadToken if forged, malformed, expired, or signed by a
        key the public set does not hold (any more)."""
        if known := self._verified.get(token):
            kid, claims = known
            if kid in await self._keys() and claims.expires_at.timestamp() > time.time():
                return claims
            del self._verified[token]
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.clear()
        return await self._check(token)

    async def _check(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise BadToken(str(exc)) from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise BadToken("not an EdDSA token with a key id")
        key = (await self._keys()).get(kid) or (await self._keys(unknown=kid)).get(kid)
        if key is None:
            raise BadToken(f"unknown key id {kid!r}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],  # never what the token's header asks for
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise BadToken(str(exc)) from exc
        version = claims.get("ver", 0)
        if not isinstance(version, int):
            raise BadToken("bad token version")
        checked = Claims(
            user_id=str(claims["sub"]),
            token_id=str(claims.get("jti", "")),
            version=version,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
        self._verified[token] = (kid, checked)
        return checked
