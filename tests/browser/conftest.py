"""Browser fixtures: Debian's Chromium driven by Playwright against the real stack.

`devices` opens pages, each in its own browser context, i.e. a separate device with its
own storage, signed in as a user when given one; every page's uncaught errors fail the
test that opened it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from stack.services import Stack
from tests.browser import chromium
from tests.integration.api import User

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

ZONE = "Europe/Berlin"  # the browsers' and the users' zone: due times are wall-clock there
PASSWORD = "a long passphrase"  # tests.integration.api.User's
# Every run refreshes the pictures in docs/; TASKWAVE_SCREENSHOTS_DIR sends them elsewhere
# (e.g. a CI artifact folder) so a test run leaves the work tree clean.
SCREENSHOTS = Path(
    os.environ.get("TASKWAVE_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Checked before the stack starts, so a machine without a browser skips at once."""
    pytest.importorskip(
        "playwright.sync_api",
        reason="browser tests: Playwright is not installed (.venv/bin/pip install playwright)",
    )
    return chromium.ensure()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium_path, args=chromium.LAUNCH_ARGS, headless=True
        )
        yield launched
        launched.close()


def sign_in(page: Page, user: User) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#auth-view")).to_be_visible()
    page.fill("#signin-username", user.name)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


class Devices:
    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.errors: list[str] = []
        self._contexts: list[Any] = []

    def user(self) -> User:
        """A fresh account made through the REST API (as another client would)."""
        return User(self.base_url, timezone=ZONE)

    def open(
        self,
        user: User | None = None,
        *,
        viewport: ViewportSize | None = None,
        notifications: bool = False,
        init_script: str | None = None,
    ) -> Page:
        context = self.browser.new_context(
            base_url=self.base_url,
            timezone_id=ZONE,
            locale="en-GB",
            viewport=viewport or DESKTOP,
            color_scheme="light",
        )
        self._contexts.append(context)
        if notifications:
            context.grant_permissions(["notifications"], origin=self.base_url)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.goto("/")
        if user is not None:
            sign_in(page, user)
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def devices(chromium_path: str, stack: Stack, browser: Browser) -> Iterator[Devices]:
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    opened = Devices(browser, stack.config.url("todo-api"))
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.errors, f"uncaught errors in the page: {opened.errors}"


def screenshot(page: Page, name: str, **options: Any) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide", **options)
    return path
