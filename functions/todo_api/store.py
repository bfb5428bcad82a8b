"""todo-api's state, through Dapr only.

`tasks` (PostgreSQL v1): task rows `task|<id>`, deletion tombstones `tombstone|<id>`,
the per-list change stamps `liststamp|<list>` that keep each replica's search cache
honest, and the outbox rows of task events. A task write is ONE transaction: the
row, its list's new stamp and the event's outbox row (functions/todo_api/outbox.py).

`kv`: users, lists, memberships and the outbox rows of list events.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.dapr import EtagMismatch, StateItem, StateOp, StateStore
from shared.domain.bounds import text_problem
from shared.events import ListSnapshot, Role, TaskSnapshot

QUERY_PAGE = 2000

log = logging.getLogger(__name__)


def task_key(task_id: str) -> str:
    return f"task|{task_id}"


def tombstone_key(task_id: str) -> str:
    return f"tombstone|{task_id}"


def stamp_key(list_id: str) -> str:
    return f"liststamp|{list_id}"


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


def unkeyable(task_id: str) -> bool:
    """An id (or username) no row can have: text PostgreSQL cannot hold, or a `|` (Dapr
    refuses keys with `||`; ids are UUIDs, usernames have no `|`)."""
    return bool(text_problem(task_id)) or "|" in task_id


class Conflict(Exception):
    """The task changed since the version the write was based on."""


class TaskStore:
    """Task rows and their transactions; the service composes the operations."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    @property
    def name(self) -> str:
        return self._state.name

    @property
    def state(self) -> StateStore:
        return self._state

    async def get(self, task_id: str) -> tuple[TaskSnapshot, str | None] | None:
        """The task and its store ETag (for the conditional write that may follow)."""
        if unkeyable(task_id):
            return None  # no such key can exist; the store would refuse the lookup
        item = await self._state.get(task_key(task_id))
        if item is None or not isinstance(item.value, dict) or "list_id" not in item.value:
            return None
        return TaskSnapshot.model_validate(item.value), item.etag

    @staticmethod
    def insert_op(task: TaskSnapshot) -> StateOp:
        return StateOp.insert(task_key(task.id), task.model_dump(mode="json"))

    @staticmethod
    def replace_op(task: TaskSnapshot, etag: str | None) -> StateOp:
        return StateOp.upsert(task_key(task.id), task.model_dump(mode="json"), etag)

    @staticmethod
    def delete_ops(task: TaskSnapshot, etag: str | None, at: datetime) -> list[StateOp]:
        """Remove the row and leave a tombstone: a deleted series is never re-created."""
        return [
            StateOp.delete(task_key(task.id), etag),
            StateOp.upsert(
                tombstone_key(task.id),
                # Not `list_id`: list queries must not find tombstones. The task itself
                # stays for a completion still on its way to recurring: the next
                # occurrence is made from what is stored here, never from a request.
                {
                    "task_id": task.id,
                    "deleted_from": task.list_id,
                    "at": at.isoformat(),
                    "task": task.model_dump(mode="json"),
                },
            ),
        ]

    async def transact(self, ops: list[StateOp]) -> None:
        """All or nothing; Conflict when a conditional operation lost a race."""
        try:
            await self._state.transact(ops)
        except EtagMismatch as exc:
            raise Conflict(str(exc)) from exc

    async def deleted(self, task_id: str) -> bool:
        return await self._tombstone(task_id) is not None

    async def _tombstone(self, task_id: str) -> StateItem | None:
        return None if unkeyable(task_id) else await self._state.get(tombstone_key(task_id))

    async def deleted_task(self, task_id: str) -> TaskSnapshot | None:
        """The task as it was when deleted (None: not deleted, or deleted before
        tombstones kept it)."""
        item = await self._tombstone(task_id)
        if item is None or not isinstance(item.value, dict) or "task" not in item.value:
            return None
        return TaskSnapshot.model_validate(item.value["task"])

    async def deleted_from(self, task_id: str) -> str | None:
        """The list a deleted task was in (None: never existed, or deleted before lists
        were recorded on tombstones)."""
        item = await self._tombstone(task_id)
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
    in the tasks store. A search then costs one small read instead of re-reading
    thousands of rows. A write updates this replica's copy in place at once (it reads
    its own writes) and marks the list touched; the renewer then replaces the list's
    stamp, which makes every other replica reload it - milliseconds later, and never
    on the write's path. A copy older than `max_age_s` is re-read anyway."""

    def __init__(self, tasks: TaskStore, max_age_s: float = 300.0) -> None:
        self._tasks = tasks
        self._state = tasks.state
        self._max_age_s = max_age_s
        self._lists: dict[str, _Cached] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._touched: set[str] = set()
        self._wake = asyncio.Event()

    async def rows(self, list_ids: list[str]) -> list[dict[str, Any]]:
        stamps = {
            i.key: i.value for i in await self._state.get_bulk([stamp_key(x) for x in list_ids])
        }
        out: list[dict[str, Any]] = []
        for list_id in list_ids:
            stamp = str(stamps.get(stamp_key(list_id)) or "none")
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

    def applied(self, task_id: str, rows: dict[str, dict[str, Any] | None]) -> None:
        """After a commit: the task as it is now in each list (None: gone from it)."""
        for list_id, row in rows.items():
            cached = self._lists.get(list_id)
            if cached is not None:
                if row is None:
                    cached.rows.pop(task_id, None)
                else:
                    cached.rows[task_id] = row
            self._touched.add(list_id)
        self._wake.set()

    def touched(self, list_ids: list[str]) -> None:
        """Lists changed by a write this replica did not make (a swept crash's)."""
        for list_id in list_ids:
            self._lists.pop(list_id, None)
            self._touched.add(list_id)
        self._wake.set()

    async def renew(self) -> int:
        """Replace the stamps of the touched lists; returns how many. Our copy keeps up
        only if nobody else renewed since we validated it; otherwise it is dropped, and
        the stamp still changes so that every other replica reloads too."""
        ids = sorted(self._touched)
        if not ids:
            return 0
        self._touched.difference_update(ids)
        try:
            current = {i.key: i for i in await self._state.get_bulk([stamp_key(x) for x in ids])}
            fresh = {x: uuid.uuid4().hex for x in ids}
            ops, keep = [], []
            for list_id in ids:
                item = current.get(stamp_key(list_id))
                cached = self._lists.get(list_id)
                if cached is not None and cached.stamp == (str(item.value) if item else "none"):
                    keep.append(list_id)
                ops.append(
                    StateOp.insert(stamp_key(list_id), fresh[list_id])
                    if item is None
                    else StateOp.upsert(stamp_key(list_id), fresh[list_id], item.etag)
                )
            try:
                await self._state.transact(ops)
            except EtagMismatch:
                # Another replica renewed meanwhile: we cannot tell what our copies
                # miss. Drop them, and renew blindly so the others reload as well.
                keep = []
                await self._state.transact([StateOp.upsert(stamp_key(x), fresh[x]) for x in ids])
        except Exception:
            self._touched.update(ids)  # the store is away: try again later
            raise
        for list_id in ids:
            cached = self._lists.get(list_id)
            if list_id in keep and cached is not None:
                cached.stamp = fresh[list_id]
            else:
                self._lists.pop(list_id, None)
        return len(ids)

    async def run_renewer(self, every_s: float = 0.05) -> None:
        """Renews touched lists, coalescing the writes of `every_s` into one round."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(every_s)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("search stamp renewal failed (%r); retrying", exc)
                await asyncio.sleep(1.0)
                self._wake.set()
