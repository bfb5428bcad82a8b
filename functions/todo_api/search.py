"""Filter, sort and page a user's tasks (DESIGN §3 `GET /tasks`). Pure: rows in, page out.

Pages are keyset-based: the cursor holds the sort key of the last item returned,
so inserting or deleting tasks between requests neither repeats nor skips items.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from functions.todo_api.models import SearchParams, SortKey

PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
DEFAULT_SORT = (SortKey(field="created_at", descending=True),)


class BadCursor(ValueError):
    pass


def _due(row: dict[str, Any]) -> datetime | None:
    due = row.get("due_at")
    return datetime.fromisoformat(due) if due else None


def matches(row: dict[str, Any], p: SearchParams, now: datetime) -> bool:
    if p.status != "all" and row["status"] != p.status:
        return False
    if p.priority and row["priority"] not in p.priority:
        return False
    if p.tag and not set(p.tag) <= set(row["tags"]):
        return False
    if p.q:
        needle = p.q.casefold()
        if needle not in row["title"].casefold() and needle not in row["description"].casefold():
            return False
    if p.due_before or p.due_after or p.overdue is not None:
        due = _due(row)
        if p.due_before and (due is None or due >= p.due_before):
            return False
        if p.due_after and (due is None or due <= p.due_after):
            return False
        if p.overdue is not None:
            overdue = row["status"] == "open" and due is not None and due < now
            if overdue != p.overdue:
                return False
    return True


def _value(row: dict[str, Any], field: str) -> Any:
    if field == "priority":
        return PRIORITY_RANK[row["priority"]]
    if field == "title":
        return row["title"].casefold()
    if field in ("due_at", "created_at", "updated_at"):
        value = row.get(field)
        return datetime.fromisoformat(value).timestamp() if value else None
    raise ValueError(field)


def sort_key(row: dict[str, Any], keys: Sequence[SortKey]) -> list[Any]:
    """Comparable key: missing values last in either direction, ties broken by id."""
    out: list[Any] = []
    for key in keys:
        value = _value(row, key.field)
        if value is None:
            out.append((1, 0))
        elif isinstance(value, str):
            out.append((0, _Reversed(value) if key.descending else value))
        else:
            out.append((0, -value if key.descending else value))
    out.append(row["id"])
    return out


class _Reversed:
    """Inverts string order for descending sorts."""

    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s

    def __lt__(self, other: _Reversed) -> bool:
        return self.s > other.s

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.s == other.s

    def __hash__(self) -> int:
        return hash(self.s)


def _encode(key: list[Any]) -> str:
    plain = [
        [k[0], k[1].s if isinstance(k[1], _Reversed) else k[1]] if isinstance(k, tuple) else k
        for k in key
    ]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys) + 1:
            raise BadCursor("cursor does not match this sort")
        out: list[Any] = []
        for key, part in zip(keys, raw[:-1], strict=True):
            flag, value = part
            if flag == 0 and isinstance(value, str) and key.descending:
                value = _Reversed(value)
            out.append((flag, value))
        out.append(str(raw[-1]))
        return out
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor("invalid cursor") from exc


def search(
    rows: Iterable[dict[str, Any]], p: SearchParams, now: datetime
) -> tuple[list[dict[str, Any]], str | None, int]:
    """(page, next_cursor, total matching)."""
    keys = tuple(p.sort) or DEFAULT_SORT
    found = sorted(
        ((sort_key(r, keys), r) for r in rows if matches(r, p, now)), key=lambda kr: kr[0]
    )
    start = 0
    if p.cursor:
        after = _decode(p.cursor, keys)
        try:
            start = next(i for i, (k, _) in enumerate(found) if after < k)
        except StopIteration:
            start = len(found)
        except TypeError as exc:
            raise BadCursor("cursor does not match this sort") from exc
    page = found[start : start + p.limit]
    more = start + p.limit < len(found)
    cursor = _encode(page[-1][0]) if page and more else None
    return [r for _, r in page], cursor, len(found)
