"""One account cannot make todo-api hold unbounded state: past its limit a flood of lists
gets 409 `limit_reached` with a sentence that says what to do, and nothing is made."""

from __future__ import annotations

import pytest

from stack.services import Stack
from tests.integration.api import User

pytestmark = pytest.mark.integration

LISTS_OWNED = 100  # todo-api's max_lists_owned (the Inbox is one)


def test_a_flood_of_lists_stops_at_the_limit_with_a_clear_error(stack: Stack) -> None:
    user = User(stack.config.url("todo-api"))
    statuses = [
        user.http.post("/lists", json={"name": f"spam {i}"}).status_code
        for i in range(LISTS_OWNED + 5)
    ]
    assert statuses == [201] * (LISTS_OWNED - 1) + [409] * 6
    refused = user.http.post("/lists", json={"name": "one more"}).json()["error"]
    assert refused["code"] == "limit_reached"
    assert "the most one account can own" in refused["message"]
    assert len(user.http.get("/lists").json()["items"]) == LISTS_OWNED
