"""Pages over the Dapr state Query API with an opaque cursor that neither repeats nor skips.

The PostgreSQL v1 store pages by OFFSET (its token is the row count so far) and refuses
range filters on strings, so keyset paging cannot be pushed down. The cursor therefore
carries both: the offset to resume from and the sort key of the last item returned.
Rows inserted before the cursor since the last page shift the offset; the key tells
those already-seen rows apart, so a page may come back shorter but never repeats one.

Isolation: the Query API runs over the whole table, not only this app's key prefix, so
every filter MUST include a field only this app writes (a `kind` discriminator).

audit pages its log with it, reminders its delivered notifications; the HTTP answer
(a page, or a 422 naming the bad parameter) is shared/web/paging.py's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.dapr import StateStore
from shared.dapr.query import field_at

# Enough for a page to absorb rows inserted meanwhile; past it the cursor just continues.
_MAX_ROUNDS = 8


class BadPageParams(ValueError):
    """A listing parameter (`field`) that names no page: the caller's mistake."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class BadCursor(BadPageParams):
    def __init__(self, message: str) -> None:
        super().__init__("cursor", message)


@dataclass(frozen=True)
class SortKey:
    path: str
    descending: bool = False


@dataclass(frozen=True)
class PageRequest:
    """What an internal listing route is asked: whose rows, how many, from where."""

    user_id: str
    limit: int
    cursor: str | None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def body(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def sortable_time(moment: datetime) -> str:
    """Fixed-width UTC text: PostgreSQL sorts it (as text) in time order; isoformat() drops
    zero microseconds and would not."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page_request(
    query: Mapping[str, str], *, default_limit: int = 50, max_limit: int = 500
) -> PageRequest:
    """`user_id` (required), `limit` (1..max_limit) and `cursor` from a query string."""
    user_id = query.get("user_id") or ""
    if not user_id:
        raise BadPageParams("user_id", "user_id is required")
    raw = query.get("limit")
    try:
        limit = default_limit if raw in (None, "") else int(raw)
    except ValueError as exc:
        raise BadPageParams("limit", "limit must be an integer") from exc
    if not 1 <= limit <= max_limit:
        raise BadPageParams("limit", f"limit must be between 1 and {max_limit}")
    return PageRequest(user_id, limit, query.get("cursor") or None)


def _scope(flt: Mapping[str, Any], sort: Sequence[SortKey]) -> str:
    text = json.dumps([flt, [(k.path, k.descending) for k in sort]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _encode(offset: int, after: list[str] | None, scope: str) -> str:
    raw = json.dumps({"o": offset, "k": after, "s": scope}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, scope: str, width: int) -> tuple[int, list[str] | None]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, after, their_scope = raw["o"], raw["k"], raw["s"]
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise BadCursor("invalid cursor") from exc
    if their_scope != scope:
        raise BadCursor("the cursor belongs to another query")
    valid_key = after is None or (
        isinstance(after, list) and len(after) == width and all(isinstance(v, str) for v in after)
    )
    if not isinstance(offset, int) or offset < 0 or not valid_key:
        raise BadCursor("invalid cursor")
    return offset, after


def _key(value: dict[str, Any], sort: Sequence[SortKey]) -> list[str]:
    return ["" if (v := field_at(value, k.path)) is None else str(v) for k in sort]


def _beyond(key: list[str], after: list[str], sort: Sequence[SortKey]) -> bool:
    """Whether `key` comes strictly after `after` in the sort order."""
    for mine, theirs, spec in zip(key, after, sort, strict=True):
        if mine != theirs:
            return (mine < theirs) if spec.descending else (mine > theirs)
    return False


async def query_page(
    store: StateStore,
    *,
    flt: dict[str, Any],
    sort: Sequence[SortKey],
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of the rows matching `flt` in `sort` order (the last sort key must be unique)."""
    scope = _scope(flt, sort)
    offset, after = _decode(cursor, scope, len(sort)) if cursor else (0, None)
    order = [{"key": k.path, "order": "DESC" if k.descending else "ASC"} for k in sort]
    out: list[dict[str, Any]] = []
    more = False
    for _ in range(_MAX_ROUNDS):
        want = limit - len(out) + 1  # one more than needed: tells whether a next page exists
        page: dict[str, Any] = {"limit": want}
        if offset:
            page["token"] = str(offset)
        items, _token = await store.query({"filter": flt, "sort": order, "page": page})
        for item in items:
            value = item.value
            if not isinstance(value, dict):
                offset += 1
                continue
            key = _key(value, sort)
            if after is not None and not _beyond(key, after, sort):
                offset += 1  # shifted back into view by an insert: already returned
                continue
            if len(out) == limit:
                more = True
                break
            out.append(value)
            offset += 1
            after = key
        # The real store always returns a token; only a short read means the end.
        if more or len(items) < want:
            break
    else:
        more = True
    return Page(out, _encode(offset, after, scope) if more else None)
