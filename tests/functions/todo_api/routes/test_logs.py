"""/audit and /notifications relay to audit and reminders for the token's user only."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from shared.dapr import DaprError, InvokeResponse
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets


def _client() -> tuple[TestClient, FakeDapr, dict[str, str], str]:
    dapr = FakeDapr(secret_values=token_secrets())
    client = TestClient(create_app(dapr=dapr))
    made = client.post(
        "/api/v1/auth/register", json={"username": "ann", "password": "a passphrase"}
    )
    tok = client.post("/api/v1/auth/token", json={"username": "ann", "password": "a passphrase"})
    return (
        client,
        dapr,
        {"authorization": f"Bearer {tok.json()['access_token']}"},
        made.json()["id"],
    )


def test_the_user_comes_from_the_token_never_from_the_query() -> None:
    client, dapr, auth, user_id = _client()
    seen: list[str] = []

    async def audit(method: str, path: str, body: Any, headers: dict[str, str]) -> InvokeResponse:
        seen.append(path)
        return InvokeResponse(200, {"items": [], "next_cursor": None}, {})

    dapr.invoker.apps["audit"] = audit
    task = client.post("/api/v1/tasks", json={"title": "t"}, headers=auth).json()
    inbox = client.get("/api/v1/me", headers=auth).json()["default_list"]
    ok = client.get("/api/v1/audit", params={"task_id": task["id"], "limit": 5}, headers=auth)
    assert ok.status_code == 200
    assert ok.json() == {"items": [], "next_cursor": None}
    # The lists are the caller's memberships, looked up by todo-api, never asked for.
    assert seen == [
        f"internal/v1/audit?limit=5&task_id={task['id']}&user_id={user_id}&list_ids={inbox}"
    ]
    # A task the caller cannot see has no audit log the caller can see.
    assert client.get("/api/v1/audit", params={"task_id": "t1"}, headers=auth).status_code == 404
    sneaky = client.get("/api/v1/audit", params={"user_id": "someone-else"}, headers=auth)
    assert sneaky.status_code == 422
    assert len(seen) == 1
    assert client.get("/api/v1/audit").status_code == 401


def test_an_unreachable_log_is_a_503_not_a_500() -> None:
    client, dapr, auth, _ = _client()

    async def down(method: str, path: str, body: Any, headers: dict[str, str]) -> InvokeResponse:
        raise DaprError("no route to reminders")

    dapr.invoker.apps["reminders"] = down
    resp = client.get("/api/v1/notifications", headers=auth)
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "unavailable"
