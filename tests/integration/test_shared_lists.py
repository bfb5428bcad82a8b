"""Shared lists on the real stack: the permission table, live fan-out to every device
of every member (and none after removal), reminders, audit and recurrence by
membership."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from functions.todo_api.outbox import Outbox
from shared.dapr.sidecar import DaprSidecar
from shared.events import ListSnapshot, ListUpdated
from shared.topics import Topic
from stack.services import Stack
from tests import sharing_matrix
from tests.integration.api import User, feed, poll

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.url("todo-api")


def _share(owner: User, name: str, *members: tuple[User, str]) -> dict[str, Any]:
    made = owner.http.post("/lists", json={"name": name})
    assert made.status_code == 201, made.text
    for member, role in members:
        resp = owner.http.put(
            f"/lists/{made.json()['id']}/members/{member.name}", json={"role": role}
        )
        assert resp.status_code == 202, resp.text
        member.accept(made.json()["id"])
    body: dict[str, Any] = made.json()
    return body


def _notified(user: User) -> list[str] | None:
    """Tasks of the user's delivered reminders; None while there are none (or the
    relay answers 503 under load: ask again)."""
    resp = user.http.get("/notifications")
    if resp.status_code != 200:
        return None
    return [n["task_id"] for n in resp.json()["items"]] or None


def _ws(stack: Stack, user: User) -> Any:
    return feed(stack.config.url("realtime"), user)


async def _events(ws: ClientConnection, quiet: float) -> list[dict[str, Any]]:
    """Every event frame until nothing arrives for `quiet` seconds."""
    got: list[dict[str, Any]] = []
    while True:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), quiet))
        except TimeoutError:
            return got
        if message["type"] == "event":
            got.append(message["event"])


async def _until(
    ws: ClientConnection,
    match: Any,
    timeout: float = 15,  # noqa: ASYNC109 - a deadline across the frames it reads past
) -> list[dict[str, Any]]:
    """Event frames up to and including the first that matches."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message["type"] == "event":
            got.append(message["event"])
            if match(message["event"]):
                return got


def test_the_permission_table_holds_on_the_real_stack(base: str) -> None:
    users = {role: User(base) for role in (*sharing_matrix.ROLES, "member")}
    newcomer = User(base)

    def call(role: str, method: str, path: str, body: Any, params: Any) -> tuple[int, Any]:
        resp = users[role].http.request(method, path, json=body, params=params)
        return resp.status_code, resp.json() if resp.content else None

    names = {role: u.name for role, u in users.items()}
    assert sharing_matrix.run(call, names, newcomer.name) == []
    assert sharing_matrix.run_chat(call, names, newcomer.name) == []


async def test_a_change_by_either_member_reaches_all_four_devices_until_removal(
    stack: Stack, base: str
) -> None:
    ann, bob = User(base), User(base)
    shared = _share(ann, "Trip", (bob, "editor"))
    async with (
        _ws(stack, ann) as ann1,
        _ws(stack, ann) as ann2,
        _ws(stack, bob) as bob1,
        _ws(stack, bob) as bob2,
    ):
        devices = (ann1, ann2, bob1, bob2)
        for ws in devices:
            assert json.loads(await ws.recv())["type"] == "hello"
        by_ann = await asyncio.to_thread(ann.create, title="tickets", list_id=shared["id"])
        by_bob = await asyncio.to_thread(bob.create, title="passports", list_id=shared["id"])
        for ws in devices:
            seen = await _until(ws, lambda e: e.get("task_id") == by_bob["id"])
            created = [e["task_id"] for e in seen if e["type"] == "task.created"]
            assert created == [by_ann["id"], by_bob["id"]]  # once each, in order

        removed = await asyncio.to_thread(
            ann.http.delete, f"/lists/{shared['id']}/members/{bob.name}"
        )
        assert removed.status_code == 204
        for ws in (bob1, bob2):  # bob's devices hear that they are out...
            (last,) = await _until(ws, lambda e: e["type"] == "list.member_removed")
            assert last["member_id"] == bob.id
        for i in range(5):
            await asyncio.to_thread(
                ann.http.patch, f"/tasks/{by_ann['id']}", json={"title": f"tickets {i}"}
            )
        for ws in (ann1, ann2):
            titles = [
                e["task"]["title"]
                for e in await _until(ws, lambda e: e.get("task", {}).get("title") == "tickets 4")
                if e["type"] == "task.updated"
            ]
            assert titles == [f"tickets {i}" for i in range(5)]
        for ws in (bob1, bob2):  # ...and then nothing of the list
            assert [e for e in await _events(ws, 3) if e["list_id"] == shared["id"]] == []


def test_the_next_occurrence_stays_in_the_list_for_every_member(base: str) -> None:
    ann, bob = User(base), User(base)
    shared = _share(ann, "Chores", (bob, "editor"))
    due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    task = ann.create(
        title="water plants",
        list_id=shared["id"],
        due_at=due,
        recurrence={"frequency": "daily", "interval": 1},
    )
    assert bob.http.post(f"/tasks/{task['id']}/complete").status_code == 200

    def next_one(user: User) -> list[dict[str, Any]] | None:
        items = user.search(list_id=shared["id"], status="open")["items"]
        return [t for t in items if t["occurrence"] == 2] or None

    for user in (ann, bob):
        found = poll(partial(next_one, user), timeout=60)
        assert found
        assert found[0]["list_id"] == shared["id"]


def test_the_audit_log_follows_membership(base: str) -> None:
    ann, bob, eve = User(base), User(base), User(base)
    shared = _share(ann, "Work", (bob, "viewer"))
    task = ann.create(title="report", list_id=shared["id"])

    def types(user: User, **params: Any) -> list[str] | None:
        resp = user.http.get("/audit", params={"task_id": task["id"], **params})
        if resp.status_code != 200:
            return None
        return [e["type"] for e in resp.json()["items"]] or None

    # ann's event, which bob sees; it comes through Dapr's outbox, which lags in a full run.
    assert poll(lambda: types(bob), timeout=180) == ["task.created"]
    assert eve.http.get("/audit", params={"task_id": task["id"]}).status_code == 404
    everything = eve.http.get("/audit", params={"limit": 500}).json()["items"]
    assert all(e["list_id"] != shared["id"] for e in everything)

    def membership(user: User) -> list[str] | None:
        items = user.http.get("/audit", params={"limit": 500}).json()["items"]
        found = [
            e["type"]
            for e in items
            if e["list_id"] == shared["id"] and e["type"].startswith("list.")
        ]
        return found if len(found) >= 3 else None

    # Membership changes are events too, audited in the list's log.
    assert poll(lambda: membership(bob), timeout=180) == [
        "list.created",
        "list.member_invited",
        "list.member_added",
    ]
    assert bob.http.delete(f"/lists/{shared['id']}/members/{bob.name}").status_code == 204
    assert bob.http.get("/audit", params={"task_id": task["id"]}).status_code == 404


async def test_a_member_removed_before_their_reminder_fires_is_not_reminded(
    stack: Stack, base: str
) -> None:
    ann, bob = User(base), User(base)
    shared = _share(ann, "Errands", (bob, "editor"))
    at = (datetime.now(UTC) + timedelta(seconds=8)).isoformat()
    mine = bob.create(title="bob's reminder", list_id=shared["id"], reminders=[{"at": at}])
    control = bob.create(title="bob's own", reminders=[{"at": at}])  # his own list: fires
    async with _ws(stack, bob) as bobs:
        assert json.loads(await bobs.recv())["type"] == "hello"
        removed = await asyncio.to_thread(
            ann.http.delete, f"/lists/{shared['id']}/members/{bob.name}"
        )
        assert removed.status_code == 204
        seen = await _until(
            bobs, lambda e: e["type"] == "reminder.due" and e["task_id"] == control["id"], 40
        )
        seen += await _events(bobs, 3)
    assert [e["task_id"] for e in seen if e["type"] == "reminder.due"] == [control["id"]]

    assert poll(lambda: _notified(bob), timeout=10) == [control["id"]]
    assert mine["id"] not in (_notified(bob) or [])
    assert ann.http.get("/notifications").json()["items"] == []  # not the creator's: nobody's


async def test_a_list_can_remind_every_member(stack: Stack, base: str) -> None:
    ann, bob, cat = User(base), User(base), User(base)
    shared = _share(ann, "Family", (bob, "editor"), (cat, "viewer"))
    assert ann.http.patch(f"/lists/{shared['id']}", json={"remind": "members"}).status_code == 200
    at = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    task = bob.create(title="dinner at grandma's", list_id=shared["id"], reminders=[{"at": at}])

    for user in (ann, bob, cat):
        assert poll(partial(_notified, user), timeout=40) == [task["id"]]


def test_concurrent_sharing_with_one_user_loses_no_membership(base: str) -> None:
    """Ten owners invite bob at the same moment, and he accepts: each change rewrites
    bob's user row, so they race on its ETag and must retry, not overwrite one another."""
    bob = User(base)
    owners = [User(base) for _ in range(10)]
    made = [o.http.post("/lists", json={"name": f"race {i}"}).json() for i, o in enumerate(owners)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(
            pool.map(
                lambda pair: (
                    pair[0]
                    .http.put(f"/lists/{pair[1]['id']}/members/{bob.name}", json={"role": "viewer"})
                    .status_code
                ),
                zip(owners, made, strict=True),
            )
        )
    assert statuses == [202] * 10
    pending = {i["list_id"] for i in bob.http.get("/invitations").json()["items"]}
    assert pending == {m["id"] for m in made}
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(bob.accept, sorted(pending)))
    mine = {x["id"] for x in bob.http.get("/lists").json()["items"]}
    assert {m["id"] for m in made} <= mine
    for owner, lst in zip(owners, made, strict=True):
        members = owner.http.get(f"/lists/{lst['id']}").json()["members"]
        assert bob.name in {m["username"] for m in members}


async def test_an_event_a_crash_left_pending_is_published_by_the_sweeper(
    base: str, stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    """todo-api's own outbox on the real store: a pending row (what a crash between
    commit and publish leaves) is found by the sweeper's query, published keyed by the
    actor, audited, and removed."""
    reader = topic_reader(Topic.TASK_EVENTS.value)
    ann = User(base)
    inbox = ann.http.get(f"/lists/{ann.default_list}").json()
    inbox.pop("role")
    renamed = ListSnapshot.model_validate(inbox | {"name": "Inbox (swept)"})
    event = ListUpdated(
        user_id=ann.id, list_id=ann.default_list, tasklist=renamed, changed=["name"]
    )
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    todo_api = sidecars["todo-api"]
    kv = todo_api.state("kv")
    crashed = Outbox({"kv": kv}, kv, todo_api.publisher, owner="a-replica-that-crashed")
    row, _ = crashed.pending("kv", event, long_ago, members=[ann.id])
    await kv.transact([row])

    found = reader.wait_for(lambda v: v.get("id") == str(event.event_id), timeout=90)
    assert len(found) == 1
    assert found[0].key == ann.id.encode()

    async def cleared() -> bool:  # the row goes right after the publishes
        for _ in range(50):
            if await kv.get(f"outbox|{event.event_id}") is None:
                return True
            await asyncio.sleep(0.2)
        return False

    assert await cleared()

    def audited() -> list[str] | None:
        items = ann.http.get("/audit", params={"limit": 500}).json()["items"]
        return [e["event_id"] for e in items if e["event_id"] == str(event.event_id)] or None

    assert poll(audited, timeout=30) == [str(event.event_id)]
