from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from shared.internal_api import OccurrenceRequest
from shared.web.errors import ApiError
from shared.web.identity import require_caller

NAME = "todo-api"


def internal_routes(service: TaskService, settings: Settings) -> list[Route]:
    async def put_occurrence(request: Request) -> Response:
        require_caller(request, settings.internal_callers, settings.app_api_token)
        body = OccurrenceRequest.model_validate_json(await request.body())
        if request.path_params["task_id"] != body.task_id:
            raise ApiError(422, "task id must be derived from series_id and occurrence")
        task, created = await service.create_occurrence(body, datetime.now(UTC))
        return JSONResponse(task.model_dump(mode="json"), status_code=201 if created else 200)

    return [Route("/internal/v1/tasks/{task_id}", put_occurrence, methods=["PUT"])]
