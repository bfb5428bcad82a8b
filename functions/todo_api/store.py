"""todo-api's state, through Dapr only.

`tasks` (PostgreSQL v1): task rows `task|<id>`, deletion tombstones `tombstone|<id>`,
the per-list change stamps `liststamp|<list>` that keep each replica's search cache
honest, and the outbox rows of task events. A task write is ONE transaction: the
row, its list's new stamp and the event's outbox row (functions/todo_api/outbox.py).

`kv`: users, lists, memberships and the outbox rows of list events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.dapr import EtagMismatch, StateItem, StateOp, StateStore
from shared.domain.bounds import text_problem
from shared.events import ListSnapshot, Role, TaskSnapshot

QUERY_PAGE = 2000


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
