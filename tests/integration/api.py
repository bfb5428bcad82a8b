"""A small client for todo-api's REST API, as a user would call it."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx

from functions.todo_api.outbox import Outbox
from functions.todo_api.store import TaskStore
from shared.dapr.sidecar import DaprSidecar
from shared.events import TaskEvent

T = TypeVar("T")


class User:
    def __init__(self, base_url: str, name: str | None = None, timezone: str = "UTC") -> None:
        self.name = name or f"u{uuid.uuid4().hex[:12]}"
        # Each user from an address of their own (todo-api trusts X-Forwarded-For from
        # loopback), as people are: limits per client address stay out of the way.
        self.address = (
            f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        )
        self.http = httpx.Client(
            base_url=base_url + "/api/v1", timeout=30, headers={"x-forwarded-for": self.address}
        )
        made = self.http.post(
            "/auth/register",
            json={"username": self.name, "password": "a long passphrase", "timezone": timezone},
        )
        assert made.status_code == 201, made.text
        self.id: str = made.json()["id"]
        self.default_list: str = made.json()["default_list"]
        token = self.http.post(
            "/auth/token", json={"username": self.name, "password": "a long passphrase"}
        )
        assert token.status_code == 200, token.text
        self.token: str = token.json()["access_token"]
        self.http.headers["authorization"] = f"Bearer {self.token}"

    def accept(self, list_id: str) -> dict[str, Any]:
        """Accept an invitation to the list (sharing invites; nobody joins unasked)."""
        resp = self.http.post(f"/invitations/{list_id}/accept")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def create(self, **fields: Any) -> dict[str, Any]:
        resp = self.http.post("/tasks", json={"title": "a task", **fields})
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        body["_etag"] = resp.headers["etag"]
        return body

    def search(self, **params: Any) -> dict[str, Any]:
        resp = self.http.get("/tasks", params=params)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def all_ids(self, **params: Any) -> list[str]:
        ids: list[str] = []
        cursor = None
        while True:
            page = self.search(**params, limit=7, **({"cursor": cursor} if cursor else {}))
            ids += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids


@asynccontextmanager
async def feed(realtime_url: str, user: User, after: int | None = None) -> AsyncIterator[Any]:
    """The user's live feed, authenticated in the first frame as the web UI does (a
    token never travels in the URL)."""
    from websockets.asyncio.client import connect

    url = realtime_url.replace("http://", "ws://") + "/ws"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user.token, "after": after}))
        yield ws


def poll(probe: Callable[[], T], timeout: float = 30.0, every: float = 0.1) -> T | None:
    """The probe's first truthy answer within the timeout, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    return None


def sidecar_state(dapr_url: str, store: str, key: str) -> Any:
    """A state item read through a function's own sidecar (its keys, its prefix)."""
    resp = httpx.get(f"{dapr_url}/v1.0/state/{store}/{key}", timeout=5)
    return resp.json() if resp.status_code == 200 and resp.content else None


async def commit_like_todo_api(todo_api: DaprSidecar, event: TaskEvent) -> None:
    """Write through todo-api's own sidecar what todo-api writes for a change: the row and
    its event's outbox row in one transaction, then relay it as todo-api's relay does
    (task-events keyed by the actor, task-updates for the actor)."""
    tasks = TaskStore(todo_api.state("tasks"))
    outbox = Outbox({tasks.name: tasks.state}, todo_api.state("kv"), todo_api.publisher, owner="t")
    row, pending = outbox.pending(tasks.name, event, event.occurred_at, members=[event.user_id])
    await tasks.transact([tasks.replace_op(event.task, None), row])
    outbox.committed(pending)
    await outbox.drain()
