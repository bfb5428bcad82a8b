"""How the chat finds and describes lists. Pure: the user's lists come in as arguments.

A list is named in chat by its name, case-insensitively: an exact name first, then a
unique prefix ("gro" for Groceries). "sam's groceries" picks among lists sam owns, and
of two lists with the same name, the one the user owns wins.
"""

from __future__ import annotations

import re

from functions.todo_api.auth import User
from functions.todo_api.chat.match import stem
from functions.todo_api.errors import Refused
from shared.events import ListSnapshot, Role

_POSSESSIVE = re.compile(r"^(?P<owner>[\w.-]+)'s?\s+(?P<name>.+)$")
_DEFAULT = {"default", "default list", "my default list", "my default"}
CAN: dict[Role, str] = {"owner": "manage", "editor": "edit", "viewer": "only view"}


def owner_name(snapshot: ListSnapshot) -> str:
    return next((m.username for m in snapshot.members if m.role == "owner"), "someone")


def match_lists(
    mine: list[ListSnapshot], words: str, user: User, *, prefix: bool = True
) -> list[ListSnapshot]:
    """The lists `words` may name: one is a match, several are a question, none unknown."""
    query = re.sub(r"\s+", " ", words.replace("’", "'")).strip().casefold()
    pool = mine
    if m := _POSSESSIVE.match(query):
        owned = [s for s in mine if owner_name(s).casefold() == m.group("owner")]
        if owned:
            pool, query = owned, m.group("name")
    if query in _DEFAULT:
        return [s for s in pool if s.id == user.default_list]
    exact = [s for s in pool if s.name.casefold() == query]
    if len(exact) > 1:
        own = [s for s in exact if s.owner_id == user.id]
        return own if len(own) == 1 else exact
    if exact or not prefix:
        return exact
    starts = [s for s in pool if s.name.casefold().startswith(query)]
    if starts:
        return starts
    # "the grocery list" for Groceries: the same words, singular or plural.
    said = [stem(w) for w in query.split()]
    return [s for s in pool if [stem(w) for w in s.name.casefold().split()] == said]


def label(snapshot: ListSnapshot, user: User) -> str:
    """The list's name, with its owner when that is someone else: "Groceries (sam's)"."""
    if snapshot.owner_id == user.id:
        return snapshot.name
    return f"{snapshot.name} ({owner_name(snapshot)}'s)"


def names(mine: list[ListSnapshot], user: User) -> str:
    return ", ".join(label(s, user) for s in ordered(mine, user)) or "none yet"


def ordered(mine: list[ListSnapshot], user: User) -> list[ListSnapshot]:
    """The default list first, then the user's own lists, then lists shared with them."""
    return sorted(
        mine,
        key=lambda s: (s.id != user.default_list, s.owner_id != user.id, s.name.casefold()),
    )


def describe(snapshot: ListSnapshot, user: User) -> str:
    """One line of "what lists do I have": name, the user's role, the other members."""
    others = [m for m in snapshot.members if m.user_id != user.id]
    if snapshot.owner_id == user.id:
        text = snapshot.name + (" (default)" if snapshot.id == user.default_list else "")
        if others:
            text += " — shared with " + ", ".join(f"{m.username} ({m.role})" for m in others)
        return text
    role = snapshot.role_of(user.id) or user.roles.get(snapshot.id) or "viewer"
    rest = [m.username for m in others if m.role != "owner"]
    also = f"; also {', '.join(rest)}" if rest else ""
    return f"{snapshot.name} — {owner_name(snapshot)}'s list, you can {CAN[role]} it{also}"


def members(snapshot: ListSnapshot, user: User) -> str:
    """Who is in a list, owner first."""
    rank = {"owner": 0, "editor": 1, "viewer": 2}
    people = sorted(snapshot.members, key=lambda m: (rank[m.role], m.username.casefold()))
    if len(people) == 1 and people[0].user_id == user.id:
        return f"Only you are in {snapshot.name}; it isn't shared with anyone."
    listed = ", ".join(
        f"{m.username} ({m.role}{', you' if m.user_id == user.id else ''})" for m in people
    )
    return f"{snapshot.name}: {listed}."


def refusal(exc: Refused, snapshot: ListSnapshot) -> str:
    """ListService's Refused as a sentence."""
    if exc.code == "default_list":
        return f"{snapshot.name} is your default list, so it can't be deleted."
    if exc.code == "busy":
        return f"{snapshot.name} is changing a lot right now; please try again in a moment."
    if exc.code == "owner" and "leave" in str(exc):
        return (
            f"You own {snapshot.name}, so you can't leave it. You can delete it instead, "
            f"or remove the others from it."
        )
    if exc.code == "owner":
        return f"You already own {snapshot.name}."
    if exc.code in ("limit_reached", "blocked"):
        return f"{exc}." if not str(exc).endswith(".") else str(exc)
    return f"I couldn't do that: {exc}."
