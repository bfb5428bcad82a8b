"""What the engine and its actions share in a turn: the reply, and the memory kept between
turns in the kv store (the tasks last shown, the task and the list in focus, a question
waiting for a yes)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CONFIRM_FOR = timedelta(minutes=5)


@dataclass
class Reply:
    reply: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    conversation_id: str = ""


class NoMatch(Reply):
    """No task or list goes by those words: a message with another reading tries that."""


@dataclass
class Memory:
    last: list[str] = field(default_factory=list)
    focus: str | None = None
    pending: dict[str, Any] | None = None
    list_focus: str | None = None
    # A question asked about which task was meant: the message it was about, so that an
    # answer ("the second one", "the one for dad") finishes what the message asked.
    clarify: dict[str, Any] | None = None
    # What the last turn did to a task ({"type": "task.created", "task_id": ...}): "undo".
    last_action: dict[str, Any] | None = None
    # The tasks this conversation wrote to, newest first: where "undo the last change" looks.
    changed: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, value: Any) -> Memory:
        if not isinstance(value, dict):
            return cls()
        return cls(**{f.name: value[f.name] for f in dataclasses.fields(cls) if f.name in value})

    def ask(self, now: datetime, **pending: Any) -> None:
        """Wait for a yes to the deletion `pending` describes."""
        self.pending = {**pending, "until": (now + CONFIRM_FOR).isoformat()}

    def answer(self, now: datetime) -> dict[str, Any] | None:
        """The question this message may answer; it is asked only once either way."""
        pending, self.pending = self.pending, None
        if (
            pending is not None
            and datetime.fromisoformat(pending.get("until", "9999-12-31T00:00+00:00")) < now
        ):
            return None  # a yes long after the question is no answer to it
        return pending


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def task_updated(task_id: str, title: str, changed: list[str], **more: Any) -> dict[str, Any]:
    return {"type": "task.updated", "task_id": task_id, "title": title, "changed": changed, **more}
