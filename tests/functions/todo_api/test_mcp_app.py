"""The MCP server at /mcp, driven by the SDK's own client over todo-api's ASGI app
(in-memory Dapr fakes): tools are listed, a user adds and completes a task, sees only
what they may see, and the user comes from the bearer token alone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import ValidationError

from functions.todo_api.app import create_app
from functions.todo_api.mcp_app import _from_args
from functions.todo_api.models import SearchParams
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets

BASE = "http://testserver"


class Stack:
    def __init__(self) -> None:
        self.dapr = FakeDapr(secret_values=token_secrets())
        self.app = create_app(dapr=self.dapr)
        self.http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.app), base_url=BASE)

    async def user(self, name: str) -> dict[str, str]:
        body = {"username": name, "password": "a passphrase"}
        assert (await self.http.post("/api/v1/auth/register", json=body)).status_code == 201
        token = (await self.http.post("/api/v1/auth/token", json=body)).json()["access_token"]
        return {"authorization": f"Bearer {token}"}

    @asynccontextmanager
    async def client(self, headers: dict[str, str]) -> AsyncIterator[Client]:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    transport=httpx2.ASGITransport(app=self.app), base_url=BASE, headers=headers
                )
            )
            transport = streamable_http_client(f"{BASE}/mcp", http_client=http)
            yield await stack.enter_async_context(Client(transport))


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    s = Stack()
    async with s.app.router.lifespan_context(s.app):
        yield s
    await s.http.aclose()


def data(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def text(result: Any) -> str:
    return str(result.content[0].text)


async def test_an_agent_adds_completes_and_sees_only_its_own_tasks(stack: Stack) -> None:
    ann, bob = await stack.user("ann"), await stack.user("bob")
    async with stack.client(bob) as client:
        bobs = data(await client.call_tool("add_task", {"title": "bob's secret"}))

    async with stack.client(ann) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools >= {
            "add_task",
            "list_tasks",
            "get_task",
            "complete_task",
            "reopen_task",
            "update_task",
            "delete_task",
            "list_lists",
        }
        made = data(
            await client.call_tool(
                "add_task",
                {
                    "title": "water plants",
                    "due_at": "2027-03-18T09:00:00+01:00",
                    "timezone": "Europe/Berlin",
                    "recurrence": {"frequency": "weekly", "interval": 2},
                },
            )
        )
        assert made["status"] == "open"
        assert made["repeats"].startswith("every other week on Thursday at 09:00: next on")
        done = data(await client.call_tool("complete_task", {"task_id": made["id"]}))
        assert done["status"] == "completed"
        found = data(await client.call_tool("list_tasks", {"status": "all"}))
        assert [t["title"] for t in found["items"]] == ["water plants"]
        # Another user's task is not there to read, change or delete.
        for tool, args in [
            ("get_task", {"task_id": bobs["id"]}),
            ("complete_task", {"task_id": bobs["id"]}),
            ("delete_task", {"task_id": bobs["id"], "confirm": True}),
        ]:
            result = await client.call_tool(tool, args)
            assert result.is_error, (tool, result)
            assert "no such task" in text(result), (tool, result)
        # Even naming bob's list gets nothing.
        result = await client.call_tool("list_tasks", {"list_id": bobs["list_id"]})
        assert result.is_error
        assert "no such list" in text(result)

    # The same events as the REST API: created and completed went to task-events.
    await stack.app.state.outbox.drain()
    events = [m.data for m in stack.dapr.publisher.messages if m.topic == "task-events"]
    assert [e["type"] for e in events if e.get("task_id") == made["id"]] == [
        "task.created",
        "task.completed",
    ]


async def test_delete_needs_confirmation_and_update_reopen_work(stack: Stack) -> None:
    ann = await stack.user("ann")
    async with stack.client(ann) as client:
        made = data(await client.call_tool("add_task", {"title": "old name"}))
        changed = data(
            await client.call_tool(
                "update_task",
                {"task_id": made["id"], "changes": {"title": "new name", "priority": "high"}},
            )
        )
        assert (changed["title"], changed["priority"], changed["version"]) == (
            "new name",
            "high",
            2,
        )
        bad = await client.call_tool("update_task", {"task_id": made["id"], "changes": {"x": 1}})
        assert bad.is_error
        assert "invalid input" in text(bad)
        data(await client.call_tool("complete_task", {"task_id": made["id"]}))
        assert data(await client.call_tool("reopen_task", {"task_id": made["id"]}))["status"] == (
            "open"
        )
        asked = await client.call_tool("delete_task", {"task_id": made["id"]})
        assert "Not deleted" in text(asked)
        assert data(await client.call_tool("get_task", {"task_id": made["id"]}))["id"]
        gone = await client.call_tool("delete_task", {"task_id": made["id"], "confirm": True})
        assert "Deleted" in text(gone)
        assert (await client.call_tool("get_task", {"task_id": made["id"]})).is_error


def contents(result: Any) -> Any:
    return json.loads(result.contents[0].text)


async def test_lists_are_resources_and_a_read_only_tool(stack: Stack) -> None:
    ann, bob = await stack.user("ann"), await stack.user("bob")
    async with stack.client(ann) as client:
        lists = data(await client.call_tool("list_lists", {}))["items"]
        assert [(x["name"], x["role"]) for x in lists] == [("Inbox", "owner")]
        data(await client.call_tool("add_task", {"title": "in the inbox"}))
        listed = contents(await client.read_resource("taskwave://lists"))
        assert [x["id"] for x in listed] == [lists[0]["id"]]
        body = contents(await client.read_resource(f"taskwave://lists/{lists[0]['id']}"))
        assert [t["title"] for t in body["open_tasks"]] == ["in the inbox"]
    async with stack.client(bob) as client:
        bobs = contents(await client.read_resource("taskwave://lists"))
        assert len(bobs) == 1
        assert bobs[0]["id"] != lists[0]["id"]
        # The SDK hides the reason ("no such list") behind its own message.
        with pytest.raises(Exception, match="Error creating resource from template"):
            await client.read_resource(f"taskwave://lists/{lists[0]['id']}")


async def test_no_or_a_bad_token_is_refused_before_the_protocol(stack: Stack) -> None:
    for headers in ({}, {"authorization": "Bearer nonsense"}):
        resp = await stack.http.post(
            "/mcp",
            headers={**headers, "accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"].startswith("Bearer")


def test_a_tool_argument_left_unset_takes_the_models_default() -> None:
    with pytest.raises(ValidationError):
        SearchParams.model_validate({"limit": None})  # why unset arguments are left out
    params = _from_args(SearchParams, {"q": None, "tag": None, "limit": None, "status": "open"})
    assert params == SearchParams(status="open")
    assert params.limit == 50
    with pytest.raises(ValidationError):
        _from_args(SearchParams, {"limit": 0})  # a value given is still checked
