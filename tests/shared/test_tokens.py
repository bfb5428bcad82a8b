from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.dapr.fake import FakeSecrets
from shared.tokens import BadToken, Tokens


@dataclass
class Who:
    id: str = "user-1"
    username: str = "ann"


def _tokens(key: str = "k" * 48, ttl: timedelta = timedelta(hours=1)) -> Tokens:
    return Tokens(FakeSecrets({"jwt": {"signingKey": key}}), "jwt", ttl)


async def test_a_token_verifies_to_its_user() -> None:
    tokens = _tokens()
    token = await tokens.issue(Who(), datetime.now(UTC))
    assert await tokens.verify(token) == "user-1"


async def test_expired_forged_and_foreign_tokens_are_refused() -> None:
    tokens = _tokens()
    old = await tokens.issue(Who(), datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(BadToken):
        await tokens.verify(old)
    other_key = await _tokens(key="x" * 48).issue(Who(), datetime.now(UTC))
    with pytest.raises(BadToken):
        await tokens.verify(other_key)
    unsigned = jwt.encode(
        {"sub": "user-1", "iss": "taskwave", "exp": 9999999999}, key="", algorithm="none"
    )
    with pytest.raises(BadToken):
        await tokens.verify(unsigned)
    with pytest.raises(BadToken):
        await tokens.verify("garbage")
