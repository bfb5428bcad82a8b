"""Tasks over HTTP: create, search, read, change, delete, complete, reopen (DESIGN §3).
Thin over TaskService; refusals name the task ("no such task")."""

from __future__ import annotations

from datetime import datetime

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
        task, etag = await self.service.complete(
            call.user, call.param("task_id"), call.header("If-Match"), call.now
        )
        return task_response(task, etag, call.now)

    async def reopen_task(self, call: Call[User, None, None]) -> Response:
        task, etag = await self.service.reopen(
            call.user, call.param("task_id"), call.header("If-Match"), call.now
        )
        return task_response(task, etag, call.now)

    def endpoints(self) -> list[Route]:
        changes = (403, 404, 412)
        tags = ("tasks",)
        return [
            Endpoint(
                "POST",
                f"{API}/tasks",
                self.create_task,
                "Create a task",
                body=TaskCreate,
                response=TaskOut,
                status=201,
                subject="task",
                tags=tags,
            ),
            Endpoint(
                "GET",
                f"{API}/tasks",
                self.list_tasks,
                "Search, filter, sort and page",
                query=SearchParams,
                response=TaskPage,
                subject="list",
                tags=tags,
            ),
            Endpoint(
                "GET",
                TASK,
                self.get_task,
                "Read a task",
                response=TaskOut,
                errors=(404,),
                subject="task",
                tags=tags,
            ),
            Endpoint(
                "PATCH",
                TASK,
                self.patch_task,
                "Change a task",
                body=TaskPatch,
                response=TaskOut,
                errors=changes,
                headers_in=("If-Match",),
                subject="task",
                tags=tags,
            ),
            Endpoint(
                "DELETE",
                TASK,
                self.delete_task,
                "Delete a task",
                status=204,
                errors=changes,
                headers_in=("If-Match",),
                subject="task",
                tags=tags,
            ),
            Endpoint(
                "POST",
                f"{TASK}/complete",
                self.complete_task,
                "Complete a task (again: harmless)",
                response=TaskOut,
                errors=changes,
                headers_in=("If-Match",),
                subject="task",
                tags=tags,
            ),
            Endpoint(
                "POST",
                f"{TASK}/reopen",
                self.reopen_task,
                "Reopen a task",
                response=TaskOut,
                errors=changes,
                headers_in=("If-Match",),
                subject="task",
                tags=tags,
            ),
        ]
