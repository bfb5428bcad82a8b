"""Undo one event of a task's history: the use case behind POST /tasks/{id}/undo and the
chat's "undo that" (functions/todo_api/undo.py plans it; TaskService writes it).

The history comes from audit through the gateway (functions/todo_api/gateway.py), for
the lists the caller is in, as for GET /audit. Undo is a normal write: a new version
and its own event, the caller's role checked by the service. When the task changed
after that event (its version is not the event's), it is refused (412) naming the newer
events, unless the caller confirms with `force`; `If-Match` makes the write conditional
as always. Refusals are ApiErrors already, since the chat, which has no HTTP edge, reads
their status too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, PreconditionFailed
from functions.todo_api.gateway import Gateway
from functions.todo_api.http import guarded
from functions.todo_api.models import TaskCreate, TaskPatch
from functions.todo_api.service import TaskService, etag_matches
from functions.todo_api.undo import NotUndoable, patch_to, plan_undo
from shared.dapr import StateStore
from shared.events import TaskSnapshot
from shared.internal_api import occurrence_id
from shared.web.errors import ApiError


class UndoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=100)
    force: bool = Field(
        default=False, description="Undo even though the task changed after that event."
    )


@dataclass(frozen=True)
class Undone:
    action: Literal["deleted", "restored", "reverted"]
    task: TaskSnapshot | None  # None after undoing a creation
    etag: str | None
    status: int


class UndoService:
    def __init__(self, service: TaskService, gateway: Gateway, kv: StateStore) -> None:
        self.service = service
        self.gateway = gateway
        self.kv = kv

    async def history(self, user: User, task_id: str) -> list[dict[str, Any]]:
        """The task's audit log, oldest first (every event of the lists the user is in)."""
        return await guarded(self.gateway.task_history(user, task_id), "task")

    async def apply(
        self,
        user: User,
        task_id: str,
        body: UndoRequest,
        now: datetime,
        if_match: str | None = None,
    ) -> Undone:
        """The undo itself: ApiError 412 when the task changed after that event and
        `force` is not set."""
        await guarded(self.service.visible_task_list(user, task_id), "task")
        try:
            plan = plan_undo(await self.history(user, task_id), task_id, body.event_id)
        except NotUndoable as exc:
            raise ApiError(
                422, str(exc), details=[{"field": "event_id", "message": str(exc)}]
            ) from None

        if plan.action == "restore":
            assert plan.target is not None
            return await self._restore(user, body.event_id, plan.target, now)

        current, etag = await guarded(self.service.get(user, task_id), "task")
        if not etag_matches(if_match, current.version):
            raise _stale("the task changed since that version (ETag); read it again", [])
        if current.version != plan.version_after and not body.force:
            raise _stale(
                "the task changed after that event; undo anyway with force: true",
                plan.newer,
            )
        if plan.action == "delete":
            await guarded(
                self.service.delete(user, task_id, etag, now, undoes=body.event_id), "task"
            )
            return Undone("deleted", None, None, 200)

        assert plan.target is not None
        task = current
        changes = patch_to(current, plan.target)
        if changes:
            patch = TaskPatch.model_validate(changes)
            task, etag = await guarded(
                self.service.update(user, task_id, patch, etag, now, undoes=body.event_id), "task"
            )
        if task.status != plan.target.status:
            task, etag = await guarded(
                self.service.set_status(
                    user, task_id, plan.target.status, etag, now, undoes=body.event_id
                ),
                "task",
            )
        if plan.event_type == "task.completed" and current.series_id is not None:
            await self._drop_next_occurrence(user, current, now, body.event_id)
        return Undone("reverted", task, etag, 200)

    async def _drop_next_occurrence(
        self, user: User, done: TaskSnapshot, now: datetime, undoes: str
    ) -> None:
        """The occurrence that completion made, unless someone changed it since (version
        1 only). One recurring has not made yet is left alone: it will be made."""
        assert done.series_id is not None
        following = occurrence_id(done.series_id, done.occurrence + 1)
        with contextlib.suppress(NotFound, Forbidden, PreconditionFailed):
            await self.service.delete(user, following, "1", now, undoes=undoes)

    async def _restore(
        self, user: User, event_id: str, target: TaskSnapshot, now: datetime
    ) -> Undone:
        """A deleted task made again, once per deletion: the marker row is taken first
        (insert-if-absent), so a second click or a retry cannot make a second copy."""
        marker = f"undo-restore:{event_id}"
        if not await self.kv.create(marker, {"task_id": None, "at": now.isoformat()}):
            item = await self.kv.get(marker)
            made = item.value.get("task_id") if item else None
            raise ApiError(
                409,
                "that deletion was undone already",
                code="already_undone",
                details={"task_id": made},
            )
        fields = target.model_dump(mode="json")
        create = TaskCreate.model_validate(
            {k: fields[k] for k in TaskCreate.model_fields if k in fields}
        )
        try:
            task, etag = await guarded(
                self.service.create(user, create, now, undoes=event_id), "list"
            )
        except BaseException:
            await self.kv.delete(marker)  # nothing was made: may be tried again
            raise
        await self.kv.save(marker, {"task_id": task.id, "at": now.isoformat()})
        if target.status == "completed":
            task, etag = await guarded(
                self.service.set_status(user, task.id, "completed", etag, now, undoes=event_id),
                "task",
            )
        return Undone("restored", task, etag, 201)


def _stale(message: str, newer: list[str]) -> ApiError:
    return ApiError(412, message, code="precondition_failed", details={"newer_events": newer})
