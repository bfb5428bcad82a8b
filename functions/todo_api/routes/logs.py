"""Logs other functions keep, for the signed-in user: the audit log of their lists and
the reminders delivered to them (over service invocation: functions/todo_api/gateway.py)."""

from __future__ import annotations

from functools import partial

from starlette.responses import JSONResponse, Response

from functions.todo_api.auth import User
from functions.todo_api.gateway import Forwarded, Gateway
from functions.todo_api.http import API, Route
from functions.todo_api.models import AuditQuery, LogPage, PageQuery
from functions.todo_api.service import TaskService
from shared.web.routes import Call, Endpoint


def _answer(page: Forwarded) -> Response:
    return JSONResponse(page.body, status_code=page.status)


class LogRoutes:
    def __init__(self, service: TaskService, gateway: Gateway) -> None:
        self.service = service
        self.gateway = gateway

    async def audit(self, call: Call[User, None, AuditQuery]) -> Response:
        query = call.query
        if query.task_id:  # a task you cannot see has no audit log you can see
            await self.service.visible_task_list(call.user, query.task_id)
        # Membership decides: every event of the lists you are in now.
        params = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
        return _answer(await self.gateway.audit(call.user, params))

    async def notifications(self, call: Call[User, None, PageQuery]) -> Response:
        params = {k: str(v) for k, v in call.query.model_dump(exclude_none=True).items()}
        return _answer(await self.gateway.notifications(call.user, params))

    def endpoints(self) -> list[Route]:
        log = partial(Endpoint, response=LogPage, errors=(503,), tags=("logs",))
        return [
            log(
                "GET",
                f"{API}/audit",
                self.audit,
                "Your audit log, oldest first",
                query=AuditQuery,
                subject="task",
            ),
            log(
                "GET",
                f"{API}/notifications",
                self.notifications,
                "Reminders delivered to you, newest first",
                query=PageQuery,
                subject="notification list",
            ),
        ]
