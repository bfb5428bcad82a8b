"""/chat costs more than a read (and, with the LLM backend on, model calls): one user
cannot send it an unbounded stream of messages."""

from __future__ import annotations

import pytest

from stack.services import Stack
from tests.integration.api import User

pytestmark = pytest.mark.integration

CHAT_BURST = 10  # todo-api's chat_burst (then chat_per_minute, 20)


def test_a_chat_flood_from_one_user_gets_429_with_retry_after(stack: Stack) -> None:
    user, other = User(stack.config.url("todo-api")), User(stack.config.url("todo-api"))
    answers = [user.http.post("/chat", json={"message": "help"}) for _ in range(CHAT_BURST + 5)]
    statuses = [a.status_code for a in answers]
    assert statuses[:CHAT_BURST] == [200] * CHAT_BURST, statuses
    assert statuses.count(429) >= 4, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "too_many_requests"
    # Per user: someone else is not held up.
    assert other.http.post("/chat", json={"message": "help"}).status_code == 200
