"""todo-api as reminders sees it when a reminder fires: GET internal/v1/lists/{id} through
Dapr service invocation answers the list as it is now, a 404 once it is deleted, or fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.dapr import DaprError, InvokeResponse
from shared.dapr.fake import FakeDapr
from shared.events import ListSnapshot, Member, ReminderAudience
from shared.internal_api import list_path

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def tasklist(
    *members: str, list_id: str = "l1", remind: ReminderAudience = "creator"
) -> ListSnapshot:
    """The first member owns the list, the others edit it."""
    return ListSnapshot(
        id=list_id,
        name=f"list {list_id}",
        owner_id=members[0],
        members=[
            Member(user_id=m, username=m, role="owner" if i == 0 else "editor")
            for i, m in enumerate(members)
        ],
        remind=remind,
        created_at=T0,
        updated_at=T0,
    )


class TodoApi:
    """Serves todo-api's internal list route on a FakeDapr. `down` makes the invocation
    raise, as the sidecar does when todo-api cannot be reached; `failing` is a status
    todo-api answers instead of the list."""

    def __init__(self, dapr: FakeDapr, *lists: ListSnapshot) -> None:
        self.lists = {x.id: x for x in lists}
        self.down = False
        self.failing: int | None = None
        self.asked: list[tuple[str, str]] = []
        dapr.invoker.apps["todo-api"] = self._serve

    def put(self, snapshot: ListSnapshot) -> None:
        self.lists[snapshot.id] = snapshot

    def delete(self, list_id: str) -> None:
        del self.lists[list_id]

    async def _serve(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> InvokeResponse:
        if self.down:
            raise DaprError("todo-api unreachable")
        self.asked.append((method, path))
        if self.failing is not None:
            return InvokeResponse(self.failing, {"error": {"code": "unavailable"}}, {})
        found = next((x for x in self.lists.values() if list_path(x.id) == path), None)
        if method != "GET" or found is None:
            return InvokeResponse(404, {"error": {"code": "not_found"}}, {})
        # The snapshot, plus a field of the public shape (ListOut): reminders keep only theirs.
        return InvokeResponse(200, found.model_dump(mode="json") | {"role": None}, {})
