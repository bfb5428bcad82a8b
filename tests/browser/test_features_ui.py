"""The repeat preview in the task form and Undo in a task's history, in Debian's
Chromium against the real stack (screenshots: docs/screenshots/preview.png and
history-undo.png)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip(
    "playwright",
    reason="browser tests: Playwright is not installed (.venv/bin/pip install playwright)",
)

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Devices, screenshot

pytestmark = pytest.mark.integration

AUDIT_FILLS_MS = 60_000


def task_item(page: Page, title: str) -> Locator:
    return page.locator("#task-list li.task").filter(
        has=page.locator(".task-title").get_by_text(title, exact=True)
    )


def test_the_form_previews_the_dates_as_the_rule_changes(devices: Devices) -> None:
    page = devices.open(devices.user())
    page.get_by_role("button", name="New task").click()
    page.fill("#t-title", "Water the plants")
    page.fill("#t-due-date", "2027-03-18")
    page.fill("#t-due-time", "09:00")
    preview = page.locator("#t-preview")
    expect(preview).to_be_hidden()  # no repeat, nothing to preview

    page.select_option("#t-repeat", "simple")
    page.select_option("#t-frequency", "weekly")
    page.fill("#t-interval", "2")
    summary = preview.locator("[data-summary-text]")
    expect(summary).to_have_text("every other week on Thursday at 09:00. Next:")
    dates = preview.locator("ol li")
    expect(dates).to_have_count(5)
    # Across the switch to summer time (28 Mar 2027): still 09:00 on the wall clock.
    expect(dates.nth(1)).to_contain_text("1 Apr 2027")
    expect(dates.nth(1)).to_contain_text("09:00")

    page.select_option("#t-repeat", "rrule")
    page.fill("#t-rrule", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3")
    expect(summary).to_have_text("every month on the last Friday at 09:00, 3 times — then it ends.")
    expect(dates).to_have_count(3)
    preview.scroll_into_view_if_needed()
    screenshot(page, "preview")

    page.fill("#t-rrule", "FREQ=HOURLY")
    expect(summary).to_contain_text("Cannot preview")
    expect(summary).to_contain_text("finer than DAILY")


def test_undo_from_the_history_restores_the_earlier_version(devices: Devices) -> None:
    user = devices.user()
    made = user.create(title="Call the plumber", priority="low")
    user.http.patch(f"/tasks/{made['id']}", json={"title": "Call the electrician"})
    page = devices.open(user)
    task_item(page, "Call the electrician").get_by_role("button", name="History").click()
    rows = page.locator("#history-list li.history-entry")
    expect(rows).to_have_count(2, timeout=AUDIT_FILLS_MS)
    expect(rows.locator(".history-undone")).to_have_count(0)
    rows.nth(1).get_by_role("button", name="Undo", exact=False).click()
    expect(rows).to_have_count(3, timeout=AUDIT_FILLS_MS)  # the undo is a change too
    assert user.http.get(f"/tasks/{made['id']}").json()["title"] == "Call the plumber"
    expect(task_item(page, "Call the plumber")).to_be_visible()
    # The entry undone says by whom and when; the undo says what it undid.
    expect(rows.nth(1)).to_have_attribute("data-undone", "true")
    expect(rows.nth(1).locator(".history-undone")).to_have_text(
        re.compile(r"^Undone by you at .*2\d{3}, \d\d:\d\d$")
    )
    expect(rows.nth(2).locator(".history-undo-of")).to_have_text(
        re.compile(r"^Undo of: you changed title \(.+\)$")
    )
    expect(rows.nth(0).locator(".history-undone")).to_have_count(0)
    screenshot(page, "history-undo")

    # Undoing the older entry now asks first (the task changed since); yes undoes it.
    page.once("dialog", lambda dialog: dialog.accept())
    rows.nth(0).get_by_role("button", name="Undo", exact=False).click()
    expect(rows).to_have_count(4, timeout=AUDIT_FILLS_MS)
    expect(rows.nth(3)).to_have_attribute("data-type", "task.deleted")
    expect(rows.nth(3).locator(".history-undo-of")).to_contain_text("Undo of: you created this")
    expect(rows.nth(0).locator(".history-undone")).to_contain_text("Undone by you at")
    assert user.http.get(f"/tasks/{made['id']}").status_code == 404


def test_a_viewer_reads_the_history_without_undo(devices: Devices) -> None:
    owner, viewer = devices.user(), devices.user()
    shared = owner.http.post("/lists", json={"name": "Shared"}).json()["id"]
    invited = owner.http.put(f"/lists/{shared}/members/{viewer.name}", json={"role": "viewer"})
    assert invited.status_code == 202, invited.text
    viewer.accept(shared)
    owner.create(title="Read only", list_id=shared)
    page = devices.open(viewer)
    task_item(page, "Read only").get_by_role("button", name="History").click()
    rows = page.locator("#history-list li.history-entry")
    expect(rows).to_have_count(1, timeout=AUDIT_FILLS_MS)
    expect(rows.get_by_role("button", name="Undo", exact=False)).to_have_count(0)
