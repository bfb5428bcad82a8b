"""todo-api on the real stack: every route, isolation between users, one event per write."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from shared.events import parse_event
from shared.topics import Topic
from stack.services import Stack
from tests.integration.api import User

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.url("todo-api")


def _events_of(
    reader: Any, user: User, settle: float = 4.0, kind: str = "task."
) -> list[dict[str, Any]]:
    reader.poll(settle)
    return [
        r.value["data"]
        for r in reader.records
        if r.value["data"].get("user_id") == user.id and r.value["data"]["type"].startswith(kind)
    ]


def _wait_events(reader: Any, user: User, count: int, timeout: float = 240) -> list[dict[str, Any]]:
    """Returns as soon as `count` arrived; Dapr's outbox can lag minutes in a full run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = _events_of(reader, user, 0.5)
        if len(mine) >= count:
            break
    return _events_of(reader, user)  # and nothing more arrives


def test_every_route_for_its_owner_with_one_event_per_write(base: str, topic_reader: Any) -> None:
    reader = topic_reader(Topic.TASK_EVENTS.value)
    ann = User(base, timezone="Europe/Berlin")
    me = ann.http.get("/me").json()
    assert me["username"] == ann.name
    assert me["timezone"] == "Europe/Berlin"

    made = ann.http.post(
        "/tasks",
        json={
            "title": "Pay rent",
            "description": "transfer to landlord",
            "priority": "high",
            "tags": ["#Home", "money"],
            "due_at": "2027-01-31T09:00:00+01:00",
            "recurrence": {"frequency": "monthly"},
            "reminders": [{"before": "PT1H"}],
        },
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert made.headers["location"] == f"/api/v1/tasks/{task['id']}"
    assert task["tags"] == ["home", "money"]
    assert task["timezone"] == "Europe/Berlin"
    assert task["status"] == "open"
    assert task["version"] == 1
    assert task["overdue"] is False
    assert task["series_id"] == task["id"]
    assert task["occurrence"] == 1

    got = ann.http.get(f"/tasks/{task['id']}")
    assert got.status_code == 200
    assert got.headers["etag"] == made.headers["etag"]

    patched = ann.http.patch(
        f"/tasks/{task['id']}",
        json={"title": "Pay the rent"},
        headers={"if-match": got.headers["etag"]},
    )
    assert patched.status_code == 200
    assert patched.json()["version"] == 2
    assert patched.headers["etag"] != got.headers["etag"]
    stale = ann.http.patch(
        f"/tasks/{task['id']}", json={"title": "stale"}, headers={"if-match": got.headers["etag"]}
    )
    assert stale.status_code == 412

    done = ann.http.post(f"/tasks/{task['id']}/complete")
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    again = ann.http.post(f"/tasks/{task['id']}/complete")
    assert again.status_code == 200
    assert again.json()["version"] == done.json()["version"]
    reopened = ann.http.post(f"/tasks/{task['id']}/reopen")
    assert reopened.json()["status"] == "open"
    assert reopened.json()["completed_at"] is None

    # The completion already made the next occurrence (recurring, on the fast path).
    deadline = time.monotonic() + 30
    while ann.search(q="RENT")["total"] < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ann.search(q="RENT")["total"] == 2
    assert ann.http.delete(f"/tasks/{task['id']}").status_code == 204
    assert ann.http.get(f"/tasks/{task['id']}").status_code == 404
    assert ann.http.delete(f"/tasks/{task['id']}").status_code == 404
    # The completion made the next occurrence: created by recurring, in ann's list.
    deadline = time.monotonic() + 45
    while (nxt := ann.search())["total"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [t["occurrence"] for t in nxt["items"]] == [2]
    assert nxt["items"][0]["due_at"].startswith("2027-02-28T08:00:00")

    events = _wait_events(reader, ann, 6)
    # Dapr's outbox does not keep the partition key, so order by when they happened.
    mine = sorted((e for e in events if e["task_id"] == task["id"]), key=lambda e: e["occurred_at"])
    assert [e["type"] for e in mine] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]
    assert [(e["type"], e["task_id"]) for e in events if e["task_id"] != task["id"]] == [
        ("task.created", nxt["items"][0]["id"])
    ]
    assert all(parse_event(e).user_id == ann.id for e in events)
    # Registration made the default list, announced once (by todo-api's kv outbox).
    (inbox,) = _events_of(reader, ann, 0.5, kind="list.")
    assert inbox["type"] == "list.created"
    assert inbox["list_id"] == me["default_list"]

    assert ann.http.get("/config").json()["websocket_url"]
    spec = ann.http.get("/openapi.json").json()
    assert "/api/v1/tasks/{task_id}/complete" in spec["paths"]


def test_search_filter_sort_and_pages(base: str) -> None:
    bob = User(base)
    titles = ["alpha", "Bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    prios = ["low", "medium", "high", "urgent"]
    made = [
        bob.create(
            title=t,
            priority=prios[i % 4],
            tags=["even" if i % 2 == 0 else "odd"],
            due_at=f"2030-01-{10 + i:02d}T12:00:00Z",
        )
        for i, t in enumerate(titles)
    ]
    bob.http.post(f"/tasks/{made[0]['id']}/complete")
    bob.create(title="overdue one", due_at="2020-01-01T00:00:00Z", tags=["odd", "late"])

    assert bob.search()["total"] == 9
    assert bob.search(status="completed")["total"] == 1
    assert bob.search(status="open")["total"] == 8
    assert bob.search(q="ALPH")["items"][0]["title"] == "alpha"
    assert {t["priority"] for t in bob.search(priority="high,urgent")["items"]} == {
        "high",
        "urgent",
    }
    assert bob.search(tag=["odd", "late"])["total"] == 1
    assert bob.search(overdue="true")["items"][0]["title"] == "overdue one"
    assert bob.search(due_after="2030-01-15T00:00:00Z")["total"] == 3
    assert (
        bob.search(due_before="2030-01-11T00:00:00Z", due_after="2029-12-31T00:00:00Z")["total"]
        == 1
    )
    by_title = [t["title"] for t in bob.search(sort="title")["items"]]
    assert by_title == sorted(by_title, key=str.casefold)
    by_prio = [t["priority"] for t in bob.search(sort="-priority,title")["items"]]
    assert by_prio[0] == "urgent"
    assert by_prio[-1] == "low"
    due_desc = [t["due_at"] for t in bob.search(sort="-due_at")["items"]]
    assert due_desc == sorted(due_desc, reverse=True)
    pages = bob.all_ids(sort="due_at")
    assert len(pages) == 9
    assert len(set(pages)) == 9
    bad = bob.http.get("/tasks", params={"sort": "colour"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"].startswith("sort")
    assert bob.http.get("/tasks", params={"cursor": "garbage"}).status_code == 422
    assert bob.http.get("/tasks", params={"limit": 501}).status_code == 422


def test_users_never_see_each_other(base: str, topic_reader: Any) -> None:
    reader = topic_reader(Topic.TASK_EVENTS.value)
    carol, dave = User(base), User(base)
    task = carol.create(title="carol's secret", tags=["private"])
    tid, etag = task["id"], task["_etag"]
    attempts = [
        dave.http.get(f"/tasks/{tid}"),
        dave.http.patch(f"/tasks/{tid}", json={"title": "mine now"}),
        dave.http.patch(f"/tasks/{tid}", json={"title": "mine now"}, headers={"if-match": etag}),
        dave.http.delete(f"/tasks/{tid}"),
        dave.http.post(f"/tasks/{tid}/complete"),
        dave.http.post(f"/tasks/{tid}/reopen"),
    ]
    assert [r.status_code for r in attempts] == [404] * 6
    assert all(r.json()["error"]["code"] == "not_found" for r in attempts)
    for params in ({}, {"q": "secret"}, {"tag": "private"}, {"status": "all"}):
        assert dave.search(**params)["total"] == 0
    still = carol.http.get(f"/tasks/{tid}")
    assert still.json()["title"] == "carol's secret"
    assert still.headers["etag"] == etag
    assert _events_of(reader, dave) == []
    assert [e["type"] for e in _wait_events(reader, carol, 1)] == ["task.created"]


def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    base: str, topic_reader: Any
) -> None:
    reader = topic_reader(Topic.TASK_EVENTS.value)
    erin = User(base)
    task = erin.create(title="keep me")
    cases: list[tuple[Any, str]] = [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 42}, "title"),
        ({"title": "ok", "priority": "sky-high"}, "priority"),
        ({"title": "ok", "colour": "red"}, "colour"),
        ({"title": "ok", "timezone": "Mars/Olympus"}, "timezone"),
        ({"title": "ok", "recurrence": {"rrule": "FREQ=SECONDLY"}}, "recurrence"),
        ({"title": "ok", "due_at": "tomorrow"}, "due_at"),
        ({"title": "ok", "due_at": "2027-01-01T10:00:00"}, "due_at"),  # no offset
        ({"title": "ok", "reminders": [{"before": "PT15M"}]}, "body"),  # before needs due_at
        ({"title": "ok", "tags": ["not a tag!"]}, "tags"),
    ]
    for body, field in cases:
        resp = erin.http.post("/tasks", json=body)
        assert resp.status_code == 422, (body, resp.text)
        fields = [d["field"] for d in resp.json()["error"]["details"]]
        assert any(f.startswith(field) for f in fields) or field == "body", (body, fields)
    raw = erin.http.post(
        "/tasks", content=b'{"title": ', headers={"content-type": "application/json"}
    )
    assert raw.status_code == 422
    assert raw.json()["error"]["details"][0]["field"] == "body"
    assert erin.http.post("/tasks", json=["a list"]).status_code == 422
    bad_patch = erin.http.patch(f"/tasks/{task['id']}", json={"priority": None})
    assert bad_patch.status_code == 422
    assert erin.search()["total"] == 1
    assert erin.http.get(f"/tasks/{task['id']}").json()["version"] == 1
    assert [e["type"] for e in _wait_events(reader, erin, 1)] == ["task.created"]


def test_auth_is_required_and_checked(base: str) -> None:
    anon = httpx.Client(base_url=base + "/api/v1", timeout=10)
    assert anon.get("/tasks").status_code == 401
    assert anon.get("/tasks", headers={"authorization": "Bearer not.a.jwt"}).status_code == 401
    frank = User(base)
    forged = frank.token[:-4] + ("AAAA" if not frank.token.endswith("AAAA") else "BBBB")
    assert anon.get("/tasks", headers={"authorization": f"Bearer {forged}"}).status_code == 401
    taken = anon.post(
        "/auth/register", json={"username": frank.name.upper(), "password": "another passphrase"}
    )
    assert taken.status_code == 409
    wrong = anon.post("/auth/token", json={"username": frank.name, "password": "wrong pass"})
    assert wrong.status_code == 401
    nobody = anon.post("/auth/token", json={"username": "nobody-here", "password": "whatever1"})
    assert nobody.status_code == 401
    assert (
        anon.post("/auth/register", json={"username": "x", "password": "short"}).status_code == 422
    )


async def test_fifty_concurrent_patches_with_one_etag(base: str, topic_reader: Any) -> None:
    reader = topic_reader(Topic.TASK_EVENTS.value)
    gina = User(base)
    task = gina.create(title="contested")
    async with httpx.AsyncClient(
        base_url=base + "/api/v1", timeout=30, headers={"authorization": f"Bearer {gina.token}"}
    ) as client:
        answers = await asyncio.gather(
            *[
                client.patch(
                    f"/tasks/{task['id']}",
                    json={"title": f"writer {i}"},
                    headers={"if-match": task["_etag"]},
                )
                for i in range(50)
            ]
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [412] * 49, codes
    winner = next(r.json()["title"] for r in answers if r.status_code == 200)
    assert gina.http.get(f"/tasks/{task['id']}").json()["title"] == winner
    events = _wait_events(reader, gina, 2)
    assert sorted(e["type"] for e in events) == ["task.created", "task.updated"]
