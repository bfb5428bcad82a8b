"""Calendar routes over the in-memory fakes: export, feeds (hashed, revocable, following
membership) and import (dry run, then through TaskService.create)."""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar

from functions.todo_api.routes.calendar import feed_hash
from tests.functions.todo_api.relay import relay
from tests.functions.todo_api.test_lists import Users

RENT = {
    "title": "Pay rent",
    "due_at": "2027-01-31T09:00:00+01:00",
    "timezone": "Europe/Berlin",
    "priority": "high",
    "tags": ["home"],
    "recurrence": {"frequency": "monthly"},
    "reminders": [{"before": "PT1H"}],
}


@pytest.fixture
def users() -> Users:
    u = Users()
    u.add("ann")
    u.add("bob")
    return u


def summaries(data: bytes) -> list[str]:
    cal: Any = Calendar.from_ical(data)
    return sorted(str(t["SUMMARY"]) for t in cal.walk("VTODO"))


def test_export_all_or_one_list(users: Users) -> None:
    _, home = users.call("ann", "POST", "/lists", {"name": "Home"})
    users.call("ann", "POST", "/tasks", {**RENT, "list_id": home["id"]})
    users.call("ann", "POST", "/tasks", {"title": "Inbox thing"})
    users.call("bob", "POST", "/tasks", {"title": "Not ann's"})
    resp = users.client.get("/api/v1/calendar/export.ics", headers=users.auth["ann"])
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/calendar")
    assert summaries(resp.content) == ["Inbox thing", "Pay rent"]
    resp = users.client.get(
        "/api/v1/calendar/export.ics", params={"list_id": home["id"]}, headers=users.auth["ann"]
    )
    assert summaries(resp.content) == ["Pay rent"]
    assert b"X-WR-CALNAME:Home" in resp.content
    # Not a member: 404, as for any list you cannot see.
    resp = users.client.get(
        "/api/v1/calendar/export.ics", params={"list_id": home["id"]}, headers=users.auth["bob"]
    )
    assert resp.status_code == 404


def test_feed_is_read_only_hashed_follows_membership_and_revocable(users: Users) -> None:
    _, shared = users.call("ann", "POST", "/lists", {"name": "Shared"})
    users.share("ann", shared["id"], "bob", "viewer")
    users.call("ann", "POST", "/tasks", {"title": "milk", "list_id": shared["id"]})
    status, feed = users.call("bob", "POST", "/calendar/subscriptions", {"list_id": shared["id"]})
    assert status == 201, feed
    token = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
    path = f"/api/v1/calendar/feeds/{token}.ics"
    # No bearer token needed; the token itself is never stored.
    resp = users.client.get(path)
    assert resp.status_code == 200
    assert summaries(resp.content) == ["milk"]
    stored = repr([users.dapr.state(n).rows for n in ("kv", "tasks")])
    assert token not in stored
    assert feed_hash(token) in stored
    # Read-only: the path takes GET only.
    assert users.client.post(path).status_code in (404, 405)
    status, listed = users.call("bob", "GET", "/calendar/subscriptions")
    assert [(f["id"], f["url"]) for f in listed["items"]] == [(feed["id"], None)]
    # Bob leaves the list: the feed shows nothing of it any more.
    users.call("bob", "DELETE", f"/lists/{shared['id']}/members/bob")
    assert users.client.get(path).status_code == 404
    status, _ = users.call("bob", "DELETE", f"/calendar/subscriptions/{feed['id']}")
    assert status == 204
    assert users.client.get(path).status_code == 404
    assert users.call("bob", "GET", "/calendar/subscriptions")[1]["items"] == []


def test_revoking_stops_a_feed_of_all_lists(users: Users) -> None:
    users.call("ann", "POST", "/tasks", {"title": "a"})
    _, feed = users.call("ann", "POST", "/calendar/subscriptions", {})
    path = "/api/v1/calendar/feeds/" + feed["url"].rsplit("/", 1)[1]
    assert summaries(users.client.get(path).content) == ["a"]
    assert users.client.get(path.replace(".ics", "x.ics")).status_code == 404
    assert users.call("bob", "DELETE", f"/calendar/subscriptions/{feed['id']}")[0] == 404
    users.call("ann", "DELETE", f"/calendar/subscriptions/{feed['id']}")
    assert users.client.get(path).status_code == 404


def _import(users: Users, who: str, data: bytes, **params: str) -> tuple[int, Any]:
    resp = users.client.post(
        "/api/v1/calendar/import",
        content=data,
        params=params,
        headers={**users.auth[who], "content-type": "text/calendar"},
    )
    return resp.status_code, resp.json()


def test_import_is_a_dry_run_first_then_creates_through_the_service(users: Users) -> None:
    users.call("ann", "POST", "/tasks", RENT)
    done = users.call("ann", "POST", "/tasks", {"title": "Filed"})[1]
    users.call("ann", "POST", f"/tasks/{done['id']}/complete")
    exported = users.client.get("/api/v1/calendar/export.ics", headers=users.auth["ann"]).content
    _, target = users.call("ann", "POST", "/lists", {"name": "Copy"})

    status, report = _import(users, "ann", exported, list_id=target["id"])
    assert status == 200, report
    assert report["dry_run"] is True
    assert report["summary"] == "would import 2 task(s)"
    assert users.call("ann", "GET", "/tasks", params={"list_id": target["id"]})[1]["total"] == 0

    status, report = _import(users, "ann", exported, list_id=target["id"], dry_run="false")
    assert status == 200
    assert report["summary"] == "imported 2 task(s)"
    _, page = users.call("ann", "GET", "/tasks", params={"list_id": target["id"]})
    _, before = users.call("ann", "GET", "/tasks", params={"list_id": done["list_id"]})
    keep = ("title", "priority", "tags", "due_at", "timezone", "recurrence", "reminders", "status")

    def same(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(({k: t[k] for k in keep} for t in items), key=lambda t: t["title"])

    assert same(page["items"]) == same(before["items"])
    assert {t["id"] for t in page["items"]} == {i["id"] for i in report["items"]}
    # Every import is an ordinary create: task.created events went out for each.
    relay(users.client)
    created = [
        m.data
        for m in users.dapr.publisher.messages
        if m.topic == "task-events" and m.data.get("type") == "task.created"
    ]
    assert {e["task_id"] for e in created} >= {i["id"] for i in report["items"]}


def test_import_needs_write_access_and_valid_icalendar(users: Users) -> None:
    _, shared = users.call("ann", "POST", "/lists", {"name": "Shared"})
    users.share("ann", shared["id"], "bob", "viewer")
    data = b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    assert _import(users, "bob", data, list_id=shared["id"])[0] == 403
    assert _import(users, "bob", data, list_id="nope")[0] == 404
    status, body = _import(users, "bob", b"not a calendar")
    assert status == 422
    assert body["error"]["details"][0]["field"] == "body"
    assert _import(users, "bob", data, dry_run="false")[1]["summary"] == "imported 1 task(s)"
