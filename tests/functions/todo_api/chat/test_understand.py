"""The pieces the task and list grammars share (understand.py, understand_lists.py): the
polite start of a command, the one-word replies, the priority words, the tag separators."""

from __future__ import annotations

from datetime import datetime

import pytest

from functions.todo_api.chat.understand import understand

NOW = datetime.fromisoformat("2026-11-28T10:00:00+01:00")
TZ = "Europe/Berlin"


def _read(message: str) -> dict[str, object]:
    return understand(message, NOW, TZ).summary()


@pytest.mark.parametrize("start", ["", "please ", "can you ", "please could you "])
def test_a_command_may_start_politely_in_either_grammar(start: str) -> None:
    assert _read(f"{start}add renew passport")["task"] == {"title": "Renew passport"}
    assert _read(f"{start}create a new list called camping") == {
        "intent": "list_create",
        "name": "Camping",
    }
    shared = _read(f"{start}share groceries with sam")
    assert (shared["intent"], shared["users"]) == ("share", ["sam"])
    into = _read(f"{start}add milk to groceries")["list"]
    assert into == {"name": "groceries", "maybe": True, "title": "Milk"}


@pytest.mark.parametrize(
    ("message", "kind"),
    [("yes", "confirm"), ("ok!", "confirm"), ("nope", "deny"), ("help", "help"), ("hi", "greet")],
)
def test_a_one_word_reply(message: str, kind: str) -> None:
    assert _read(message) == {"intent": kind}
    assert _read(f"great. {message}") == {"intent": kind}  # a sentence of its own


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("set the priority of the report to normal", "medium"),
        ("the report's priority is top", "urgent"),
        ("the report's priority is critical", "urgent"),
        ("the report should be top priority", "urgent"),
        ("the report should be critical", "urgent"),
        ("the report should be normal priority", "medium"),
        ("the report should be low priority", "low"),
    ],
)
def test_priority_words_name_a_level(message: str, level: str) -> None:
    got = _read(message)
    assert (got["intent"], got["task"]) == ("update", {"priority": level})


@pytest.mark.parametrize("joined", ["home, work and garden", "home + work & garden"])
def test_tags_said_in_words_are_split_on_every_separator(joined: str) -> None:
    task = _read(f"add fix the fence, tag it {joined}")["task"]
    assert task == {"title": "Fix the fence", "tags": ["home", "work", "garden"]}
