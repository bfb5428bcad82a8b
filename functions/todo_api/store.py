"""todo-api's state, through Dapr only.

`tasks` (PostgreSQL v1, outbox to task-events): task rows `task|<id>` and deletion
tombstones `tombstone|<id>`. Every write is one transaction whose outbox
projection is the event, so the row and its event cannot diverge. The
projection must be the last operation (Dapr removes it from the list while
iterating; one after it would be skipped).

`kv` (no outbox): users, lists and the per-list change stamps that keep each
replica's search cache honest.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from shared.dapr import EtagMismatch, StateOp, StateStore
from shared.events import ListSnapshot, Role, TaskEvent, TaskSnapshot

QUERY_PAGE = 2000


def task_key(task_id: str) -> str:
    return f"task|{task_id}"


# -- kv rows ---------------------------------------------------------------------------

LIST = "list"  # `kind` of list rows


def name_key(username: str) -> str:
    return f"user|{username.casefold()}"


def id_key(user_id: str) -> str:
    return f"userid|{user_id}"


def list_key(list_id: str) -> str:
    return f"list|{list_id}"


def list_row(snapshot: ListSnapshot) -> dict[str, Any]:
    return {"kind": LIST, **snapshot.model_dump(mode="json")}


def read_list(value: Any) -> ListSnapshot | None:
    if not isinstance(value, dict) or value.get("kind") != LIST:
        return None
    return ListSnapshot.model_validate({k: v for k, v in value.items() if k != "kind"})


def memberships_of(record: dict[str, Any]) -> dict[str, Role]:
    # Accounts made before sharing kept `lists`: only their own default list.
    if "memberships" in record:
        return dict(record["memberships"])
    return {x: "owner" for x in record.get("lists", [])}


class TaskExists(Exception):
    pass


class Conflict(Exception):
    """The task changed since the version the write was based on."""


class TaskStore:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def get(self, task_id: str) -> tuple[TaskSnapshot, str | None] | None:
        item = await self._state.get(task_key(task_id))
        if item is None or not isinstance(item.value, dict) or "list_id" not in item.value:
            return None
        return TaskSnapshot.model_validate(item.value), item.etag

    async def insert(self, task: TaskSnapshot, event: TaskEvent) -> None:
        """Create the row and emit its event; TaskExists if the id is taken."""
        key = task_key(task.id)
        try:
            await self._state.transact(
                [
                    StateOp.insert(key, task.model_dump(mode="json")),
                    StateOp.outbox_event(key, event),
                ]
            )
        except EtagMismatch as exc:
            raise TaskExists(task.id) from exc

    async def replace(self, task: TaskSnapshot, etag: str | None, event: TaskEvent) -> None:
        key = task_key(task.id)
        try:
            await self._state.transact(
                [
                    StateOp.upsert(key, task.model_dump(mode="json"), etag),
                    StateOp.outbox_event(key, event),
                ]
            )
        except EtagMismatch as exc:
            raise Conflict(task.id) from exc

    async def delete(self, task: TaskSnapshot, etag: str | None, event: TaskEvent) -> None:
        """Remove the row; the outbox fires on upserts only, so a tombstone carries the event."""
        tomb = f"tombstone|{task.id}"
        try:
            await self._state.transact(
                [
                    StateOp.delete(task_key(task.id), etag),
                    StateOp.upsert(
                        tomb,
                        {
                            "task_id": task.id,
                            # Not `list_id`: list queries must not find tombstones.
                            "deleted_from": task.list_id,
                            "at": event.occurred_at.isoformat(),
                        },
                    ),
                    StateOp.outbox_event(tomb, event),
                ]
            )
        except EtagMismatch as exc:
            raise Conflict(task.id) from exc

    async def deleted(self, task_id: str) -> bool:
        return await self._state.get(f"tombstone|{task_id}") is not None

    async def deleted_from(self, task_id: str) -> str | None:
        """The list a deleted task was in (None: never existed, or deleted before lists
        were recorded on tombstones)."""
        item = await self._state.get(f"tombstone|{task_id}")
        return item.value.get("deleted_from") if item and isinstance(item.value, dict) else None

    async def rows_of_list(self, list_id: str) -> list[dict[str, Any]]:
        """Every task row of the list, through the state Query API (paged)."""
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page: dict[str, Any] = {"limit": QUERY_PAGE}
            if token:
                page["token"] = token
            items, token = await self._state.query(
                {"filter": {"EQ": {"list_id": list_id}}, "page": page}
            )
            rows.extend(i.value for i in items if isinstance(i.value, dict) and "title" in i.value)
            if not token or len(items) < QUERY_PAGE:
                return rows


@dataclass
class _Cached:
    stamp: str
    rows: dict[str, dict[str, Any]]
    loaded_at: float


class ListCache:
    """Per-replica cache of each list's task rows, validated on every read by a stamp
    in the shared kv store that every writer renews after its commit. A search then
    costs one small read instead of re-reading thousands of rows; any replica's write
    invalidates every replica's copy. A copy older than `max_age_s` is re-read anyway."""

    def __init__(self, tasks: TaskStore, kv: StateStore, max_age_s: float = 300.0) -> None:
        self._tasks = tasks
        self._kv = kv
        self._max_age_s = max_age_s
        self._lists: dict[str, _Cached] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    @staticmethod
    def _stamp_key(list_id: str) -> str:
        return f"liststamp|{list_id}"

    async def rows(self, list_ids: list[str]) -> list[dict[str, Any]]:
        stamps = {
            i.key: i.value for i in await self._kv.get_bulk([self._stamp_key(x) for x in list_ids])
        }
        out: list[dict[str, Any]] = []
        for list_id in list_ids:
            stamp = str(stamps.get(self._stamp_key(list_id)) or "none")
            out.extend((await self._list(list_id, stamp)).rows.values())
        return out

    def _fresh(self, list_id: str, stamp: str) -> _Cached | None:
        cached = self._lists.get(list_id)
        if (
            cached
            and cached.stamp == stamp
            and time.monotonic() - cached.loaded_at < self._max_age_s
        ):
            return cached
        return None

    async def _list(self, list_id: str, stamp: str) -> _Cached:
        if cached := self._fresh(list_id, stamp):
            return cached
        lock = self._loading.setdefault(list_id, asyncio.Lock())
        async with lock:  # one reload per list at a time, however many searches wait
            if cached := self._fresh(list_id, stamp):
                return cached
            rows = await self._tasks.rows_of_list(list_id)
            cached = _Cached(stamp, {r["id"]: r for r in rows}, time.monotonic())
            self._lists[list_id] = cached
            return cached

    async def changed(self, list_id: str, task_id: str, row: dict[str, Any] | None) -> None:
        """After a commit: renew the list's stamp; keep our own copy current if it was."""
        key = self._stamp_key(list_id)
        current = await self._kv.get(key)
        previous = str(current.value) if current else "none"
        fresh = uuid.uuid4().hex
        try:
            if current is None:
                if not await self._kv.create(key, fresh):
                    raise EtagMismatch(key)
            else:
                await self._kv.save(key, fresh, etag=current.etag)
        except EtagMismatch:
            # Another writer renewed it meanwhile: our copy cannot be trusted.
            await self._kv.save(key, fresh)
            self._lists.pop(list_id, None)
            return
        cached = self._lists.get(list_id)
        if cached is None or cached.stamp != previous:
            self._lists.pop(list_id, None)
            return
        if row is None:
            cached.rows.pop(task_id, None)
        else:
            cached.rows[task_id] = row
        cached.stamp = fresh
