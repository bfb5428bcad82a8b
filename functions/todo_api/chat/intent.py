"""What the chat understood: an Intent, made by understand() offline or from an LLM tool
call (llm.py), and carried out by the engine.

An intent names one ordinary API operation (create, list, search, complete, reopen,
delete, update, reschedule, remind, move; preview, the dates a repeating rule or task falls
on; and for lists: lists, members, list_create,
list_rename, list_delete, share, unshare, leave) with its fields, or a conversational
move (confirm, deny, help, greet, unknown). Which task "it" or "the second one" means,
and which of the user's lists "groceries" names, is left as a reference for the engine,
which knows the conversation and the user's lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

# What acts on lists rather than on tasks (the engine sends these to the list service).
ListKind = Literal[
    "lists", "members", "list_create", "list_rename", "list_delete", "share", "unshare", "leave"
]
Kind = Literal[
    "create",
    "list",
    "search",
    "complete",
    "reopen",
    "delete",
    "update",
    "reschedule",
    "remind",
    "move",
    "preview",
    ListKind,
    "confirm",
    "deny",
    "help",
    "greet",
    "unknown",
]
LIST_KINDS: frozenset[str] = frozenset(get_args(ListKind))


@dataclass
class Ref:
    """Which task(s): an ordinal into the last list, "it", "all", or words of a title."""

    ordinal: int | None = None  # 1-based; -1 = the last one
    it: bool = False
    task_id: str | None = None  # an exact id (the LLM backend's tools use ids)
    all: bool = False
    words: str = ""
    latest: bool = False  # the task most recently added


@dataclass
class ListRef:
    """Which list: words of its name, "it" (the list in focus), or an exact id (LLM tools)."""

    name: str = ""
    it: bool = False
    list_id: str | None = None
    # The words may not name a list at all: only a list called exactly so counts, and
    # without one the message keeps its ordinary meaning.
    maybe: bool = False
    # "add milk to groceries": the task's title if the list exists (else the whole title).
    title: str | None = None


@dataclass
class Intent:
    kind: Kind
    task: dict[str, Any] = field(default_factory=dict)  # fields for create / update
    ref: Ref | None = None
    filters: dict[str, Any] = field(default_factory=dict)  # for list / search / bulk
    tasklist: ListRef | None = None  # the list acted on, or the one a task goes to / is in
    users: list[str] = field(default_factory=list)  # share / unshare: usernames
    role: str | None = None  # share: "editor" or "viewer" (anything else is refused)
    name: str = ""  # list_create / list_rename: the new name
    fallback: Intent | None = None  # the other reading, if this one's target is not there
    # What the reply should also say about how the message was read ("repeats at most daily").
    note: str = ""
    # More requests in the same message ("mark X done and add Y"), run after this one.
    then: list[Intent] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A plain dict for tests and the `actions` the API returns."""
        out: dict[str, Any] = {"intent": self.kind}
        if self.task:
            out["task"] = {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.task.items()
            }
        if self.ref is not None:
            out["ref"] = _present(vars(self.ref))
        if self.filters:
            out["filters"] = self.filters
        if self.tasklist is not None:
            out["list"] = _present(vars(self.tasklist))
        if self.users:
            out["users"] = self.users
        if self.role:
            out["role"] = self.role
        if self.name:
            out["name"] = self.name
        if self.fallback is not None:
            out["fallback"] = self.fallback.summary()
        if self.then:
            out["then"] = [i.summary() for i in self.then]
        return out


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in (None, False, "")}
