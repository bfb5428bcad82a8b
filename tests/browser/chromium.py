"""Debian's Chromium for the browser tests, found or (root on Debian) installed.

Playwright drives the system browser through `executable_path`; its own browser
download (`playwright install`) is never used: pip installs only the driver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

# TASKWAVE_CHROMIUM=/path/to/chromium overrides the search.
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")

# As root in a sandboxless container, on a machine without internet: no sandbox, no GPU,
# and none of Chromium's own background connections (they would only fail, many at once).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

INSTALL_HINT = (
    "install Debian's Chromium (`apt-get install chromium`, as root) "
    "or set TASKWAVE_CHROMIUM=/path/to/chromium"
)


def find() -> str | None:
    override = os.environ.get("TASKWAVE_CHROMIUM")
    if override:
        return override if Path(override).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return next((c for c in CANDIDATES if Path(c).is_file()), None)


def _can_install() -> bool:
    return (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and Path("/etc/debian_version").is_file()
        and shutil.which("apt-get") is not None
        and not os.environ.get("TASKWAVE_NO_APT")
    )


def _install() -> str | None:
    """apt-get install chromium; returns why it failed, or None."""
    print("\n[browser] Chromium not found: installing Debian's package (apt-get)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
    ):
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{' '.join(argv)}` failed: {exc}"
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            return f"`{' '.join(argv)}` exited {done.returncode}: {last[0]}"
    return None


def _unavailable(reason: str) -> NoReturn:
    # TASKWAVE_REQUIRE_BROWSER=1 (set by .github/workflows/ci.yml): a missing browser
    # fails the run instead of silently skipping every browser test.
    if os.environ.get("TASKWAVE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests: {reason} (TASKWAVE_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(f"browser tests: {reason}")


def ensure() -> str:
    """The Chromium binary to drive, or the test is skipped with one line saying why."""
    found = find()
    if found:
        return found
    override = os.environ.get("TASKWAVE_CHROMIUM")
    if override:
        _unavailable(f"TASKWAVE_CHROMIUM={override} is not a file")
    if _can_install():
        failure = _install()
        found = find()
        if found:
            return found
        _unavailable(f"Chromium could not be installed ({failure}); {INSTALL_HINT}")
    _unavailable(f"Chromium not found; {INSTALL_HINT}")
