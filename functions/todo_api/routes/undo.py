"""POST /api/v1/tasks/{task_id}/undo: return a task to where it was before one event of
its history. Thin over UndoService (functions/todo_api/undo_service.py), which the
chat's "undo that" uses too."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from functions.todo_api import domain
from functions.todo_api.auth import User
from functions.todo_api.http import API, Route
from functions.todo_api.models import TaskOut
from functions.todo_api.undo_service import UndoRequest, UndoService
from shared.events import TaskSnapshot
from shared.web.routes import Call, Endpoint


class UndoOut(BaseModel):
    undone: str = Field(description="The event undone.")
    action: Literal["deleted", "restored", "reverted"]
    task: TaskOut | None = Field(description="The task now (none after undoing a creation).")


class UndoRoutes:
    def __init__(self, undo: UndoService) -> None:
        self.service = undo

    async def undo(self, call: Call[User, UndoRequest, None]) -> Response:
        body = call.body
        done = await self.service.apply(
            call.user, call.param("task_id"), body, call.now, call.header("If-Match")
        )
        if done.task is None:
            out = UndoOut(undone=body.event_id, action="deleted", task=None)
            return JSONResponse(out.model_dump(mode="json"))
        assert done.etag is not None
        assert done.action != "deleted"
        return _answer(body.event_id, done.action, done.task, done.etag, call.now, done.status)

    def endpoints(self) -> list[Route]:
        return [
            Endpoint(
                "POST",
                f"{API}/tasks/{{task_id}}/undo",
                self.undo,
                "Undo one change from the task's history (a new write; 412 over newer changes)",
                body=UndoRequest,
                response=UndoOut,
                errors=(403, 404, 409, 412, 503),
                headers_in=("If-Match",),
                subject="task",
                tags=("tasks",),
            )
        ]


def _answer(
    event_id: str,
    action: Literal["restored", "reverted"],
    task: TaskSnapshot,
    etag: str,
    now: datetime,
    status: int,
) -> Response:
    body = {
        "undone": event_id,
        "action": action,
        "task": domain.present(task, now),
    }
    headers = {"ETag": f'"{etag}"'}
    if status == 201:
        headers["Location"] = f"{API}/tasks/{task.id}"
    return JSONResponse(body, status_code=status, headers=headers)
