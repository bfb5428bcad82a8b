"""A task's history (its audit log) in the web UI, in Debian's Chromium against the real stack.

audit records an event a few seconds after it happens (todo-api's outbox goes through
Kafka), so every check of the timeline waits for it: the page reads the log again by
itself while it is open (after a live event, or when it knows of a newer version of the
task than the log shows), and `expect` retries until it does.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip(
    "playwright",
    reason="browser tests: Playwright is not installed (.venv/bin/pip install playwright)",
)

from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import PHONE, ZONE, Devices, screenshot
from tests.integration.api import User, poll

pytestmark = pytest.mark.integration

AUDIT_FILLS_MS = 60_000  # how long an entry may take to reach the history (Dapr outbox)


# ------------------------------------------------------------------------------ helpers


def task_item(page: Page, title: str) -> Locator:
    return page.locator("#task-list li.task").filter(
        has=page.locator(".task-title").get_by_text(title, exact=True)
    )


def history(page: Page) -> Locator:
    return page.locator("#history-dialog")


def entries(page: Page) -> Locator:
    return page.locator("#history-list li.history-entry")


def sentences(page: Page) -> Locator:
    """Each entry's "who did what" line."""
    return page.locator("#history-list .history-what")


def open_history(page: Page, title: str) -> Locator:
    """The History button of the task's row, by keyboard."""
    button = task_item(page, title).get_by_role("button", name="History")
    button.focus()
    page.keyboard.press("Enter")
    dialog = history(page)
    expect(dialog).to_be_visible()
    expect(page.locator("#history-title")).to_be_focused()
    expect(page.locator("#history-task")).to_have_text(f"“{title}”")
    return dialog


def close_history(page: Page) -> None:
    history(page).locator(".dialog-foot").get_by_role("button", name="Close").click()
    expect(history(page)).to_be_hidden()


def make_list(user: User, name: str) -> dict[str, Any]:
    resp = user.http.post("/lists", json={"name": name})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def share(owner: User, list_id: str, member: User, role: str = "editor") -> None:
    resp = owner.http.put(f"/lists/{list_id}/members/{member.name}", json={"role": role})
    assert resp.status_code in (200, 202), resp.text
    if resp.status_code == 202:  # an invitation: the member accepts it
        member.accept(list_id)


def audit(user: User, task_id: str, **params: Any) -> list[dict[str, Any]]:
    resp = user.http.get("/audit", params={"task_id": task_id, "limit": 100, **params})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def audit_types(user: User, task_id: str, count: int) -> list[str]:
    """The task's event types once the log has `count` of them."""
    found = poll(lambda: len(audit(user, task_id)) >= count and audit(user, task_id), timeout=30)
    assert found, f"audit did not record {count} events of {task_id} in time"
    return [e["type"] for e in found]


def no_duplicates(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#history-list li.history-entry", "(lis) => lis.map((li) => li.dataset.eventId)"
    )
    assert len(ids) == len(set(ids)), ids
    return ids


def dismiss_toasts(page: Page) -> None:
    page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")


# ------------------------------------------------------------------ your own changes


def test_history_shows_your_changes_in_order_and_pages(devices: Devices) -> None:
    user = devices.user()
    page = devices.open(user)

    # Create, edit (title + due date) and complete a task, all in the UI.
    page.get_by_role("button", name="New task").click()
    page.fill("#t-title", "Plan the party")
    page.click("#task-save")
    expect(page.locator("#task-dialog")).to_be_hidden()
    task_item(page, "Plan the party").get_by_role("button", name="Edit").click()
    page.fill("#t-title", "Plan the summer party")
    page.fill("#t-due-date", "2027-06-12")
    page.fill("#t-due-time", "18:00")
    page.click("#task-save")
    expect(page.locator("#task-dialog")).to_be_hidden()
    item = task_item(page, "Plan the summer party")
    item.get_by_role("button", name="Complete", exact=True).click()
    expect(item).to_have_attribute("data-status", "completed")
    task_id = item.get_attribute("data-id")
    assert task_id

    # At once, by keyboard: the page knows the task is at version 3 and reads the log
    # until it shows it (audit fills within seconds).
    dialog = open_history(page, "Plan the summer party")
    expect(sentences(page)).to_have_text(
        ["You created this", "You changed title, due date", "You completed it"],
        timeout=AUDIT_FILLS_MS,
    )
    expect(dialog).to_have_attribute("data-state", "ready")
    rows = entries(page)
    expect(rows.nth(0)).to_have_attribute("data-type", "task.created")
    expect(rows.nth(1)).to_have_attribute("data-type", "task.updated")
    expect(rows.nth(2)).to_have_attribute("data-type", "task.completed")
    expect(rows.nth(0).locator(".history-detail")).to_have_text("“Plan the party”")
    expect(rows.nth(1).locator(".history-detail")).to_have_text(
        "Title: “Plan the summer party” · Due: Sat, 12 Jun 2027, 18:00"
    )
    # Times: relative, and absolute in the user's zone; the same instants as the log.
    logged = audit(user, task_id)
    assert [e["type"] for e in logged] == ["task.created", "task.updated", "task.completed"]
    assert logged[1]["changed"] == ["due_at", "title"]
    times = rows.locator(".history-when time")
    expect(times).to_have_text(["just now"] * 3)
    for i, event in enumerate(logged):
        expect(rows.nth(i)).to_have_attribute("data-event-id", event["event_id"])
        expect(times.nth(i)).to_have_attribute("datetime", event["occurred_at"])
        at = datetime.fromisoformat(event["occurred_at"]).astimezone(ZoneInfo(ZONE))
        expect(rows.nth(i).locator(".history-abs")).to_have_text(
            f" · {at:%a}, {at.day} {at:%b %Y, %H:%M}"
        )
    expect(page.locator("#history-status")).to_contain_text("3 entries")
    expect(page.locator("#history-more")).to_be_hidden()
    no_duplicates(page)

    # Escape closes it; the focus is back on the row's History button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(item.get_by_role("button", name="History")).to_be_focused()

    # Paging: 22 more changes (another client) make 25 entries; a page is 20.
    for n in range(22):
        resp = user.http.patch(f"/tasks/{task_id}", json={"priority": ["low", "high"][n % 2]})
        assert resp.status_code == 200, resp.text
    audit_types(user, task_id, 25)

    # This time from the edit dialog: the history opens over the form.
    item.get_by_role("button", name="Edit").click()
    expect(page.locator("#task-dialog")).to_be_visible()
    page.locator("#task-history").click()
    expect(dialog).to_be_visible()
    expect(entries(page)).to_have_count(20)
    expect(page.locator("#history-status")).to_have_text("Showing the first 20 entries")
    more = page.get_by_role("button", name="Show more")
    expect(more).to_be_visible()
    expect(sentences(page).nth(3)).to_have_text("You changed priority")
    expect(entries(page).nth(3).locator(".history-detail")).to_have_text("Priority: low")
    more.focus()
    page.keyboard.press("Enter")
    expect(entries(page)).to_have_count(25)
    expect(more).to_be_hidden()
    expect(entries(page).nth(20)).to_be_focused()  # keyboard users go on where the new start
    expect(page.locator("#history-status")).to_have_text("25 entries")
    ids = no_duplicates(page)
    assert ids == [e["event_id"] for e in audit(user, task_id)]
    expect(sentences(page).first).to_have_text("You created this")
    expect(sentences(page).last).to_have_text("You changed priority")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#task-dialog")).to_be_visible()  # the form is still there
    expect(page.locator("#task-history")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#task-dialog")).to_be_hidden()


# ------------------------------------------------------------ a shared list, live


def test_history_of_a_shared_task_names_each_member_and_follows_changes_live(
    devices: Devices,
) -> None:
    owner = devices.user()
    friend = devices.user()
    crew = make_list(owner, "Party crew")
    share(owner, crew["id"], friend, "editor")
    task = owner.create(title="Book the venue", list_id=crew["id"])
    task_id = task["id"]

    page = devices.open(owner)
    dialog = open_history(page, "Book the venue")
    expect(sentences(page)).to_have_text(["You created this"], timeout=AUDIT_FILLS_MS)

    # The friend changes it meanwhile (another client): the open history follows, with
    # the friend's username, without being reopened.
    resp = friend.http.patch(
        f"/tasks/{task_id}",
        json={"title": "Book the venue and a DJ", "due_at": "2027-07-03T20:00:00+02:00"},
    )
    assert resp.status_code == 200, resp.text
    expect(sentences(page)).to_have_text(
        ["You created this", f"{friend.name} changed title, due date"], timeout=AUDIT_FILLS_MS
    )
    expect(entries(page).nth(1).locator(".actor")).to_have_text(friend.name)
    expect(entries(page).nth(1).locator(".actor")).to_have_attribute("data-user-id", friend.id)
    expect(page.locator("#history-task")).to_have_text("“Book the venue and a DJ”")
    expect(page.locator("#history-status")).to_contain_text("1 new entry")

    # The friend, on a phone (390 px), completes it in their own page and looks too.
    phone = devices.open(friend, viewport=PHONE)
    shared = task_item(phone, "Book the venue and a DJ")
    shared.get_by_role("button", name="Complete", exact=True).click()
    expect(shared).to_have_attribute("data-status", "completed")
    expect(sentences(page)).to_have_text(
        [
            "You created this",
            f"{friend.name} changed title, due date",
            f"{friend.name} completed it",
        ],
        timeout=AUDIT_FILLS_MS,
    )
    no_duplicates(page)
    page.locator("#history-title").click()  # no focus ring in the picture
    dismiss_toasts(page)
    screenshot(page, "history")

    open_history(phone, "Book the venue and a DJ")
    expect(sentences(phone)).to_have_text(
        [f"{owner.name} created this", "You changed title, due date", "You completed it"],
        timeout=AUDIT_FILLS_MS,
    )
    # Phone width stays usable: the dialog fills the screen, nothing wider than it.
    box = history(phone).bounding_box()
    assert box is not None
    assert box["x"] == 0
    assert box["width"] == PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert history(phone).evaluate("(d) => d.scrollWidth <= d.clientWidth")
    close_history(phone)
    expect(history(phone)).to_be_hidden()

    # The owner reopens it: a change that arrives live is never shown twice.
    owner.http.post(f"/tasks/{task_id}/reopen")
    expect(sentences(page)).to_have_count(4, timeout=AUDIT_FILLS_MS)
    expect(sentences(page).last).to_have_text("You reopened it")
    page.wait_for_timeout(3000)  # the page's further reads (polling) add nothing
    assert len(no_duplicates(page)) == 4 == len(audit(owner, task_id))
    expect(dialog).to_have_attribute("data-state", "ready")


# ------------------------------------------------------------------ losing access


def test_history_of_a_task_you_can_no_longer_see_is_not_offered(devices: Devices) -> None:
    owner = devices.user()
    member = devices.user()
    club = make_list(owner, "Book club")
    share(owner, club["id"], member, "editor")
    task = owner.create(title="Read chapter 3", list_id=club["id"])
    task_id = task["id"]
    done = member.http.post(f"/tasks/{task_id}/complete")
    assert done.status_code == 200, done.text
    audit_types(member, task_id, 2)

    page = devices.open(member)
    dialog = open_history(page, "Read chapter 3")
    expect(sentences(page)).to_have_text(
        [f"{owner.name} created this", "You completed it"], timeout=AUDIT_FILLS_MS
    )

    # The owner removes the member while the history is open: it says so and shows
    # nothing more; the task is gone from the page, so no history is offered for it.
    resp = owner.http.delete(f"/lists/{club['id']}/members/{member.name}")
    assert resp.status_code == 204, resp.text
    expect(dialog).to_have_attribute("data-state", "gone")
    problem = page.locator("#history-problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("You can no longer see this task")
    expect(entries(page)).to_have_count(0)
    expect(page.locator("#history-more")).to_be_hidden()
    expect(page.locator("#history-retry")).to_be_hidden()  # nothing to retry
    close_history(page)
    expect(dialog).to_be_hidden()
    expect(task_item(page, "Read chapter 3")).to_have_count(0)
    expect(page.locator("#task-list li.task button[data-action=history]")).to_have_count(0)
    assert member.http.get("/audit", params={"task_id": task_id}).status_code == 404

    # The owner still sees it all; a fresh page does not know the former member's name
    # any more: "someone".
    owner_page = devices.open(owner)
    open_history(owner_page, "Read chapter 3")
    expect(sentences(owner_page)).to_have_text(
        ["You created this", "Someone completed it"], timeout=AUDIT_FILLS_MS
    )


def test_history_unavailable_says_so_politely_and_retries(devices: Devices) -> None:
    user = devices.user()
    task = user.create(title="Call the bank")
    audit_types(user, task["id"], 1)
    page = devices.open(user)

    def unavailable(route: Route) -> None:
        route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps(
                {"error": {"code": "unavailable", "message": "the audit log is unavailable"}}
            ),
        )

    def is_audit(url: str) -> bool:
        return "/api/v1/audit?" in url

    page.route(is_audit, unavailable)
    dialog = open_history(page, "Call the bank")
    expect(dialog).to_have_attribute("data-state", "unavailable")
    problem = page.locator("#history-problem")
    expect(problem).to_contain_text("The history is not available right now")
    expect(problem).to_contain_text("please try again in a moment")
    expect(entries(page)).to_have_count(0)

    page.unroute(is_audit, unavailable)
    page.get_by_role("button", name="Try again").click()
    expect(sentences(page)).to_have_text(["You created this"], timeout=AUDIT_FILLS_MS)
    expect(problem).to_be_hidden()
    expect(dialog).to_have_attribute("data-state", "ready")
