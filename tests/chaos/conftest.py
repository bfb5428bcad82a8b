"""The chaos suite's results: each case adds its line; the session saves them to
loadtest/results/chaos.json (cases not run this time keep their last figures)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from stack.config import ROOT

RESULTS = ROOT / "loadtest" / "results" / "chaos.json"


@pytest.fixture(scope="session")
def chaos_results() -> Iterator[dict[str, dict[str, Any]]]:
    cases: dict[str, dict[str, Any]] = {}
    yield cases
    if not cases:
        return
    try:
        saved = json.loads(RESULTS.read_text())["cases"]
    except (OSError, ValueError, KeyError):
        saved = {}
    saved.update(cases)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores (shared)",
        "command": '.venv/bin/python -m pytest -q tests/chaos -o addopts="-raP"',
        "cases": saved,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("\nchaos suite:")
    for line in (c["line"] for c in cases.values()):
        print(f"  {line}")
    print(f"saved {RESULTS}")
