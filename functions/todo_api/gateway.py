"""Logs other functions keep, asked for over Dapr service invocation: audit's events of
your lists (GET /audit, and undo's history of one task) and reminders' notifications.

Who may see what is decided here, from the caller's memberships, never by the caller's
query: audit gets the user and every list they are in now. What comes back is passed
on as it is (a page), or an error the client can act on (a bad cursor: 422);
anything else is `Unavailable`, which the edge answers with 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.todo_api.auth import User
from shared.dapr import DaprError, Invoker

AUDIT = "internal/v1/audit"
NOTIFICATIONS = "internal/v1/notifications"
MAX_HISTORY = 2000  # events of one task read to plan an undo


class Unavailable(Exception):
    """The function that keeps `what` did not answer usefully."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the {what} is unavailable right now")
        self.what = what


@dataclass(frozen=True)
class Forwarded:
    """What the other function answered: a page (200) or a refusal to show (422)."""

    status: int
    body: Any


class Gateway:
    def __init__(self, invoker: Invoker, audit_app_id: str, reminders_app_id: str) -> None:
        self.invoker = invoker
        self.audit_app_id = audit_app_id
        self.reminders_app_id = reminders_app_id

    async def audit(self, user: User, params: dict[str, str]) -> Forwarded:
        """Every event of the lists `user` is in now, as audit pages them."""
        # Sorted: the same memberships make the same query, so cursors stay valid.
        scope = {"user_id": user.id, "list_ids": ",".join(sorted(user.lists))}
        return await self._forward(self.audit_app_id, AUDIT, params | scope, "audit log")

    async def notifications(self, user: User, params: dict[str, str]) -> Forwarded:
        scope = {"user_id": user.id}
        return await self._forward(
            self.reminders_app_id, NOTIFICATIONS, params | scope, "notification list"
        )

    async def task_history(self, user: User, task_id: str) -> list[dict[str, Any]]:
        """Up to MAX_HISTORY events of one task, oldest first (every page)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(items) < MAX_HISTORY:
            params = {"task_id": task_id, "limit": "500"} | ({"cursor": cursor} if cursor else {})
            page = await self.audit(user, params)
            if page.status != 200 or not isinstance(page.body, dict):
                raise Unavailable("audit log")
            items += page.body.get("items", [])
            cursor = page.body.get("next_cursor")
            if not cursor:
                break
        return items

    async def _forward(
        self, app_id: str, method: str, params: dict[str, str], what: str
    ) -> Forwarded:
        try:
            resp = await self.invoker.invoke(app_id, method, http_method="GET", params=params)
        except DaprError:
            raise Unavailable(what) from None
        if resp.status == 200:
            return Forwarded(200, resp.body)
        if resp.status == 422 and isinstance(resp.body, dict) and "error" in resp.body:
            return Forwarded(422, resp.body)  # e.g. a bad cursor
        raise Unavailable(what)
