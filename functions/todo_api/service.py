"""Task use cases, independent of HTTP. Each write is one state transaction carrying
its event (outbox → task-events); after the commit the change goes to task-updates,
once per member of the task's list(s), and the list's search stamp is renewed.

Who may do what is the caller's role in the task's list: viewers read, editors and
owners also write; outsiders get NotFound, exactly as for a task that does not exist."""

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
from functions.todo_api.errors import Forbidden, NotFound, PreconditionFailed
from functions.todo_api.lists import READ, WRITE, Lists, require
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.outbox import publish_to_members
from functions.todo_api.search import search
from functions.todo_api.store import Conflict, ListCache, TaskExists, TaskStore
from shared.dapr import Publisher
from shared.events import (
    Role,
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskEvent,
    TaskReopened,
    TaskSnapshot,
    TaskUpdated,
)
from shared.internal_api import OccurrenceRequest

__all__ = ["Forbidden", "NotFound", "PreconditionFailed", "TaskService"]

log = logging.getLogger(__name__)


def _etag_matches(if_match: str | None, etag: str | None) -> bool:
    if if_match is None or if_match.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    return etag is not None and etag in wanted


class TaskService:
    def __init__(
        self, store: TaskStore, cache: ListCache, publisher: Publisher, lists: Lists
    ) -> None:
        self._store = store
        self._cache = cache
        self._publisher = publisher
        self._lists = lists
        # Writes to one task are serialised in this replica: a losing racer then fails
        # the ETag check before the transaction, instead of inside it, which would
        # leave a message in Dapr's internal outbox topic to be discarded later.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def _locked(self, task_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(task_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[task_id] = lock
        async with lock:
            yield

    async def _visible(
        self, user: User, task_id: str, allowed: frozenset[Role] = READ
    ) -> tuple[TaskSnapshot, str | None]:
        found = await self._store.get(task_id)
        if found is None:
            raise NotFound(task_id)
        require(user, found[0].list_id, allowed)
        return found

    async def _after_commit(
        self,
        event: TaskEvent,
        row: dict[str, Any] | None,
        *,
        moved_from: str | None = None,
        members: list[str] | None = None,
    ) -> str | None:
        """Fan the committed change out; returns the row's new ETag (None once deleted)."""
        lists = [event.list_id] if moved_from is None else [moved_from, event.list_id]

        async def updates() -> None:
            try:
                audience = members
                if audience is None:
                    found = await asyncio.gather(*(self._lists.members(x) for x in lists))
                    audience = [m for ms in found for m in ms]
                await publish_to_members(self._publisher, event, audience)
            except Exception:
                # The change and its task-events event are committed; a client that
                # missed this update catches up by reading.
                log.exception("task-updates publish failed for %s", event.task_id)

        async def stamp() -> None:
            try:
                if moved_from is not None:
                    await self._cache.changed(moved_from, event.task_id, None)
                await self._cache.changed(event.list_id, event.task_id, row)
            except Exception:
                log.exception("search stamp renewal failed for list %s", event.list_id)

        async def etag() -> str | None:
            stored = await self._store.get(event.task_id) if row is not None else None
            return stored[1] if stored else None

        _, _, new_etag = await asyncio.gather(updates(), stamp(), etag())
        return new_etag

    # -- reads --------------------------------------------------------------------------

    async def get(self, user: User, task_id: str) -> tuple[TaskSnapshot, str | None]:
        return await self._visible(user, task_id)

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
        self, user: User, body: TaskCreate, now: datetime
    ) -> tuple[TaskSnapshot, str | None]:
        list_id = body.list_id or user.default_list
        require(user, list_id, WRITE)
        task = domain.new_task(
            body,
            task_id=str(uuid.uuid4()),
            list_id=list_id,
            user_id=user.id,
            user_tz=user.timezone,
            now=now,
        )
        event = TaskCreated(
            user_id=user.id, list_id=task.list_id, task_id=task.id, task=task, occurred_at=now
        )
        await self._store.insert(task, event)
        return task, await self._after_commit(event, task.model_dump(mode="json"))

    async def update(
        self, user: User, task_id: str, patch: TaskPatch, if_match: str | None, now: datetime
    ) -> tuple[TaskSnapshot, str | None]:
        async with self._locked(task_id):
            task, etag = await self._visible(user, task_id, WRITE)
            if patch.list_id is not None and patch.list_id != task.list_id:
                require(user, patch.list_id, WRITE)  # a move needs both lists
            if not _etag_matches(if_match, etag):
                raise PreconditionFailed(task_id)
            updated, changed = domain.apply_patch(task, patch, now)
            if not changed:
                return task, etag
            event = TaskUpdated(
                user_id=user.id,
                list_id=updated.list_id,  # after a move, the list it is in now
                task_id=task_id,
                task=updated,
                changed=changed,
                occurred_at=now,
            )
            moved_from = task.list_id if "list_id" in changed else None
            return await self._write(updated, etag, event, moved_from=moved_from)

    async def complete(
        self, user: User, task_id: str, if_match: str | None, now: datetime
    ) -> tuple[TaskSnapshot, str | None]:
        return await self._transition(user, task_id, if_match, now, completing=True)

    async def reopen(
        self, user: User, task_id: str, if_match: str | None, now: datetime
    ) -> tuple[TaskSnapshot, str | None]:
        return await self._transition(user, task_id, if_match, now, completing=False)

    async def _transition(
        self, user: User, task_id: str, if_match: str | None, now: datetime, *, completing: bool
    ) -> tuple[TaskSnapshot, str | None]:
        async with self._locked(task_id):
            task, etag = await self._visible(user, task_id, WRITE)
            if not _etag_matches(if_match, etag):
                raise PreconditionFailed(task_id)
            changed = domain.complete(task, now) if completing else domain.reopen(task, now)
            if changed is None:  # already so: harmless, no event
                return task, etag
            kind = TaskCompleted if completing else TaskReopened
            event = kind(
                user_id=user.id,
                list_id=task.list_id,
                task_id=task_id,
                task=changed,
                occurred_at=now,
            )
            return await self._write(changed, etag, event)

    async def _write(
        self,
        task: TaskSnapshot,
        etag: str | None,
        event: TaskEvent,
        *,
        moved_from: str | None = None,
    ) -> tuple[TaskSnapshot, str | None]:
        try:
            await self._store.replace(task, etag, event)
        except Conflict as exc:
            raise PreconditionFailed(task.id) from exc
        row = task.model_dump(mode="json")
        return task, await self._after_commit(event, row, moved_from=moved_from)

    async def delete(self, user: User, task_id: str, if_match: str | None, now: datetime) -> None:
        async with self._locked(task_id):
            task, etag = await self._visible(user, task_id, WRITE)
            if not _etag_matches(if_match, etag):
                raise PreconditionFailed(task_id)
            await self._delete(task, etag, user.id, now)

    async def _delete(
        self,
        task: TaskSnapshot,
        etag: str | None,
        actor: str,
        now: datetime,
        members: list[str] | None = None,
    ) -> None:
        event = TaskDeleted(
            user_id=actor, list_id=task.list_id, task_id=task.id, task=task, occurred_at=now
        )
        try:
            await self._store.delete(task, etag, event)
        except Conflict as exc:
            raise PreconditionFailed(task.id) from exc
        await self._after_commit(event, None, members=members)

    async def purge_list(self, list_id: str, actor: str, now: datetime) -> int:
        """The tasks of a list just deleted, each with its event (reminders cancel, audit
        records); their members were told by list.deleted, so only the actor's feed gets
        the copies the fast consumers read."""
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
        """The series' next task unless it exists; (None, False) if the user deleted it."""
        existing = await self._store.get(request.task_id)
        if existing is not None:
            return existing[0], False
        if await self._store.deleted(request.task_id):
            return None, False
        if await self._lists.get(request.list_id) is None:
            return None, False  # the list is gone: the series ends with it
        # The request carries the task's own fields under the same names.
        copied = {k: v for k, v in request if k in TaskSnapshot.model_fields}
        copied["created_by"] = copied.get("created_by") or request.user_id
        task = TaskSnapshot(id=request.task_id, created_at=now, updated_at=now, **copied)
        event = TaskCreated(
            user_id=request.user_id,
            list_id=task.list_id,
            task_id=task.id,
            task=task,
            occurred_at=now,
        )
        try:
            await self._store.insert(task, event)
        except TaskExists:
            again = await self._store.get(task.id)
            if again is None:
                raise
            return again[0], False
        await self._after_commit(event, task.model_dump(mode="json"))
        return task, True
