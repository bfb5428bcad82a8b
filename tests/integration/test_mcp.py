"""The MCP server on the real stack: an SDK client session over HTTP through the edge
(no app token, the user's bearer token), adding and completing a task as one user,
blind to another's; the completion of a repeating task makes its next occurrence
through recurring, as from the REST API."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from stack.services import Stack
from tests.integration.api import User, poll

pytestmark = pytest.mark.integration


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


async def test_an_mcp_session_adds_and_completes_as_one_user_only(stack: Stack) -> None:
    base = stack.config.url("todo-api")
    ann, bob = User(base), User(base)
    secret = bob.create(title="bob's secret")
    headers = {"authorization": f"Bearer {ann.token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"add_task", "list_tasks", "complete_task", "delete_task"} <= names
        made = _data(
            await client.call_tool(
                "add_task",
                {
                    "title": "stretch",
                    "due_at": "2027-03-18T09:00:00Z",
                    "recurrence": {"frequency": "daily"},
                },
            )
        )
        done = _data(await client.call_tool("complete_task", {"task_id": made["id"]}))
        assert done["status"] == "completed"
        listed = _data(await client.call_tool("list_tasks", {"status": "all"}))
        assert secret["id"] not in [t["id"] for t in listed["items"]]
        refused = await client.call_tool("get_task", {"task_id": secret["id"]})
        assert refused.is_error

    # What the agent did is what ann sees over REST, with the series' next occurrence.
    def next_one() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = ann.search(status="open")["items"]
        return [t for t in items if t["title"] == "stretch"]

    following = poll(next_one, timeout=30)
    assert following
    assert following[0]["due_at"] == "2027-03-19T09:00:00Z"
    assert bob.http.get(f"/tasks/{made['id']}").status_code == 404
