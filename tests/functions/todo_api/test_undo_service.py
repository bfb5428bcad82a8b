"""UndoService called as the chat calls it, without the HTTP edge: the writes it makes
carry the time its caller passes in (the route's own tests: routes/test_undo.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from functions.todo_api.auth import User
from functions.todo_api.routes.auth import AuthRoutes
from functions.todo_api.routes.undo import UndoRoutes
from functions.todo_api.undo_service import UndoRequest, UndoService
from shared.dapr import InvokeResponse
from tests.functions.todo_api.relay import relay
from tests.functions.todo_api.test_lists import Users

THEN = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def _group(users: Users, kind: type[Any]) -> Any:
    return next(g for g in users.client.app.state.api.groups if isinstance(g, kind))  # type: ignore[attr-defined]


def test_a_restore_and_its_completion_are_written_at_the_time_passed_in() -> None:
    users = Users()

    async def audit(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        items = [m.data for m in users.dapr.publisher.messages if m.topic == "task-events"]
        return InvokeResponse(200, {"items": items, "next_cursor": None}, {})

    users.dapr.invoker.apps["audit"] = audit
    users.add("ann")
    _, task = users.call("ann", "POST", "/tasks", {"title": "t"})
    users.call("ann", "POST", f"/tasks/{task['id']}/complete")
    users.call("ann", "DELETE", f"/tasks/{task['id']}")
    relay(users.client)
    deleted = users.dapr.publisher.messages[-1].data
    assert deleted["type"] == "task.deleted"

    undo: UndoService = _group(users, UndoRoutes).service
    accounts = _group(users, AuthRoutes).accounts
    ann: User | None = asyncio.run(accounts.by_id(users.ids["ann"]))
    assert ann is not None
    done = asyncio.run(undo.apply(ann, task["id"], UndoRequest(event_id=deleted["event_id"]), THEN))

    assert (done.action, done.status) == ("restored", 201)
    assert done.task is not None
    assert done.task.id != task["id"]  # a deleted id stays deleted
    assert (done.task.status, done.task.created_at, done.task.completed_at) == (
        "completed",
        THEN,
        THEN,
    )
    relay(users.client)
    at = THEN.isoformat().replace("+00:00", "Z")
    undone = {
        (e["type"], e["undoes"], e["occurred_at"])
        for e in (m.data for m in users.dapr.publisher.messages if m.topic == "task-events")
        if e.get("undoes")
    }
    assert undone == {
        ("task.created", deleted["event_id"], at),
        ("task.completed", deleted["event_id"], at),
    }
