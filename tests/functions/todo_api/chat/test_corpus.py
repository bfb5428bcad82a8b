"""The chat corpus: prints the accuracy and every miss; at least 95 % must be right, and
every line about shared lists (they are newer, and act on other people) must be. Also
prints how long understanding one utterance takes (p50 / p95; issue 13: p95 ≤ 50 ms)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from functions.todo_api.chat.understand import LIST_KINDS, understand

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus.yaml").read_text())
CREATE_KEYS = ("title", "due", "priority", "tags", "recurrence", "reminders")
# Compared when the case names them; for `create`, `list` only when the case gives one.
OTHER_KEYS = ("ref", "filters", "task", "list", "users", "role", "name", "fallback")
LIST_INTENTS = LIST_KINDS | {"move"}


def _actual(case: dict[str, Any]) -> dict[str, Any]:
    now = datetime.fromisoformat(CORPUS["now"])
    got = understand(case["say"], now, CORPUS["tz"]).summary()
    out: dict[str, Any] = {"intent": got["intent"]}
    if got["intent"] == "create":
        task = got.get("task", {})
        due = task.get("due_at")
        out |= {
            "title": task.get("title"),
            "due": (
                datetime.fromisoformat(due)
                .astimezone(ZoneInfo(CORPUS["tz"]))
                .strftime("%Y-%m-%d %H:%M")
                if due
                else None
            ),
            "priority": task.get("priority"),
            "tags": task.get("tags"),
            "recurrence": task.get("recurrence"),
            "reminders": task.get("reminders"),
        }
        if "list" in case:
            out["list"] = got.get("list")
    else:
        for key in OTHER_KEYS:
            if key in case:
                out[key] = got.get(key, {})
    return out


def _expected(case: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"intent": case["intent"]}
    if case["intent"] == "create":
        out |= {k: case.get(k) for k in CREATE_KEYS}
        if "list" in case:
            out["list"] = case["list"]
    else:
        out |= {k: case[k] for k in OTHER_KEYS if k in case}
    return out


def test_corpus_accuracy() -> None:
    cases = CORPUS["cases"]
    misses = []
    for case in cases:
        got, want = _actual(case), _expected(case)
        if got != want:
            misses.append((case["say"], want, got))
    accuracy = 1 - len(misses) / len(cases)
    print(f"\nchat corpus: {len(cases) - len(misses)}/{len(cases)} right = {accuracy:.1%}")
    for say, want, got in misses:
        print(f"  MISS {say!r}\n    want {want}\n    got  {got}")
    assert len(cases) >= 200
    assert accuracy >= 0.95
    about_lists = [
        say for say, want, _ in misses if want["intent"] in LIST_INTENTS or "list" in want
    ]
    assert about_lists == []


def test_understanding_one_utterance_is_fast() -> None:
    now = datetime.fromisoformat(CORPUS["now"])
    says = [case["say"] for case in CORPUS["cases"]]
    understand("warm up: add x on dec 3 at 5pm", now, CORPUS["tz"])  # dateparser loads lazily
    took = []
    for say in says:
        started = time.perf_counter()
        understand(say, now, CORPUS["tz"])
        took.append(1000 * (time.perf_counter() - started))
    took.sort()
    p50, p95 = took[len(took) // 2], took[int(0.95 * (len(took) - 1))]
    print(f"\nchat understanding per utterance: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    assert p95 <= 50
