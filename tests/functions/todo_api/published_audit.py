"""audit as the undo tests need it: GET /internal/v1/audit answers, in one page, the
task-events todo-api really published (relayed so far) of the task and lists asked."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.dapr import InvokeResponse
from tests.functions.todo_api.test_lists import Users


def users_with_published_audit(*names: str) -> Users:
    """`Users` with accounts `names`, over an audit that answers from what was published."""
    users = Users()

    async def audit(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        query = parse_qs(urlsplit(path).query)
        lists = set(query["list_ids"][0].split(","))
        task_id = query["task_id"][0]
        items = [
            m.data
            for m in users.dapr.publisher.messages
            if m.topic == "task-events"
            and m.data.get("task_id") == task_id
            and m.data.get("list_id") in lists
        ]
        return InvokeResponse(200, {"items": items, "next_cursor": None}, {})

    users.dapr.invoker.apps["audit"] = audit
    for name in names:
        users.add(name)
    return users
