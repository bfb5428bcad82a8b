"""Properties of the chat's understanding, over generated messages (issue 13):

* a question never writes: whatever it asks about, it becomes a read-only intent, and
  through the whole engine it changes no task;
* attribute phrases (tags, priority), wherever they stand, never leak into a created title.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from functions.todo_api.chat.nlu import strip_polite
from functions.todo_api.chat.understand import understand
from tests.functions.todo_api.chat.test_engine import Chat

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
TZ = "America/New_York"
# What a question may become: nothing here writes.
READ_ONLY = {"list", "search", "preview", "lists", "members", "help", "greet", "unknown", "deny"}

# Words a question may be about, commands included ("have I deleted the report?").
WORDS = [
    "add", "delete", "remove", "complete", "mark", "done", "the", "report", "dentist", "mom",
    "call", "groceries", "tomorrow", "friday", "at", "5pm", "every", "week", "urgent", "#work",
    "priority", "high", "tag", "it", "my", "list", "tasks", "due", "today", "finished", "rename",
    "move", "to", "monday", "remind", "me", "pay", "rent", "again", "shared", "with", "sam",
]  # fmt: skip
OPENERS = [
    "what", "what's", "when", "when's", "which", "where", "why", "how", "how many", "is",
    "are", "am i", "do i have", "have i", "did i", "does", "was", "were", "has", "should i",
    "can i", "any", "anything",
]  # fmt: skip
words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)


@st.composite
def questions(draw: st.DrawFn) -> str:
    """A wh-word or an auxiliary first, or any words with a trailing "?"."""
    body = draw(words)
    if draw(st.booleans()):
        return f"{draw(st.sampled_from(OPENERS))} {body}{draw(st.sampled_from(['', '?', ' ?']))}"
    return f"{body}?"


@given(questions())
@settings(max_examples=400, deadline=None)
def test_a_question_is_never_understood_as_a_write(message: str) -> None:
    # "can you add x?" is a request, not a question: leave polite requests out.
    assume(not strip_polite(message).polite)
    assume(not re.match(r"^(?:yes|no|ok)\b", message, re.I))
    intent = understand(message, NOW, TZ)
    assert intent.kind in READ_ONLY, (message, intent.summary())


@given(st.lists(questions(), min_size=1, max_size=3))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_question_changes_no_task_through_the_engine(messages: list[str]) -> None:
    chat = Chat()
    chat.say("add pay rent friday at 5pm #home")
    chat.say("add call mom tomorrow")
    before = {t["id"]: t["version"] for t in chat.tasks()}
    for message in messages:
        if strip_polite(message).polite:
            continue
        chat.say(message)
    assert {t["id"]: t["version"] for t in chat.tasks()} == before, messages


# -- attributes never leak into titles ------------------------------------------------------

TITLE_WORDS = [
    "buy", "paint", "the", "fence", "email", "landlord", "fix", "bike", "water", "plants",
    "book", "flights", "review", "contract", "sort", "photos", "clean", "garage", "order", "cake",
]  # fmt: skip
TAGS = ["garden", "work", "finance", "home", "travel", "health"]
PRIORITIES = {
    "urgent": [", urgent", ", it's urgent", " - urgent", ", priority: urgent", ", urgent priority"],
    "high": [", high priority", ", priority high", " with high priority", ", it's important"],
    "medium": [", medium priority", ", priority: medium"],
    "low": [", low priority", ", priority low", " with low priority", ", not important"],
}


@st.composite
def tagged(draw: st.DrawFn) -> tuple[str, list[str]]:
    tags = draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True))
    joined = " and ".join(tags)
    form = draw(
        st.sampled_from(
            [", tag it {}", ", tag it with {}", ", label it {}", ", tags {}", ", tagged {}", "#"]
        )
    )
    if form == "#":
        return " " + " ".join(f"#{t}" for t in tags), tags
    return form.format(joined), tags


@given(
    title=st.lists(st.sampled_from(TITLE_WORDS), min_size=1, max_size=5).map(" ".join),
    tag=st.none() | tagged(),
    priority=st.none() | st.sampled_from(sorted(PRIORITIES)),
    data=st.data(),
)
@settings(max_examples=400, deadline=None)
def test_attribute_phrases_never_appear_in_a_created_title(
    title: str,
    tag: tuple[str, list[str]] | None,
    priority: str | None,
    data: st.DataObject,
) -> None:
    phrases = []
    if tag is not None:
        phrases.append(tag[0])
    if priority is not None:
        phrases.append(data.draw(st.sampled_from(PRIORITIES[priority])))
    order = data.draw(st.permutations(phrases))
    message = f"add {title}{''.join(order)}"
    intent = understand(message, NOW, TZ)
    assert intent.kind == "create", (message, intent.summary())
    made = intent.task["title"].lower()
    for leaked in ["priority", "tag", "label", "urgent", "important", "#", *TAGS]:
        assert not re.search(rf"(?<!\w){re.escape(leaked)}", made), (message, made)
    assert made.replace(",", "").strip() == title.lower(), (message, made)
    if tag is not None:
        assert sorted(intent.task.get("tags", [])) == sorted(tag[1]), message
    if priority is not None:
        assert intent.task.get("priority") == priority, message
