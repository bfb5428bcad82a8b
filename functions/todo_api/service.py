"""Task use cases, independent of HTTP. Each write is one state transaction carrying
its event (outbox → task-events); after the commit the client-facing change goes to
task-updates and the list's search stamp is renewed."""

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
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.search import search
from functions.todo_api.store import Conflict, ListCache, TaskExists, TaskStore
from shared.dapr import Publisher
from shared.events import (
    TaskCompleted,
    TaskCreated,
    TaskDeleted,
    TaskEvent,
    TaskReopened,
    TaskSnapshot,
    TaskUpdated,
)
from shared.internal_api import OccurrenceRequest
from shared.topics import Topic

log = logging.getLogger(__name__)


class NotFound(Exception):
    """Missing, or not the caller's: the two are indistinguishable on purpose."""


class PreconditionFailed(Exception):
    """If-Match named a version that is no longer current."""


def _etag_matches(if_match: str | None, etag: str | None) -> bool:
    if if_match is None or if_match.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    return etag is not None and etag in wanted


class TaskService:
    def __init__(self, store: TaskStore, cache: ListCache, publisher: Publisher) -> None:
        self._store = store
        self._cache = cache
        self._publisher = publisher
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

    async def _visible(self, user: User, task_id: str) -> tuple[TaskSnapshot, str | None]:
        found = await self._store.get(task_id)
        if found is None or found[0].list_id not in user.lists:
            raise NotFound(task_id)
        return found

    async def _after_commit(self, event: TaskEvent, row: dict[str, Any] | None) -> str | None:
        """Fan the committed change out; returns the row's new ETag (None once deleted)."""

        async def updates() -> None:
            try:
                await self._publisher.publish(
                    Topic.TASK_UPDATES, event, partition_key=event.user_id
                )
            except Exception:
                # The change and its task-events event are committed; a client that
                # missed this update catches up by reading.
                log.exception("task-updates publish failed for %s", event.task_id)

        async def stamp() -> None:
            try:
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
        rows = await self._cache.rows(list(user.lists))
        return search(rows, params, now)

    # -- writes -------------------------------------------------------------------------

    async def create(
        self, user: User, body: TaskCreate, now: datetime
    ) -> tuple[TaskSnapshot, str | None]:
        task = domain.new_task(
            body,
            task_id=str(uuid.uuid4()),
            list_id=user.default_list,
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
            task, etag = await self._visible(user, task_id)
            if not _etag_matches(if_match, etag):
                raise PreconditionFailed(task_id)
            updated, changed = domain.apply_patch(task, patch, now)
            if not changed:
                return task, etag
            event = TaskUpdated(
                user_id=user.id,
                list_id=task.list_id,
                task_id=task_id,
                task=updated,
                changed=changed,
                occurred_at=now,
            )
            return await self._write(updated, etag, event)

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
            task, etag = await self._visible(user, task_id)
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
        self, task: TaskSnapshot, etag: str | None, event: TaskEvent
    ) -> tuple[TaskSnapshot, str | None]:
        try:
            await self._store.replace(task, etag, event)
        except Conflict as exc:
            raise PreconditionFailed(task.id) from exc
        return task, await self._after_commit(event, task.model_dump(mode="json"))

    async def delete(self, user: User, task_id: str, if_match: str | None, now: datetime) -> None:
        async with self._locked(task_id):
            task, etag = await self._visible(user, task_id)
            if not _etag_matches(if_match, etag):
                raise PreconditionFailed(task_id)
            event = TaskDeleted(
                user_id=user.id, list_id=task.list_id, task_id=task_id, task=task, occurred_at=now
            )
            try:
                await self._store.delete(task, etag, event)
            except Conflict as exc:
                raise PreconditionFailed(task_id) from exc
            await self._after_commit(event, None)

    async def create_occurrence(
        self, request: OccurrenceRequest, now: datetime
    ) -> tuple[TaskSnapshot | None, bool]:
        """The series' next task unless it exists; (None, False) if the user deleted it."""
        existing = await self._store.get(request.task_id)
        if existing is not None:
            return existing[0], False
        if await self._store.deleted(request.task_id):
            return None, False
        # The request carries the task's own fields under the same names.
        copied = {k: v for k, v in request if k in TaskSnapshot.model_fields}
        task = TaskSnapshot(
            id=request.task_id, created_at=now, updated_at=now, created_by=request.user_id, **copied
        )
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
