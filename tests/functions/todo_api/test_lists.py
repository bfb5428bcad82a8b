"""Lists and sharing in todo-api over the in-memory Dapr fakes: who may do what, what
each change announces (and to whom), and what a refused request leaves unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from shared.dapr import InvokeResponse
from shared.dapr.fake import FakeDapr
from tests import sharing_matrix
from tests.functions.todo_api.relay import relay
from tests.keys import token_secrets
from tests.sidecar import FROM_SIDECAR

API = "/api/v1"


class Users:
    def __init__(self) -> None:
        self.dapr = FakeDapr(secret_values=token_secrets())
        self.client = TestClient(create_app(dapr=self.dapr))
        self.auth: dict[str, dict[str, str]] = {}
        self.ids: dict[str, str] = {}

        async def audit(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
            return InvokeResponse(200, {"items": [], "next_cursor": None}, {})

        self.dapr.invoker.apps["audit"] = audit

    def add(self, name: str) -> str:
        made = self.client.post(
            f"{API}/auth/register", json={"username": name, "password": "a passphrase"}
        )
        assert made.status_code == 201, made.text
        tok = self.client.post(
            f"{API}/auth/token", json={"username": name, "password": "a passphrase"}
        )
        self.auth[name] = {"authorization": f"Bearer {tok.json()['access_token']}"}
        self.ids[name] = made.json()["id"]
        return name

    def call(
        self, who: str, method: str, path: str, body: Any = None, params: Any = None
    ) -> tuple[int, Any]:
        resp = self.client.request(
            method, API + path, json=body, params=params, headers=self.auth[who]
        )
        return resp.status_code, resp.json() if resp.content else None

    def share(self, owner: str, list_id: str, name: str, role: str) -> tuple[int, Any]:
        """An invitation, and its acceptance: what sharing is now."""
        status, body = self.call(owner, "PUT", f"/lists/{list_id}/members/{name}", {"role": role})
        if status != 202:
            return status, body
        return self.call(name, "POST", f"/invitations/{list_id}/accept")

    def updates_for(self, name: str) -> list[dict[str, Any]]:
        relay(self.client)
        return [
            m.data
            for m in self.dapr.publisher.messages
            if m.topic == "task-updates" and m.partition_key == self.ids[name]
        ]


@pytest.fixture
def users() -> Users:
    return Users()


def test_the_permission_table_holds(users: Users) -> None:
    names = {role: users.add(role) for role in (*sharing_matrix.ROLES, "member")}
    users.add("newcomer")

    def call(role: str, method: str, path: str, body: Any, params: Any) -> tuple[int, Any]:
        return users.call(names[role], method, path, body, params)

    assert sharing_matrix.run(call, names, "newcomer") == []


def test_the_chat_follows_the_same_table(users: Users) -> None:
    names = {role: users.add(role) for role in (*sharing_matrix.ROLES, "member")}
    users.add("newcomer")

    def call(role: str, method: str, path: str, body: Any, params: Any) -> tuple[int, Any]:
        return users.call(names[role], method, path, body, params)

    assert sharing_matrix.run_chat(call, names, "newcomer") == []


def test_search_without_a_filter_covers_every_list_of_the_member_only(users: Users) -> None:
    for name in ("ann", "bob", "eve"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Groceries"})
    users.share("ann", lst["id"], "bob", "viewer")
    _, task = users.call("ann", "POST", "/tasks", {"title": "milk", "list_id": lst["id"]})
    users.call("bob", "POST", "/tasks", {"title": "bob's own"})
    _, bobs = users.call("bob", "GET", "/tasks")
    assert {t["title"] for t in bobs["items"]} == {"milk", "bob's own"}
    _, eves = users.call("eve", "GET", "/tasks")
    assert eves["items"] == []
    assert eves["total"] == 0
    assert users.call("eve", "GET", "/tasks", params={"list_id": lst["id"]})[0] == 404
    assert task["list_id"] == lst["id"]


def test_every_member_hears_every_change_in_their_own_feed(users: Users) -> None:
    for name in ("ann", "bob", "eve"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.share("ann", lst["id"], "bob", "editor")
    before = {n: len(users.updates_for(n)) for n in ("ann", "bob", "eve")}
    _, task = users.call("bob", "POST", "/tasks", {"title": "tickets", "list_id": lst["id"]})
    for name in ("ann", "bob"):
        (copy,) = users.updates_for(name)[before[name] :]
        assert copy["type"] == "task.created"
        assert copy["recipient"] == users.ids[name]
        assert copy["user_id"] == users.ids["bob"]  # the actor
    assert len(users.updates_for("eve")) == before["eve"]
    # The domain event itself goes to task-events once (through the outbox).
    relay(users.client)
    created = [e for e in users.dapr.publisher.on("task-events") if e.get("task_id") == task["id"]]
    assert len(created) == 1
    assert created[0]["recipient"] is None


def test_a_removed_member_hears_their_removal_and_then_nothing(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.share("ann", lst["id"], "bob", "editor")
    assert users.call("ann", "DELETE", f"/lists/{lst['id']}/members/bob")[0] == 204
    last = users.updates_for("bob")[-1]
    assert last["type"] == "list.member_removed"
    assert last["member_id"] == users.ids["bob"]
    heard = len(users.updates_for("bob"))
    users.call("ann", "POST", "/tasks", {"title": "after", "list_id": lst["id"]})
    assert len(users.updates_for("bob")) == heard
    _, bobs_lists = users.call("bob", "GET", "/lists")
    assert [x["name"] for x in bobs_lists["items"]] == ["Inbox"]


def test_a_member_can_leave_but_the_owner_cannot(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.share("ann", lst["id"], "bob", "viewer")
    status, body = users.call("ann", "DELETE", f"/lists/{lst['id']}/members/ann")
    assert status == 409
    assert body["error"]["code"] == "owner"
    assert users.call("bob", "DELETE", f"/lists/{lst['id']}/members/bob")[0] == 204
    assert users.call("bob", "GET", f"/lists/{lst['id']}")[0] == 404
    relay(users.client)
    events = [
        e for e in users.dapr.publisher.on("task-events") if e["type"] == "list.member_removed"
    ]
    assert events[-1]["user_id"] == events[-1]["member_id"] == users.ids["bob"]


def test_sharing_refuses_what_makes_no_sense_and_changes_nothing(users: Users) -> None:
    users.add("ann")
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    path = f"/lists/{lst['id']}/members"
    status, body = users.call("ann", "PUT", f"{path}/nobody", {"role": "editor"})
    assert status == 422
    assert body["error"]["details"][0]["field"] == "username"
    assert users.call("ann", "PUT", f"{path}/ann", {"role": "viewer"})[0] == 409
    status, body = users.call("ann", "PUT", f"{path}/ann", {"role": "owner"})
    assert status == 422  # there is one owner; ownership is not handed out by sharing
    assert users.call("ann", "GET", f"/lists/{lst['id']}")[1]["version"] == 1


def test_sharing_twice_with_the_same_role_is_harmless(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    first = users.share("ann", lst["id"], "bob", "editor")
    again = users.share("ann", lst["id"], "bob", "editor")
    assert (first[0], again[0]) == (200, 200)
    assert first[1]["version"] == again[1]["version"]
    relay(users.client)
    added = [e for e in users.dapr.publisher.on("task-events") if e["type"] == "list.member_added"]
    assert len(added) == 1


def test_deleting_a_list_deletes_its_tasks_with_their_events(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.share("ann", lst["id"], "bob", "editor")
    ids = [
        users.call("bob", "POST", "/tasks", {"title": t, "list_id": lst["id"]})[1]["id"]
        for t in "abc"
    ]
    assert users.call("ann", "DELETE", f"/lists/{lst['id']}")[0] == 204
    for who in ("ann", "bob"):
        assert users.call(who, "GET", f"/lists/{lst['id']}")[0] == 404
        assert all(users.call(who, "GET", f"/tasks/{i}")[0] == 404 for i in ids)
    relay(users.client)
    deleted = {
        e["task_id"] for e in users.dapr.publisher.on("task-events") if e["type"] == "task.deleted"
    }
    assert deleted == set(ids)
    _, me = users.call("ann", "GET", "/me")
    status, body = users.call("ann", "DELETE", f"/lists/{me['default_list']}")
    assert status == 409
    assert body["error"]["code"] == "default_list"


def test_a_move_is_heard_in_both_lists(users: Users) -> None:
    for name in ("ann", "bob", "cat"):
        users.add(name)
    _, one = users.call("ann", "POST", "/lists", {"name": "One"})
    _, two = users.call("ann", "POST", "/lists", {"name": "Two"})
    users.share("ann", one["id"], "bob", "viewer")
    users.share("ann", two["id"], "cat", "viewer")
    _, task = users.call("ann", "POST", "/tasks", {"title": "t", "list_id": one["id"]})
    heard = {n: len(users.updates_for(n)) for n in ("bob", "cat")}
    status, moved = users.call("ann", "PATCH", f"/tasks/{task['id']}", {"list_id": two["id"]})
    assert status == 200
    assert moved["list_id"] == two["id"]
    for name in ("bob", "cat"):  # bob sees it leave, cat sees it arrive
        (update,) = users.updates_for(name)[heard[name] :]
        assert update["type"] == "task.updated"
        assert update["changed"] == ["list_id"]
    assert users.call("bob", "GET", f"/tasks/{task['id']}")[0] == 404
    assert users.call("cat", "GET", f"/tasks/{task['id']}")[0] == 200
    assert [t["id"] for t in users.call("bob", "GET", "/tasks")[1]["items"]] == []


def test_the_audit_relay_asks_for_the_callers_lists(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.share("ann", lst["id"], "bob", "viewer")
    asked: list[Any] = []

    async def audit(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        asked.append(path)
        return InvokeResponse(200, {"items": [], "next_cursor": None}, {})

    users.dapr.invoker.apps["audit"] = audit
    assert users.call("bob", "GET", "/audit")[0] == 200
    _, me = users.call("bob", "GET", "/me")
    assert f"list_ids={'%2C'.join(sorted([me['default_list'], lst['id']]))}" in asked[0]
    assert f"user_id={users.ids['bob']}" in asked[0]


def test_reminders_read_membership_through_the_internal_route(users: Users) -> None:
    users.add("ann")
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    headers = {"dapr-caller-app-id": "reminders", **FROM_SIDECAR}
    got = users.client.get(f"/internal/v1/lists/{lst['id']}", headers=headers)
    assert got.status_code == 200
    assert got.json()["members"][0]["username"] == "ann"
    assert users.client.get("/internal/v1/lists/nope", headers=headers).status_code == 404
    stranger = users.client.get(
        f"/internal/v1/lists/{lst['id']}", headers={"dapr-caller-app-id": "audit", **FROM_SIDECAR}
    )
    assert stranger.status_code == 403
    forged = users.client.get(
        f"/internal/v1/lists/{lst['id']}", headers={"dapr-caller-app-id": "reminders"}
    )
    assert forged.status_code == 401


def test_a_list_that_lost_a_task_still_searches_and_deletes_cleanly(users: Users) -> None:
    """Tombstones must not pass for tasks when a list is read whole (a cold search
    cache, or deleting the list)."""
    users.add("ann")
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    gone, kept = (
        users.call("ann", "POST", "/tasks", {"title": t, "list_id": lst["id"]})[1] for t in "ab"
    )
    assert users.call("ann", "DELETE", f"/tasks/{gone['id']}")[0] == 204
    cold = TestClient(create_app(dapr=users.dapr))  # another replica: nothing cached
    page = cold.get(f"{API}/tasks", params={"list_id": lst["id"]}, headers=users.auth["ann"])
    assert page.status_code == 200
    assert [t["id"] for t in page.json()["items"]] == [kept["id"]]
    assert users.call("ann", "DELETE", f"/lists/{lst['id']}")[0] == 204
    assert users.call("ann", "GET", f"/tasks/{kept['id']}")[0] == 404


def test_an_account_from_before_sharing_keeps_working_and_is_upgraded(users: Users) -> None:
    """Rows written before lists could be shared: the user's `lists`, and a default list
    whose members were `{id: role}`. Their owner still hears their changes live, sees
    the list, and can share it."""
    users.add("ann")
    users.add("bob")
    kv = users.dapr.state("kv")
    ann = users.ids["ann"]
    _, me = users.call("ann", "GET", "/me")
    inbox = me["default_list"]
    user_row = kv.rows[f"userid|{ann}"][0]
    legacy_user = {k: v for k, v in user_row.items() if k != "memberships"} | {"lists": [inbox]}
    legacy_list = {
        "id": inbox,
        "name": "Inbox",
        "owner_id": ann,
        "members": {ann: "owner"},
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    asyncio.run(kv.save(f"userid|{ann}", legacy_user))
    asyncio.run(kv.save(f"list|{inbox}", legacy_list))

    heard = len(users.updates_for("ann"))
    assert users.call("ann", "POST", "/tasks", {"title": "still mine"})[0] == 201
    assert len(users.updates_for("ann")) == heard + 1  # the live feed knows the owner
    _, lists = users.call("ann", "GET", "/lists")
    assert [(x["name"], x["role"], x["default"]) for x in lists["items"]] == [
        ("Inbox", "owner", True)
    ]
    assert kv.rows[f"list|{inbox}"][0]["kind"] == "list"  # stored in today's shape
    assert users.share("ann", inbox, "bob", "viewer")[0] == 200
    _, bobs = users.call("bob", "GET", "/tasks", params={"list_id": inbox})
    assert [t["title"] for t in bobs["items"]] == ["still mine"]


def test_an_invitation_shows_nothing_of_the_list_until_it_is_accepted(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.call("ann", "POST", "/tasks", {"title": "tickets", "list_id": lst["id"]})
    heard = len(users.updates_for("bob"))
    status, body = users.call("ann", "PUT", f"/lists/{lst['id']}/members/bob", {"role": "editor"})
    assert status == 202
    assert [m["username"] for m in body["members"]] == ["ann"]
    assert [(m["username"], m["role"]) for m in body["invited"]] == [("bob", "editor")]
    # bob hears of the invitation only, and sees nothing of the list
    (invited,) = users.updates_for("bob")[heard:]
    assert invited["type"] == "list.member_invited"
    assert invited["member_id"] == users.ids["bob"]
    users.call("ann", "POST", "/tasks", {"title": "hotel", "list_id": lst["id"]})
    assert len(users.updates_for("bob")) == heard + 1
    assert users.call("bob", "GET", f"/lists/{lst['id']}")[0] == 404
    assert users.call("bob", "GET", "/tasks", params={"list_id": lst["id"]})[0] == 404
    assert [t["title"] for t in users.call("bob", "GET", "/tasks")[1]["items"]] == []
    assert users.call("bob", "POST", "/tasks", {"title": "x", "list_id": lst["id"]})[0] == 404
    _, pending = users.call("bob", "GET", "/invitations")
    assert [(i["list_name"], i["role"], i["by_name"]) for i in pending["items"]] == [
        ("Trip", "editor", "ann")
    ]
    # accepting makes him a member with the role offered
    status, joined = users.call("bob", "POST", f"/invitations/{lst['id']}/accept")
    assert status == 200
    assert joined["role"] == "editor"
    assert joined["invited"] == []
    titles = {t["title"] for t in users.call("bob", "GET", "/tasks")[1]["items"]}
    assert titles == {"tickets", "hotel"}
    assert users.call("bob", "GET", "/invitations")[1]["items"] == []
    assert users.call("bob", "POST", f"/invitations/{lst['id']}/accept")[0] == 200


def test_only_the_invitee_can_accept_and_only_what_was_offered(users: Users) -> None:
    for name in ("ann", "bob", "eve"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    users.call("ann", "PUT", f"/lists/{lst['id']}/members/bob", {"role": "viewer"})
    assert users.call("eve", "POST", f"/invitations/{lst['id']}/accept")[0] == 404
    assert users.call("eve", "GET", f"/lists/{lst['id']}")[0] == 404
    _, joined = users.call("bob", "POST", f"/invitations/{lst['id']}/accept")
    assert joined["role"] == "viewer"


def test_a_declined_or_withdrawn_invitation_leaves_nothing(users: Users) -> None:
    for name in ("ann", "bob"):
        users.add(name)
    _, lst = users.call("ann", "POST", "/lists", {"name": "Trip"})
    path = f"/lists/{lst['id']}/members/bob"
    users.call("ann", "PUT", path, {"role": "editor"})
    assert users.call("bob", "POST", f"/invitations/{lst['id']}/decline")[0] == 204
    assert users.call("ann", "GET", f"/lists/{lst['id']}")[1]["invited"] == []
    assert users.call("bob", "POST", f"/invitations/{lst['id']}/accept")[0] == 404
    relay(users.client)
    types = [e["type"] for e in users.dapr.publisher.on("task-events")]
    assert types.count("list.member_invited") == types.count("list.invitation_declined") == 1
    # the owner withdraws one too
    users.call("ann", "PUT", path, {"role": "editor"})
    assert users.call("ann", "DELETE", path)[0] == 204
    assert users.call("bob", "GET", "/invitations")[1]["items"] == []
    assert users.call("bob", "POST", f"/invitations/{lst['id']}/accept")[0] == 404


def test_an_invitee_can_block_further_invitations(users: Users) -> None:
    for name in ("ann", "bob", "cat"):
        users.add(name)
    _, one = users.call("ann", "POST", "/lists", {"name": "One"})
    _, two = users.call("ann", "POST", "/lists", {"name": "Two"})
    users.call("ann", "PUT", f"/lists/{one['id']}/members/bob", {"role": "editor"})
    decline = f"/invitations/{one['id']}/decline"
    assert users.call("bob", "POST", decline, params={"block": "true"})[0] == 204
    status, body = users.call("ann", "PUT", f"/lists/{two['id']}/members/bob", {"role": "viewer"})
    assert status == 409
    assert body["error"]["code"] == "blocked"
    assert users.call("ann", "GET", f"/lists/{two['id']}")[1]["invited"] == []
    assert users.call("bob", "GET", "/invitations")[1]["items"] == []
    # others still can; and bob can lift the block
    _, three = users.call("cat", "POST", "/lists", {"name": "Three"})
    assert (
        users.call("cat", "PUT", f"/lists/{three['id']}/members/bob", {"role": "viewer"})[0] == 202
    )
    assert users.call("bob", "DELETE", "/blocks/ann")[0] == 204
    assert users.call("ann", "PUT", f"/lists/{two['id']}/members/bob", {"role": "viewer"})[0] == 202
    assert users.call("bob", "PUT", "/blocks/ann")[0] == 204
    assert [i["by_name"] for i in users.call("bob", "GET", "/invitations")[1]["items"]] == ["cat"]
