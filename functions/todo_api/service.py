"""Task use cases, independent of HTTP. Each write is ONE state transaction: the task
row and the event's outbox row; after the commit the relay publishes the event to
task-events and a copy per member of the task's list(s) to task-updates
(functions/todo_api/outbox.py), and the search cache moves with it (list_cache.py).

Who may do what is the caller's role in the task's list: viewers read, editors and
owners also write; outsiders get NotFound, exactly as for a task that does not exist.
The ETag a client sees is the task's version, so a write needs no read after it."""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from functions.todo_api import domain
from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, PreconditionFailed, Refused
from functions.todo_api.limits import LimitReached, Limits
from functions.todo_api.list_cache import ListCache
from functions.todo_api.lists import READ, WRITE, Lists, require
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.outbox import Outbox
from functions.todo_api.search import search
from functions.todo_api.store import Conflict, TaskStore
from shared.dapr import StateOp
from shared.domain.series import next_due
from shared.events import (
    Role,
    Status,
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskEvent,
    TaskReopened,
    TaskSnapshot,
    TaskUpdated,
)
from shared.internal_api import OccurrenceRequest

__all__ = ["Forbidden", "NotFound", "PreconditionFailed", "TaskService", "etag_matches"]

log = logging.getLogger(__name__)


def etag_matches(if_match: str | None, version: int) -> bool:
    """Whether an If-Match header (absent, "*", or a list of possibly weak tags) names
    this version."""
    if if_match is None or if_match.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    return str(version) in wanted


def _completion(previous: TaskSnapshot, request: OccurrenceRequest) -> datetime | None:
    """When the occurrence the request follows was completed, or None if it never was.
    A task reopened since is open in the store, but the completion event it names still
    happened: it came before the stored version and before the reopening."""
    if previous.completed_at is not None:
        return previous.completed_at
    claimed, version = request.completed_at, request.completed_version
    if claimed is None or version is None or version >= previous.version:
        return None
    return claimed if claimed <= previous.updated_at else None


def etag(task: TaskSnapshot) -> str:
    return str(task.version)


Found = tuple[TaskSnapshot, str | None]


class TaskService:
    def __init__(
        self,
        store: TaskStore,
        cache: ListCache,
        outbox: Outbox,
        lists: Lists,
        limits: Limits | None = None,
    ) -> None:
        self._limits = limits or Limits()
        self._store = store
        self._cache = cache
        self._outbox = outbox
        self._lists = lists
        # Writes to one task are serialised in this replica: racing requests wait here
        # instead of failing their transaction.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def _locked(self, task_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(task_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[task_id] = lock
        async with lock:
            yield

    async def _visible(self, user: User, task_id: str, allowed: frozenset[Role] = READ) -> Found:
        found = await self._store.get(task_id)
        if found is None:
            raise NotFound(task_id)
        require(user, found[0].list_id, allowed)
        return found

    async def _commit(
        self,
        event: TaskEvent,
        ops: list[StateOp],
        rows: dict[str, dict[str, Any] | None],
        members: list[str] | None = None,
    ) -> None:
        """One transaction: `ops` and the event's outbox row; then the relay takes the
        event (to the members of the lists in `rows`, or to `members`) and this replica's
        search cache moves with the change. Conflict if `ops` lost a race."""
        row, pending = self._outbox.pending(
            self._store.name, event, event.occurred_at, members=members, lists=rows
        )
        await self._store.transact([*ops, row])
        self._outbox.committed(pending)
        self._cache.applied(event.task_id, rows)

    # -- reads --------------------------------------------------------------------------

    async def get(self, user: User, task_id: str) -> tuple[TaskSnapshot, str]:
        task, _ = await self._visible(user, task_id)
        return task, etag(task)

    async def search(
        self, user: User, params: SearchParams, now: datetime
    ) -> tuple[list[dict[str, Any]], str | None, int]:
        if params.list_id is not None:
            require(user, params.list_id, READ)
        lists = [params.list_id] if params.list_id else list(user.lists)
        rows = await self._cache.rows(lists)
        return search(rows, params, now)

    # -- writes -------------------------------------------------------------------------

    async def create(
        self, user: User, body: TaskCreate, now: datetime, *, undoes: str | None = None
    ) -> tuple[TaskSnapshot, str]:
        list_id = body.list_id or user.default_list
        require(user, list_id, WRITE)
        await self._within_limits(user, len(body.reminders))
        task = domain.new_task(
            body,
            task_id=str(uuid.uuid4()),
            list_id=list_id,
            user_id=user.id,
            user_tz=user.timezone,
            now=now,
        )
        event = TaskCreated(
            user_id=user.id,
            list_id=task.list_id,
            task_id=task.id,
            task=task,
            occurred_at=now,
            undoes=undoes,
        )
        await self._commit(
            event, [self._store.insert_op(task)], {list_id: task.model_dump(mode="json")}
        )
        return task, etag(task)

    async def _within_limits(self, user: User, new_reminders: int) -> None:
        """Tasks, and reminders (each a scheduled job), in the caller's lists, as this
        replica's cache holds them (no read when its copies were checked a moment ago)."""
        rows = await self._cache.rows_for_limits(list(user.lists))
        limit = self._limits
        if len(rows) >= limit.tasks_per_account:
            raise LimitReached(
                f"Your lists hold {len(rows)} tasks, the most one account can have "
                f"({limit.tasks_per_account}). Delete some done or old tasks first."
            )
        if new_reminders:
            jobs = sum(len(r.get("reminders") or []) for r in rows if r.get("status") == "open")
            if jobs + new_reminders > limit.jobs_per_user:
                raise LimitReached(
                    f"Your open tasks have {jobs} reminders, and at most "
                    f"{limit.jobs_per_user} can be scheduled for one account. Remove some "
                    f"reminders, or complete tasks, first."
                )

    async def update(
        self,
        user: User,
        task_id: str,
        patch: TaskPatch,
        if_match: str | None,
        now: datetime,
        *,
        undoes: str | None = None,
    ) -> tuple[TaskSnapshot, str]:
        async with self._locked(task_id):
            task, store_etag = await self._visible(user, task_id, WRITE)
            if patch.list_id is not None and patch.list_id != task.list_id:
                require(user, patch.list_id, WRITE)  # a move needs both lists
            if not etag_matches(if_match, task.version):
                raise PreconditionFailed(task_id)
            updated, changed = domain.apply_patch(task, patch, now)
            if not changed:
                return task, etag(task)
            event = TaskUpdated(
                user_id=user.id,
                list_id=updated.list_id,  # after a move, the list it is in now
                task_id=task_id,
                task=updated,
                changed=changed,
                occurred_at=now,
                undoes=undoes,
            )
            rows: dict[str, dict[str, Any] | None] = {}
            if "list_id" in changed:
                rows[task.list_id] = None  # gone from there; its members hear of it too
            rows[updated.list_id] = updated.model_dump(mode="json")
            return await self._write(updated, store_etag, event, rows)

    async def set_status(
        self,
        user: User,
        task_id: str,
        status: Status,
        if_match: str | None,
        now: datetime,
        *,
        undoes: str | None = None,
    ) -> tuple[TaskSnapshot, str]:
        """Complete ("completed") or reopen ("open") a task."""
        async with self._locked(task_id):
            task, store_etag = await self._visible(user, task_id, WRITE)
            if not etag_matches(if_match, task.version):
                raise PreconditionFailed(task_id)
            completing = status == "completed"
            changed = domain.complete(task, now) if completing else domain.reopen(task, now)
            if changed is None:  # already so: harmless, no event
                return task, etag(task)
            kind = TaskCompleted if completing else TaskReopened
            event = kind(
                user_id=user.id,
                list_id=task.list_id,
                task_id=task_id,
                task=changed,
                occurred_at=now,
                undoes=undoes,
            )
            rows: dict[str, dict[str, Any] | None] = {task.list_id: changed.model_dump(mode="json")}
            return await self._write(changed, store_etag, event, rows)

    async def _write(
        self,
        task: TaskSnapshot,
        store_etag: str | None,
        event: TaskEvent,
        rows: dict[str, dict[str, Any] | None],
    ) -> tuple[TaskSnapshot, str]:
        try:
            await self._commit(event, [self._store.replace_op(task, store_etag)], rows)
        except Conflict as exc:
            raise PreconditionFailed(task.id) from exc
        return task, etag(task)

    async def delete(
        self,
        user: User,
        task_id: str,
        if_match: str | None,
        now: datetime,
        *,
        undoes: str | None = None,
    ) -> None:
        async with self._locked(task_id):
            task, store_etag = await self._visible(user, task_id, WRITE)
            if not etag_matches(if_match, task.version):
                raise PreconditionFailed(task_id)
            await self._delete(task, store_etag, user.id, now, undoes=undoes)

    async def _delete(
        self,
        task: TaskSnapshot,
        store_etag: str | None,
        actor: str,
        now: datetime,
        members: list[str] | None = None,
        undoes: str | None = None,
    ) -> None:
        event = TaskDeleted(
            user_id=actor,
            list_id=task.list_id,
            task_id=task.id,
            task=task,
            occurred_at=now,
            undoes=undoes,
        )
        ops = self._store.delete_ops(task, store_etag, now)
        try:
            await self._commit(event, ops, {task.list_id: None}, members)
        except Conflict as exc:
            raise PreconditionFailed(task.id) from exc

    async def purge_list(self, list_id: str, actor: str, now: datetime) -> int:
        """The tasks of a list just deleted, each with its event (reminders cancel, audit
        records); their members were told by list.deleted, so only the actor's feed gets
        a copy."""
        purged = 0
        for row in await self._store.rows_of_list(list_id):
            task = TaskSnapshot.model_validate(row)
            async with self._locked(task.id):
                found = await self._store.get(task.id)
                if found is None:
                    continue
                try:
                    await self._delete(found[0], found[1], actor, now, members=[actor])
                except PreconditionFailed:
                    continue  # changed meanwhile; still in a list nobody sees
                purged += 1
        return purged

    async def visible_task_list(self, user: User, task_id: str) -> str:
        """The list of a task, even a deleted one, if the caller may read it (for /audit)."""
        found = await self._store.get(task_id)
        list_id = found[0].list_id if found else await self._store.deleted_from(task_id)
        if list_id is None:
            raise NotFound(task_id)
        require(user, list_id, READ)
        return list_id

    async def create_occurrence(
        self, request: OccurrenceRequest, now: datetime
    ) -> tuple[TaskSnapshot | None, bool]:
        """The series' next task unless it exists; (None, False) if the user deleted it
        or the series has ended. Made from todo-api's OWN stored previous occurrence
        (or its tombstone): list, creator, fields and due date; the request only names
        which one. NotFound/InvalidChange for a request that does not match it."""
        found = await self._store.get(request.previous_task_id)
        previous = found[0] if found else await self._store.deleted_task(request.previous_task_id)
        if previous is None:
            raise NotFound(request.previous_task_id)
        if (
            (previous.series_id or previous.id) != request.series_id
            or previous.occurrence + 1 != request.occurrence
            or previous.list_id != request.list_id
        ):
            raise domain.InvalidChange("not the next occurrence of that task's series")
        existing = await self._store.get(request.task_id)
        if existing is not None:
            return existing[0], False
        if await self._store.deleted(request.task_id):
            return None, False
        completed_at = _completion(previous, request)
        if completed_at is None:
            raise Refused("the previous occurrence is not completed")
        # The completion's own time, as recurring uses: a replay gives the same date.
        try:
            due = next_due(previous, completed_at)
        except ValueError as exc:
            raise domain.InvalidChange(f"unusable recurrence: {exc}") from None
        if due is None:
            return None, False
        if await self._lists.get(previous.list_id) is None:
            return None, False  # the list is gone: the series ends with it
        task = previous.model_copy(
            update={
                "id": request.task_id,
                "due_at": due,
                "status": "open",
                "completed_at": None,
                "series_id": request.series_id,
                "series_start": previous.series_start or previous.due_at,
                "occurrence": request.occurrence,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        event = TaskCreated(
            user_id=previous.created_by or request.user_id,
            list_id=task.list_id,
            task_id=task.id,
            task=task,
            occurred_at=now,
        )
        async with self._locked(task.id):
            try:
                row = task.model_dump(mode="json")
                await self._commit(event, [self._store.insert_op(task)], {task.list_id: row})
            except Conflict:
                again = await self._store.get(task.id)
                if again is None:
                    raise
                return again[0], False
        return task, True
