"""The delivered reminders of a user, newest first (for todo-api's GET /api/v1/notifications)."""

from __future__ import annotations

from typing import Any

from functions.reminders.service import NOTIFICATION
from shared.dapr import StateStore
from shared.paging import Page, SortKey, query_page

_SORT = (SortKey("fired_at", descending=True), SortKey("event_id", descending=True))
_SHOWN = (
    "event_id",
    "task_id",
    "list_id",
    "title",
    "reminder_index",
    "occurrence",
    "due_at",
    "fire_at",
    "fired_at",
)


def _present(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in _SHOWN}


class Notifications:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def page(self, user_id: str, limit: int, cursor: str | None) -> Page:
        flt = {"AND": [{"EQ": {"kind": NOTIFICATION}}, {"EQ": {"user_id": user_id}}]}
        page = await query_page(self._store, flt=flt, sort=_SORT, limit=limit, cursor=cursor)
        return Page([_present(r) for r in page.items], page.next_cursor)
