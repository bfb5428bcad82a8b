"""Calendars and the recurrence preview on the real stack: export parsed back with
icalendar, export -> import into a new list gives the same tasks (through the normal
write path: events reach the audit log), a private feed that works without a bearer
token through the edge and stops when revoked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from icalendar import Calendar

from stack.services import Stack
from tests.integration.api import User, poll

pytestmark = pytest.mark.integration

KEEP = (
    "title",
    "description",
    "priority",
    "tags",
    "due_at",
    "timezone",
    "recurrence",
    "reminders",
    "status",
)


@pytest.fixture(scope="module")
def base(stack: Stack) -> str:
    return stack.config.url("todo-api")


def _same(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: t[k] for k in KEEP} for t in items), key=lambda t: t["title"])


def test_export_then_import_into_a_new_list_gives_the_same_tasks(base: str) -> None:
    ann = User(base, timezone="Europe/Berlin")
    home = ann.http.post("/lists", json={"name": "Home"}).json()["id"]
    ann.create(
        list_id=home,
        title="Pay rent",
        description="to the landlord",
        priority="high",
        tags=["home", "money"],
        due_at="2027-01-31T09:00:00+01:00",
        recurrence={"frequency": "monthly", "until": "2027-06-30T21:59:59Z"},
        reminders=[{"before": "PT1H"}, {"at": "2027-01-30T10:00:00Z"}],
    )
    ann.create(
        list_id=home,
        title="Standup",
        due_at="2026-12-07T09:30:00-05:00",
        timezone="America/New_York",
        recurrence={"rrule": "FREQ=WEEKLY;BYDAY=MO,WE", "basis": "completion"},
    )
    done = ann.create(list_id=home, title="Filed taxes", priority="low")
    assert ann.http.post(f"/tasks/{done['id']}/complete").status_code == 200

    resp = ann.http.get("/calendar/export.ics", params={"list_id": home})
    assert resp.status_code == 200, resp.text
    cal: Any = Calendar.from_ical(resp.content)
    assert sorted(str(t["SUMMARY"]) for t in cal.walk("VTODO")) == [
        "Filed taxes",
        "Pay rent",
        "Standup",
    ]

    copy = ann.http.post("/lists", json={"name": "Copy"}).json()["id"]
    ics = {"content-type": "text/calendar"}
    dry = ann.http.post(
        "/calendar/import", params={"list_id": copy}, content=resp.content, headers=ics
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["summary"] == "would import 3 task(s)"
    assert ann.search(list_id=copy)["total"] == 0

    done_import = ann.http.post(
        "/calendar/import",
        params={"list_id": copy, "dry_run": "false"},
        content=resp.content,
        headers=ics,
    )
    assert done_import.status_code == 200, done_import.text
    report = done_import.json()
    assert report["skipped"] == []
    assert all(not i["not_mapped"] for i in report["items"])
    assert _same(ann.search(list_id=copy)["items"]) == _same(ann.search(list_id=home)["items"])

    # Ordinary writes: each imported task has its task.created in the audit log.
    for item in report["items"]:

        def logged(task_id: str = item["id"]) -> bool:
            page = ann.http.get("/audit", params={"task_id": task_id}).json()
            return "task.created" in [e.get("type") for e in page["items"]]

        assert poll(logged, timeout=30), item


def test_a_feed_needs_no_bearer_token_and_stops_when_revoked(base: str) -> None:
    bob = User(base)
    bob.create(title="Water plants", due_at="2027-02-01T08:00:00Z")
    made = bob.http.post("/calendar/subscriptions", json={})
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert url.startswith(base)
    assert url.endswith(".ics")
    with httpx.Client(timeout=30) as anyone:  # a calendar app: no token, no app token
        resp = anyone.get(url)
        assert resp.status_code == 200, resp.text
        cal: Any = Calendar.from_ical(resp.content)
        assert [str(t["SUMMARY"]) for t in cal.walk("VTODO")] == ["Water plants"]
        assert anyone.get(url.replace(".ics", "A.ics")).status_code == 404
        gone = bob.http.delete(f"/calendar/subscriptions/{made.json()['id']}")
        assert gone.status_code == 204
        assert anyone.get(url).status_code == 404


def test_preview_on_the_real_stack(base: str) -> None:
    ann = User(base, timezone="Europe/Berlin")
    resp = ann.http.get(
        "/recurrence/preview",
        params={"rule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", "start": "2027-03-18T09:00:00+01:00"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["summary"] == "every other week on Thursday at 09:00"
    assert body["occurrences"][:3] == [
        "2027-03-18T09:00:00+01:00",
        "2027-04-01T09:00:00+02:00",  # after the switch to summer time: still 09:00
        "2027-04-15T09:00:00+02:00",
    ]
