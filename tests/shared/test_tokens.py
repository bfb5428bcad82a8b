from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.dapr.fake import FakeSecrets
from shared.tokens import REFRESH_S, UNKNOWN_KID_REFRESH_S, BadToken, Tokens, new_signing_key


@dataclass
class Who:
    id: str = "user-1"
    username: str = "ann"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _store(*kids: str) -> tuple[FakeSecrets, dict[str, dict[str, str]]]:
    """A store whose `jwt` signs with the last kid and whose public set holds them all;
    also every key's signing values, by kid (for rotating)."""
    signing: dict[str, dict[str, str]] = {}
    public: dict[str, str] = {}
    for kid in kids:
        signing[kid], entry = new_signing_key(kid)
        public |= entry
    return FakeSecrets({"jwt": signing[kids[-1]], "jwt-public": public}), signing


def _signer(
    store: FakeSecrets,
    ttl: timedelta = timedelta(hours=1),
    clock: Callable[[], float] = time.monotonic,
) -> Tokens:
    return Tokens(store, public="jwt-public", signing="jwt", ttl=ttl, clock=clock)


def _verifier(store: FakeSecrets, clock: Callable[[], float] = time.monotonic) -> Tokens:
    return Tokens(store, public="jwt-public", clock=clock)


def _header(token: str) -> dict[str, str]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


async def test_a_token_is_eddsa_with_its_key_id_and_verifies_with_the_public_key_only() -> None:
    store, _ = _store("k1")
    token = await _signer(store).issue(Who(), datetime.now(UTC))
    assert _header(token) == {"alg": "EdDSA", "kid": "k1", "typ": "JWT"}
    public_only = FakeSecrets({"jwt-public": store.values["jwt-public"]})
    assert await _verifier(public_only).verify(token) == "user-1"
    with pytest.raises(RuntimeError):  # a verifier cannot mint
        await _verifier(public_only).issue(Who(), datetime.now(UTC))


async def test_expired_forged_and_foreign_tokens_are_refused() -> None:
    store, _ = _store("k1")
    tokens = _signer(store)
    old = await tokens.issue(Who(), datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(BadToken):
        await tokens.verify(old)
    # Another key under the same kid: the signature does not hold.
    other, _ = _store("k1")
    with pytest.raises(BadToken):
        await tokens.verify(await _signer(other).issue(Who(), datetime.now(UTC)))
    unsigned = jwt.encode(
        {"sub": "user-1", "iss": "taskwave", "exp": 9999999999},
        key="",
        algorithm="none",
        headers={"kid": "k1"},
    )
    with pytest.raises(BadToken):
        await tokens.verify(unsigned)
    with pytest.raises(BadToken):
        await tokens.verify("garbage")


async def test_a_token_signed_by_an_unknown_kid_is_refused() -> None:
    store, _ = _store("k1")
    stranger = Ed25519PrivateKey.generate()
    claims = {"sub": "user-1", "iss": "taskwave", "exp": 9999999999}
    for kid in ("k9", None):
        headers = {"kid": kid} if kid else {}
        forged = jwt.encode(claims, stranger, algorithm="EdDSA", headers=headers)
        with pytest.raises(BadToken):
            await _verifier(store).verify(forged)


async def test_hs256_with_the_public_key_as_its_secret_is_refused() -> None:
    """The classic algorithm confusion: the public key is public, so an HMAC keyed with
    it is a forgery anyone can make."""
    store, _ = _store("k1")
    pem = store.values["jwt-public"]["k1"].encode()
    claims = {"sub": "user-1", "iss": "taskwave", "exp": 9999999999}
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"k1","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signature = hmac.new(pem, header + b"." + body, hashlib.sha256).digest()
    forged = b".".join([header, body, base64.urlsafe_b64encode(signature).rstrip(b"=")])
    with pytest.raises(BadToken):
        await _verifier(store).verify(forged.decode())


async def test_rotation_a_new_key_signs_and_old_tokens_keep_verifying_until_dropped() -> None:
    clock = Clock()
    store, keys = _store("k1")
    signer, verifier = _signer(store, clock=clock), _verifier(store, clock=clock)
    before = await signer.issue(Who(), datetime.now(UTC))
    assert await verifier.verify(before) == "user-1"

    # 1. publish k2's public key; 2. sign with k2. Nobody restarts.
    keys["k2"], entry = new_signing_key("k2")
    store.values["jwt-public"] = store.values["jwt-public"] | entry
    store.values["jwt"] = keys["k2"]
    clock.now += REFRESH_S
    after = await signer.issue(Who(), datetime.now(UTC))
    assert _header(after)["kid"] == "k2"
    assert await verifier.verify(after) == "user-1"
    assert await verifier.verify(before) == "user-1"  # nobody is signed out

    # 3. once k1's last token expired, its public key goes: k1 tokens stop verifying.
    store.values["jwt-public"] = entry
    clock.now += REFRESH_S
    with pytest.raises(BadToken):
        await verifier.verify(before)
    assert await verifier.verify(after) == "user-1"


async def test_a_new_kid_is_looked_up_at_once_but_not_on_every_unknown_token() -> None:
    clock = Clock()
    store, _ = _store("k1")
    reads: list[str] = []
    get = store.get_secret

    async def counted(key: str) -> dict[str, str]:
        reads.append(key)
        return await get(key)

    store.get_secret = counted  # type: ignore[method-assign]
    verifier = _verifier(store, clock=clock)
    assert await verifier.ready()
    signing, entry = new_signing_key("k2")
    store.values["jwt-public"] = store.values["jwt-public"] | entry
    token = await _signer(FakeSecrets({"jwt": signing, **store.values}), clock=clock).issue(
        Who(), datetime.now(UTC)
    )
    # k2 was published after the verifier read the set: one more read finds it ...
    clock.now += UNKNOWN_KID_REFRESH_S
    assert await verifier.verify(token) == "user-1"
    # ... while a flood of made-up kids costs at most one read per interval.
    before = len(reads)
    stranger = Ed25519PrivateKey.generate()
    for n in range(50):
        forged = jwt.encode(
            {"sub": "u", "iss": "taskwave", "exp": 9999999999},
            stranger,
            algorithm="EdDSA",
            headers={"kid": f"x{n}"},
        )
        with pytest.raises(BadToken):
            await verifier.verify(forged)
    assert len(reads) - before <= 1


async def test_a_signer_whose_key_is_not_published_is_not_ready() -> None:
    store, _ = _store("k1")
    assert await _signer(store).ready()
    signing, _ = new_signing_key("k2")
    store.values["jwt"] = signing  # k2 signs, but no verifier knows k2
    assert not await _signer(store).ready()


async def test_a_remembered_token_still_expires_and_still_needs_its_key() -> None:
    """Verified tokens are remembered (a request costs no Ed25519 check), but time and
    the key set still apply to them."""
    clock = Clock()
    store, keys = _store("k1")
    tokens = _signer(store, ttl=timedelta(seconds=1), clock=clock)
    short = await tokens.issue(Who(), datetime.now(UTC))
    assert await tokens.verify(short) == "user-1"
    assert await tokens.verify(short) == "user-1"  # remembered
    expires = (await tokens.claims(short)).expires_at.timestamp()
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.01)
    with pytest.raises(BadToken):
        await tokens.verify(short)

    tokens.ttl = timedelta(hours=1)
    kept = await tokens.issue(Who(), datetime.now(UTC))
    assert await tokens.verify(kept) == "user-1"
    keys["k2"], entry = new_signing_key("k2")
    store.values["jwt-public"] = entry  # k1 withdrawn
    clock.now += REFRESH_S
    with pytest.raises(BadToken):
        await tokens.verify(kept)
