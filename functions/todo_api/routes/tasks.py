"""Tasks over HTTP: create, search, read, change, delete, complete, reopen (DESIGN §3).
Thin over TaskService; refusals name the task ("no such task")."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from starlette.responses import JSONResponse, Response

from functions.todo_api import domain
from functions.todo_api.auth import User
from functions.todo_api.http import API, Route
from functions.todo_api.models import SearchParams, TaskCreate, TaskOut, TaskPage, TaskPatch
from functions.todo_api.service import TaskService
from shared.events import TaskSnapshot
from shared.web.routes import Call, Endpoint

TASK = f"{API}/tasks/{{task_id}}"


def task_response(
    task: TaskSnapshot, etag: str | None, now: datetime, status: int = 200
) -> JSONResponse:
    headers = {"ETag": f'"{etag}"'} if etag else {}
    if status == 201:
        headers["Location"] = f"{API}/tasks/{task.id}"
    return JSONResponse(domain.present(task, now), status_code=status, headers=headers)


class TaskRoutes:
    def __init__(self, service: TaskService) -> None:
        self.service = service

    async def create_task(self, call: Call[User, TaskCreate, None]) -> Response:
        task, etag = await self.service.create(call.user, call.body, call.now)
        return task_response(task, etag, call.now, 201)

    async def list_tasks(self, call: Call[User, None, SearchParams]) -> Response:
        rows, cursor, total = await self.service.search(call.user, call.query, call.now)
        items = [domain.present(TaskSnapshot.model_validate(r), call.now) for r in rows]
        return JSONResponse({"items": items, "next_cursor": cursor, "total": total})

    async def get_task(self, call: Call[User, None, None]) -> Response:
        task, etag = await self.service.get(call.user, call.param("task_id"))
        return task_response(task, etag, call.now)

    async def patch_task(self, call: Call[User, TaskPatch, None]) -> Response:
        task, etag = await self.service.update(
            call.user, call.param("task_id"), call.body, call.header("If-Match"), call.now
        )
        return task_response(task, etag, call.now)

    async def delete_task(self, call: Call[User, None, None]) -> Response:
        await self.service.delete(
            call.user, call.param("task_id"), call.header("If-Match"), call.now
        )
        return Response(status_code=204)

    async def complete_task(self, call: Call[User, None, None]) -> Response:
        task, etag = await self.service.set_status(
            call.user, call.param("task_id"), "completed", call.header("If-Match"), call.now
        )
        return task_response(task, etag, call.now)

    async def reopen_task(self, call: Call[User, None, None]) -> Response:
        task, etag = await self.service.set_status(
            call.user, call.param("task_id"), "open", call.header("If-Match"), call.now
        )
        return task_response(task, etag, call.now)

    def endpoints(self) -> list[Route]:
        task = partial(Endpoint, subject="task", tags=("tasks",))
        # The writes to one task: conditional on If-Match, refused as the task.
        change = partial(task, errors=(403, 404, 412), headers_in=("If-Match",))
        return [
            task(
                "POST",
                f"{API}/tasks",
                self.create_task,
                "Create a task",
                body=TaskCreate,
                response=TaskOut,
                status=201,
            ),
            task(
                "GET",
                f"{API}/tasks",
                self.list_tasks,
                "Search, filter, sort and page",
                query=SearchParams,
                response=TaskPage,
                subject="list",
            ),
            task("GET", TASK, self.get_task, "Read a task", response=TaskOut, errors=(404,)),
            change(
                "PATCH", TASK, self.patch_task, "Change a task", body=TaskPatch, response=TaskOut
            ),
            change("DELETE", TASK, self.delete_task, "Delete a task", status=204),
            change(
                "POST",
                f"{TASK}/complete",
                self.complete_task,
                "Complete a task (again: harmless)",
                response=TaskOut,
            ),
            change("POST", f"{TASK}/reopen", self.reopen_task, "Reopen a task", response=TaskOut),
        ]
