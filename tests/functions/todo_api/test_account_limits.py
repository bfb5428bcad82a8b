"""Per-account limits: each answers 409 `limit_reached` with a sentence a person can act
on, in REST and in the chat, and a refused request changes nothing."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets

PASSWORD = "a long passphrase"


class Account:
    def __init__(self, client: TestClient, name: str) -> None:
        self.client, self.name = client, name
        made = client.post("auth/register", json={"username": name, "password": PASSWORD})
        assert made.status_code == 201, made.text
        self.default_list = made.json()["default_list"]
        token = client.post("auth/token", json={"username": name, "password": PASSWORD})
        self.auth = {"authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        resp = self.client.request(method, path, json=body, headers=self.auth)
        return resp.status_code, resp.json() if resp.content else None

    def say(self, message: str) -> str:
        reply: str = self.call("POST", "chat", {"message": message})[1]["reply"]
        return reply


def _client(**limits: Any) -> TestClient:
    dapr = FakeDapr(secret_values=token_secrets())
    settings = Settings(argon2_memory_kib=8 * 1024, argon2_time_cost=1, **limits)
    return TestClient(create_app(settings, dapr), base_url="http://t/api/v1/")


def _limit(status: int, body: Any, *words: str) -> None:
    assert status == 409, body
    error = body["error"]
    assert error["code"] == "limit_reached"
    assert all(w in error["message"] for w in words), error["message"]


def test_tasks_per_account() -> None:
    ann = Account(_client(max_tasks_per_account=3), "ann")
    for i in range(3):
        assert ann.call("POST", "tasks", {"title": f"t{i}"})[0] == 201
    _limit(*ann.call("POST", "tasks", {"title": "one too many"}), "3", "Delete")
    assert "the most one account can have" in ann.say("add buy milk")
    assert ann.call("GET", "tasks")[1]["total"] == 3


def test_scheduled_reminders_per_account() -> None:
    ann = Account(_client(max_jobs_per_user=2), "ann")
    body = {"title": "a", "due_at": "2030-01-01T10:00:00Z", "reminders": [{"before": "PT5M"}]}
    assert ann.call("POST", "tasks", body)[0] == 201
    assert ann.call("POST", "tasks", body)[0] == 201
    _limit(*ann.call("POST", "tasks", body), "2", "reminders")
    assert ann.call("POST", "tasks", {"title": "no reminder"})[0] == 201


def test_lists_owned() -> None:
    ann = Account(_client(max_lists_owned=2), "ann")  # the Inbox is one
    assert ann.call("POST", "lists", {"name": "Trip"})[0] == 201
    _limit(*ann.call("POST", "lists", {"name": "More"}), "2 lists", "Delete")
    assert "the most one account can own" in ann.say("create a list called spare")
    assert len(ann.call("GET", "lists")[1]["items"]) == 2


def test_members_per_list_and_lists_joined() -> None:
    client = _client(max_members_per_list=2, max_lists_joined=2)
    ann, bob, cat = (Account(client, n) for n in ("ann", "bob", "cat"))
    _, trip = ann.call("POST", "lists", {"name": "Trip"})
    assert ann.call("PUT", f"lists/{trip['id']}/members/bob", {"role": "editor"})[0] == 202
    status, body = ann.call("PUT", f"lists/{trip['id']}/members/cat", {"role": "editor"})
    _limit(status, body, "Trip", "2 members")
    assert "the most one list can have" in ann.say("share trip with cat")
    assert ann.call("GET", f"lists/{trip['id']}")[1]["invited"][0]["username"] == "bob"
    # bob is in his Inbox and one more list: the limit of 2
    _, own = bob.call("POST", "lists", {"name": "Own"})
    assert own is not None
    _limit(*bob.call("POST", f"invitations/{trip['id']}/accept"), "Leave")
    assert [x["name"] for x in bob.call("GET", "lists")[1]["items"]] == ["Inbox", "Own"]
    assert cat.call("GET", "invitations")[1]["items"] == []
