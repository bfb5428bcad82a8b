"""Routes for other taskwave functions only (through their Dapr sidecar; the edge
checks the app token and the calling app id): recurring's next occurrence, reminders'
view of a list's members, realtime's question whether a token still holds."""

from __future__ import annotations

from functools import partial

from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import Sessions
from functions.todo_api.http import Route
from functions.todo_api.lists import ListService
from functions.todo_api.models import SessionCheck
from functions.todo_api.routes.lists import present
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from shared.events import ListSnapshot
from shared.internal_api import OccurrenceRequest
from shared.web.errors import ApiError
from shared.web.routes import Call, Endpoint


class InternalRoutes:
    def __init__(
        self, service: TaskService, lists: ListService, sessions: Sessions, settings: Settings
    ) -> None:
        self.service = service
        self.lists = lists
        self.sessions = sessions
        self.settings = settings

    async def put_occurrence(self, call: Call[None, OccurrenceRequest, None]) -> Response:
        if call.param("task_id") != call.body.task_id:
            raise ApiError(422, "task id must be derived from series_id and occurrence")
        task, created = await self.service.create_occurrence(call.body, call.now)
        if task is None:
            raise ApiError(410, "that occurrence was deleted", code="gone")
        return JSONResponse(task.model_dump(mode="json"), status_code=201 if created else 200)

    async def internal_list(self, call: Call[None, None, None]) -> Response:
        """Members of a list, for reminders deciding whom a reminder still reaches."""
        snapshot = await self.lists.lists.get(call.param("list_id"))
        if snapshot is None:  # reminders reads the code: a deleted list reminds nobody
            raise ApiError(404, "no such list", code="not_found")
        return JSONResponse(present(snapshot, None))

    async def check_session(self, call: Call[None, SessionCheck, None]) -> Response:
        """realtime asks whether an open socket's token still holds (revocation)."""
        return JSONResponse({"valid": await self.sessions.resolve(call.body.token) is not None})

    def endpoints(self) -> list[Route]:
        # Not a user's: a Dapr app's, through its sidecar (the app token proves it).
        internal = partial(Endpoint, auth=False, tags=("internal",))
        return [
            internal(
                "PUT",
                "/internal/v1/tasks/{task_id}",
                self.put_occurrence,
                "Next occurrence of a series (recurring only, via Dapr)",
                body=OccurrenceRequest,
                status=201,
                callers=self.settings.internal_callers,
                errors=(403, 410),
                subject="previous occurrence",
            ),
            internal(
                "GET",
                "/internal/v1/lists/{list_id}",
                self.internal_list,
                "A list's members (reminders only, via Dapr)",
                response=ListSnapshot,
                callers=self.settings.internal_callers,
                errors=(403, 404),
            ),
            internal(
                "POST",
                "/internal/v1/sessions/check",
                self.check_session,
                "Whether a token still holds (realtime only, via Dapr)",
                body=SessionCheck,
                response={"type": "object", "properties": {"valid": {"type": "boolean"}}},
                callers=self.settings.session_callers,
                errors=(403,),
            ),
        ]
