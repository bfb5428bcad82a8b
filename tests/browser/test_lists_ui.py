"""Shared lists in the web UI, in Debian's Chromium against the real stack.

Each person is their own browser context (a separate device); what "someone else" does
goes either through their own page or through the REST API (tests.integration.api.User).
Everything a page shows about another person's change arrives over its WebSocket: no
page is reloaded.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "playwright",
    reason="browser tests: Playwright is not installed (.venv/bin/pip install playwright)",
)

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PHONE, Devices, screenshot
from tests.integration.api import User

pytestmark = pytest.mark.integration


# ------------------------------------------------------------------------------ helpers


def picker(page: Page, name: str) -> Locator:
    """The list's button in the list picker."""
    return page.locator("#list-picker button.list-item").filter(
        has=page.locator(".list-name").get_by_text(name, exact=True)
    )


def task_item(page: Page, title: str) -> Locator:
    return page.locator("#task-list li.task").filter(
        has=page.locator(".task-title").get_by_text(title, exact=True)
    )


def member_row(page: Page, username: str) -> Locator:
    return page.locator(f'#member-list li.member[data-username="{username}"]')


def make_list(user: User, name: str) -> dict[str, Any]:
    resp = user.http.post("/lists", json={"name": name})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def share(owner: User, list_id: str, member: User, role: str) -> dict[str, Any]:
    resp = owner.http.put(f"/lists/{list_id}/members/{member.name}", json={"role": role})
    assert resp.status_code in (200, 202), resp.text
    if resp.status_code == 202:  # an invitation: the member accepts it
        member.accept(list_id)
    body: dict[str, Any] = resp.json()
    return body


def members(user: User, list_id: str) -> dict[str, str]:
    resp = user.http.get(f"/lists/{list_id}")
    assert resp.status_code == 200, resp.text
    return {m["username"]: m["role"] for m in resp.json()["members"]}


def list_id_named(user: User, name: str) -> str:
    items = user.http.get("/lists").json()["items"]
    found: list[str] = [x["id"] for x in items if x["name"] == name]
    assert len(found) == 1, items
    return found[0]


def dismiss_toasts(page: Page) -> None:
    """Clear the messages before a picture (they go by themselves after a while)."""
    page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")


def open_share(page: Page) -> Locator:
    page.locator("#list-share").click()
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    return dialog


# ----------------------------------------------------- create, share, work together live


def test_owner_creates_and_shares_a_list_and_both_see_each_others_tasks_live(
    devices: Devices,
) -> None:
    owner = devices.user()
    friend = devices.user()
    page = devices.open(owner)
    phone = devices.open(friend, viewport=PHONE)  # the friend is on a phone (390 px)
    expect(picker(page, "Inbox")).to_be_visible()
    expect(page.locator("#tasks-title")).to_have_text("All lists")

    # A new list, by keyboard: the dialog focuses the name, Enter creates it.
    page.get_by_role("button", name="New list").click()
    expect(page.get_by_role("dialog", name="New list")).to_be_visible()
    expect(page.locator("#list-name")).to_be_focused()
    page.keyboard.type("Groceries")
    page.keyboard.press("Enter")
    expect(page.locator("#list-dialog")).to_be_hidden()
    groceries = picker(page, "Groceries")
    expect(groceries).to_have_attribute("aria-current", "true")
    expect(groceries).to_be_focused()
    expect(page.locator("#tasks-title")).to_have_text("Groceries")
    expect(page.locator("#list-info")).to_contain_text("Only you")
    list_id = list_id_named(owner, "Groceries")

    # Share it with the friend as an editor, through the dialog.
    open_share(page)
    expect(page.get_by_role("dialog", name="Share “Groceries”")).to_be_visible()
    expect(page.locator("#share-username")).to_be_focused()
    page.fill("#share-username", friend.name)
    page.select_option("#share-role", "editor")
    page.locator("#share-form").get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#share-status")).to_have_text(
        f"Invited {friend.name} as an editor: they get access once they accept."
    )
    # Invited, not a member: nothing of the list reaches the friend until they accept.
    expect(member_row(page, friend.name)).to_contain_text("invited as editor")
    assert members(owner, list_id) == {owner.name: "owner"}
    invitation = phone.locator("#invitations .invitation", has_text="Groceries")
    expect(invitation).to_contain_text(f"{owner.name} invites you to “Groceries” as an editor.")
    expect(picker(phone, "Groceries")).to_have_count(0)
    invitation.get_by_role("button", name="Accept").click()
    expect(phone.locator(".toast", has_text="You joined “Groceries”")).to_be_visible()
    expect(phone.locator("#invitations")).to_be_hidden()

    expect(page.locator("#member-list li.member")).to_have_count(2)
    expect(member_row(page, friend.name).get_by_label(f"Role of {friend.name}")).to_have_value(
        "editor"
    )
    expect(member_row(page, owner.name)).to_contain_text("Owner")
    assert members(owner, list_id) == {owner.name: "owner", friend.name: "editor"}
    page.locator("#share-dialog").evaluate("(d) => d.scrollTop = 0")
    dismiss_toasts(page)
    screenshot(page, "lists-share-dialog")
    page.keyboard.press("Escape")
    expect(page.locator("#share-dialog")).to_be_hidden()
    expect(page.locator("#list-share")).to_be_focused()  # back where the user was
    expect(groceries.locator(".shared")).to_have_text("2")
    expect(groceries.locator(".role")).to_have_text("Owner")
    expect(page.locator("#list-info")).to_contain_text("Shared with 1 person")

    # The friend's phone shows the list at once, with their role; no reload.
    shared = picker(phone, "Groceries")
    expect(shared).to_be_visible()
    expect(shared.locator(".role")).to_have_text("Editor")

    # The friend adds a task to it by the form: the form offers the list shown.
    shared.click()
    expect(phone.locator("#tasks-title")).to_have_text("Groceries")
    expect(phone.locator("#list-info")).to_contain_text(f"owner: {owner.name}")
    phone.get_by_role("button", name="New task").click()
    expect(phone.locator("#t-list")).to_have_value(list_id)
    options = phone.locator("#t-list option")
    expect(options).to_have_text(["Inbox", "Groceries (shared)"])
    phone.fill("#t-title", "Buy oat milk")
    phone.click("#task-save")
    expect(phone.locator("#task-dialog")).to_be_hidden()
    expect(task_item(phone, "Buy oat milk")).to_be_visible()

    # The owner sees it appear live, in the list they are looking at.
    item = task_item(page, "Buy oat milk")
    expect(item).to_be_visible()
    task = owner.search(q="Buy oat milk")["items"]
    assert [t["list_id"] for t in task] == [list_id]

    # The owner adds one too, into the shared list from "All lists" via the form's
    # list selector; it reaches the friend live.
    owner.create(title="Something of my own")  # in the owner's Inbox: not the friend's
    picker(page, "All lists").click()
    expect(page.locator("#tasks-title")).to_have_text("All lists")
    expect(task_item(page, "Something of my own")).to_be_visible()
    page.get_by_role("button", name="New task").click()
    expect(page.locator("#t-list")).to_have_value(owner.http.get("/me").json()["default_list"])
    page.select_option("#t-list", list_id)
    page.fill("#t-title", "Bake bread")
    page.click("#task-save")
    expect(task_item(phone, "Bake bread")).to_be_visible()
    expect(task_item(phone, "Something of my own")).to_have_count(0)

    # "All lists" says which list each task is in.
    expect(task_item(page, "Buy oat milk").locator(".list-badge")).to_have_text("List: Groceries")
    expect(task_item(page, "Something of my own").locator(".list-badge")).to_have_text(
        "List: Inbox"
    )
    page.locator("#tasks-title").click()  # no focus ring in the picture
    dismiss_toasts(page)
    screenshot(page, "lists-picker")

    dismiss_toasts(phone)
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, "lists-phone")
    # Phone width stays usable: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The friend moves their task to their own Inbox (the form's list selector): it
    # leaves the list on both devices, live; the owner cannot see it any more.
    friends_inbox = friend.http.get("/me").json()["default_list"]
    task_item(phone, "Buy oat milk").get_by_role("button", name="Edit").click()
    expect(phone.locator("#t-list")).to_have_value(list_id)
    phone.select_option("#t-list", friends_inbox)
    phone.click("#task-save")
    expect(phone.locator(".toast", has_text="moved it to “Inbox”")).to_be_visible()
    expect(task_item(phone, "Buy oat milk")).to_have_count(0)  # the phone shows Groceries
    expect(task_item(page, "Buy oat milk")).to_have_count(0)
    expect(task_item(page, "Bake bread")).to_be_visible()
    assert owner.search(q="Buy oat milk")["items"] == []
    assert [t["list_id"] for t in friend.search(q="Buy oat milk")["items"]] == [friends_inbox]


# ------------------------------------------------------------------------------ viewers


def test_a_viewer_sees_the_tasks_but_cannot_change_them(devices: Devices) -> None:
    owner = devices.user()
    viewer = devices.user()
    plans = make_list(owner, "Team plans")
    done = owner.create(title="Kick-off meeting", list_id=plans["id"])
    owner.http.post(f"/tasks/{done['id']}/complete")
    owner.create(title="Write the roadmap", list_id=plans["id"], tags=["q3"])
    share(owner, plans["id"], viewer, "viewer")
    viewer.create(title="My own errand")

    page = devices.open(viewer)
    team = picker(page, "Team plans")
    expect(team.locator(".role")).to_have_text("Viewer")
    expect(team).to_have_attribute("data-role", "viewer")

    # All lists: the viewer's tasks there have no controls but History, and say why.
    roadmap = task_item(page, "Write the roadmap")
    expect(roadmap).to_be_visible()
    expect(roadmap.locator(".badge.view-only")).to_be_visible()
    expect(roadmap.locator("button")).to_have_count(1)
    expect(roadmap.get_by_role("button", name="History")).to_be_visible()
    # ...which opens: a viewer reads who did what (audit follows membership).
    roadmap.get_by_role("button", name="History").click()
    expect(page.locator("#history-list li.history-entry").first).to_contain_text(
        "created this", timeout=30_000
    )
    page.keyboard.press("Escape")
    expect(page.locator("#history-dialog")).to_be_hidden()
    expect(task_item(page, "My own errand").get_by_role("button", name="Edit")).to_be_visible()

    # The list itself: tasks read-only, a hint, and no way to add one.
    team.click()
    expect(page.locator("#tasks-title")).to_have_text("Team plans")
    expect(page.locator("#task-list li.task")).to_have_count(2)
    expect(page.locator("#task-list li.task button")).to_have_count(2)  # History only
    expect(page.locator("#task-list li.task button[data-action=history]")).to_have_count(2)
    expect(page.locator("#task-list li.task[data-readonly]")).to_have_count(2)
    expect(task_item(page, "Kick-off meeting")).to_have_attribute("data-status", "completed")
    hint = page.locator("#list-readonly")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("You can view this list but not change it")
    expect(page.get_by_role("button", name="New task")).to_be_disabled()
    expect(page.locator("#list-rename")).to_be_hidden()
    expect(page.locator("#list-delete")).to_be_hidden()
    # Keyboard: from the last filter, Tab reaches the first task's History, the only
    # thing a viewer can press there.
    page.locator("#f-overdue").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.action") == "history"

    # Nor can a task be put into the list from elsewhere: the form does not offer it.
    picker(page, "All lists").click()
    page.get_by_role("button", name="New task").click()
    expect(page.locator("#t-list option")).to_have_text(["Inbox"])
    page.keyboard.press("Escape")

    # The members dialog: everyone and their role, nothing to change, a way out.
    picker(page, "Team plans").click()
    open_share(page)
    expect(page.get_by_role("dialog", name="Members of “Team plans”")).to_be_visible()
    expect(page.locator("#share-form")).to_be_hidden()
    expect(page.locator("#member-list select")).to_have_count(0)
    expect(page.locator("#member-list button")).to_have_count(0)
    expect(member_row(page, owner.name)).to_contain_text("Owner")
    expect(member_row(page, viewer.name)).to_contain_text("(you)")
    expect(member_row(page, viewer.name)).to_contain_text("Viewer")
    expect(page.get_by_role("button", name="Leave list")).to_be_visible()
    page.get_by_role("button", name="Done").click()

    # The owner makes them an editor: the controls appear live.
    share(owner, plans["id"], viewer, "editor")
    expect(page.locator(".toast", has_text="You are now an editor of “Team plans”")).to_be_visible()
    expect(task_item(page, "Write the roadmap").get_by_role("button", name="Edit")).to_be_visible()
    expect(page.get_by_role("button", name="New task")).to_be_enabled()
    expect(hint).to_be_hidden()
    # ... and a viewer again: gone again.
    share(owner, plans["id"], viewer, "viewer")
    expect(task_item(page, "Write the roadmap").locator("button")).to_have_count(1)
    expect(page.get_by_role("button", name="New task")).to_be_disabled()

    # Leaving: confirmed, and the list and its tasks are gone; the owner sees it live.
    owner_page = devices.open(owner)
    picker(owner_page, "Team plans").click()
    expect(picker(owner_page, "Team plans").locator(".shared")).to_have_text("2")
    open_share(page)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Leave list").click()
    expect(page.locator("#share-dialog")).to_be_hidden()
    expect(picker(page, "Team plans")).to_have_count(0)
    expect(page.locator("#tasks-title")).to_have_text("All lists")
    expect(task_item(page, "Write the roadmap")).to_have_count(0)
    expect(task_item(page, "My own errand")).to_be_visible()
    expect(picker(owner_page, "Team plans").locator(".shared")).to_have_count(0)
    expect(owner_page.locator("#list-info")).to_contain_text("Only you")
    assert members(owner, plans["id"]) == {owner.name: "owner"}


# ------------------------------------------------------------------- removing a member


def test_the_owner_removes_a_member_and_their_page_drops_the_list_live(devices: Devices) -> None:
    owner = devices.user()
    member = devices.user()
    club = make_list(owner, "Book club")
    owner.create(title="Read chapter 3", list_id=club["id"])
    share(owner, club["id"], member, "editor")
    member.create(title="Water the plants")

    away = devices.open(member)
    expect(task_item(away, "Read chapter 3")).to_be_visible()
    expect(task_item(away, "Read chapter 3").locator(".list-badge")).to_have_text("List: Book club")
    # A second device of the member shows the list itself.
    inside = devices.open(member, viewport=PHONE)
    picker(inside, "Book club").click()
    expect(task_item(inside, "Read chapter 3")).to_be_visible()

    page = devices.open(owner)
    picker(page, "Book club").click()
    open_share(page)
    row = member_row(page, member.name)
    expect(row).to_contain_text(member.name)
    # Dismissing the confirmation changes nothing.
    page.once("dialog", lambda d: d.dismiss())
    row.get_by_role("button", name=f"Remove {member.name}").click()
    expect(row).to_be_visible()
    assert member.name in members(owner, club["id"])

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name=f"Remove {member.name}").click()
    expect(row).to_have_count(0)
    expect(page.locator("#share-status")).to_have_text(f"Removed {member.name}.")
    expect(page.locator("#member-list li.member")).to_have_count(1)
    assert members(owner, club["id"]) == {owner.name: "owner"}

    # Both of the member's devices drop the list and its tasks, live.
    expect(picker(away, "Book club")).to_have_count(0)
    expect(task_item(away, "Read chapter 3")).to_have_count(0)
    expect(task_item(away, "Water the plants")).to_be_visible()
    expect(away.locator(".toast", has_text="You were removed from “Book club”")).to_be_visible()
    expect(picker(inside, "Book club")).to_have_count(0)
    expect(inside.locator("#tasks-title")).to_have_text("All lists")
    expect(task_item(inside, "Read chapter 3")).to_have_count(0)
    expect(task_item(inside, "Water the plants")).to_be_visible()
    assert member.http.get(f"/lists/{club['id']}").status_code == 404

    # The owner's own view keeps the list and its task.
    page.keyboard.press("Escape")
    expect(task_item(page, "Read chapter 3")).to_be_visible()


# --------------------------------------------------------------------------- errors


def test_an_unknown_username_shows_an_inline_error_and_changes_nothing(devices: Devices) -> None:
    owner = devices.user()
    holiday = make_list(owner, "Holiday")
    page = devices.open(owner)
    picker(page, "Holiday").click()
    open_share(page)
    username = page.locator("#share-username")
    add = page.locator("#share-form").get_by_role("button", name="Add", exact=True)

    add.click()  # empty: said in the browser, before asking
    error = page.locator('#share-form [data-field="username"] .field-error')
    expect(error).to_have_text("Enter the username of the person to add.")

    nobody = f"nobody-{owner.name}"
    username.fill(nobody)
    add.click()
    expect(error).to_be_visible()
    expect(error).to_have_text(f"unknown user {nobody}")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_be_focused()
    expect(username).to_have_value(nobody)  # kept, to correct a typo
    expect(page.locator("#member-list li.member")).to_have_count(1)
    expect(page.locator("#share-status")).to_have_text("")
    screenshot(page, "lists-share-error")
    assert members(owner, holiday["id"]) == {owner.name: "owner"}
    expect(picker(page, "Holiday").locator(".shared")).to_have_count(0)

    # Corrected: the error goes, the person is added.
    friend = devices.user()
    username.fill(friend.name)
    page.select_option("#share-role", "viewer")
    add.click()
    expect(error).to_be_hidden()
    expect(username).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#share-status")).to_have_text(
        f"Invited {friend.name} as a viewer: they get access once they accept."
    )
    friend.accept(holiday["id"])
    expect(member_row(page, friend.name).get_by_label(f"Role of {friend.name}")).to_have_value(
        "viewer"
    )
    assert members(owner, holiday["id"]) == {owner.name: "owner", friend.name: "viewer"}

    # The owner changes the role in the dialog.
    member_row(page, friend.name).get_by_label(f"Role of {friend.name}").select_option("editor")
    expect(page.locator("#share-status")).to_have_text(f"{friend.name} is now an editor.")
    assert members(owner, holiday["id"])[friend.name] == "editor"


# ----------------------------------------------------------------- rename and delete


def test_the_owner_renames_and_deletes_a_list_and_members_follow_live(devices: Devices) -> None:
    owner = devices.user()
    member = devices.user()
    trip = make_list(owner, "Trip")
    owner.create(title="Pack the tent", list_id=trip["id"])
    share(owner, trip["id"], member, "editor")
    theirs = devices.open(member)
    picker(theirs, "Trip").click()
    expect(task_item(theirs, "Pack the tent")).to_be_visible()

    page = devices.open(owner)
    picker(page, "Inbox").click()  # the default list: not deletable
    expect(page.locator("#list-rename")).to_be_visible()
    expect(page.locator("#list-delete")).to_be_hidden()

    picker(page, "Trip").click()
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#list-name")).to_have_value("Trip")
    page.fill("#list-name", "  ")
    page.locator("#list-save").click()
    expect(page.locator('#list-form [data-field="name"] .field-error')).to_have_text(
        "Give the list a name."
    )
    page.fill("#list-name", "Summer trip")
    page.locator("#list-save").click()
    expect(page.locator("#list-dialog")).to_be_hidden()
    expect(page.locator("#tasks-title")).to_have_text("Summer trip")
    expect(picker(theirs, "Summer trip")).to_be_visible()  # live, for the member
    expect(theirs.locator("#tasks-title")).to_have_text("Summer trip")

    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Delete list").click()
    expect(picker(page, "Summer trip")).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete list").click()
    expect(picker(page, "Summer trip")).to_have_count(0)
    expect(page.locator("#tasks-title")).to_have_text("All lists")
    expect(task_item(page, "Pack the tent")).to_have_count(0)
    assert owner.http.get(f"/lists/{trip['id']}").status_code == 404

    expect(picker(theirs, "Summer trip")).to_have_count(0)
    expect(theirs.locator("#tasks-title")).to_have_text("All lists")
    expect(task_item(theirs, "Pack the tent")).to_have_count(0)
    expect(
        theirs.locator(".toast", has_text="“Summer trip” was deleted by its owner")
    ).to_be_visible()
