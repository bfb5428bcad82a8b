"""todo-api's HTTP surface: thin handlers that parse, call the service, and present."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions.todo_api import domain
from functions.todo_api.auth import (
    Accounts,
    BadCredentials,
    Sessions,
    User,
    UsernameTaken,
)
from functions.todo_api.chat.engine import ChatEngine
from functions.todo_api.http import API, account, guarded, parse_body, session
from functions.todo_api.list_handlers import ListsApi
from functions.todo_api.lists import ListService
from functions.todo_api.models import (
    AuditQuery,
    ChatRequest,
    ChatResponse,
    ClientConfig,
    LogPage,
    PageQuery,
    Register,
    SearchParams,
    SessionCheck,
    TaskCreate,
    TaskOut,
    TaskPage,
    TaskPatch,
    TokenOut,
    TokenRequest,
    UserOut,
)
from functions.todo_api.search import BadCursor
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from functions.todo_api.throttle import TokenBucket
from functions.todo_api.throttle import from_settings as throttles
from shared.dapr import DaprError, Invoker
from shared.events import TaskSnapshot
from shared.internal_api import OccurrenceRequest
from shared.web.edge import client_address
from shared.web.errors import ApiError
from shared.web.identity import require_caller
from shared.web.openapi import Endpoint, document

NAME = "todo-api"


def _task_response(task: TaskSnapshot, etag: str | None, status: int = 200) -> JSONResponse:
    headers = {"ETag": f'"{etag}"'} if etag else {}
    if status == 201:
        headers["Location"] = f"{API}/tasks/{task.id}"
    return JSONResponse(
        domain.present(task, datetime.now(UTC)), status_code=status, headers=headers
    )


def _user_out(user: User) -> dict[str, Any]:
    return UserOut(
        id=user.id, username=user.username, timezone=user.timezone, default_list=user.default_list
    ).model_dump()


class Api:
    """The routes, each declared once for Starlette and the OpenAPI document."""

    def __init__(
        self,
        service: TaskService,
        lists: ListService,
        accounts: Accounts,
        sessions: Sessions,
        settings: Settings,
        invoker: Invoker,
        chat: ChatEngine,
    ) -> None:
        self.invoker = invoker
        self.chat_engine = chat
        self.service = service
        self.lists = ListsApi(lists, self.user, settings)
        self.accounts = accounts
        self.sessions = sessions
        self.tokens = sessions.tokens
        self.settings = settings
        self.logins, self.registrations = throttles(settings, BadCredentials)
        self.extra: list[Endpoint] = []  # routes of other modules (app.py adds them)
        self.chats = TokenBucket(
            burst=settings.chat_burst,
            per_minute=settings.chat_per_minute,
            max_keys=settings.throttle_max_keys,
        )

    async def user(self, request: Request) -> User:
        """The signed-in user (the edge's authentication backend set it); 401 if none."""
        return account(request)

    async def sign_out(self, request: Request) -> Response:
        claims = session(request).claims
        await self.accounts.sign_out(claims, datetime.now(UTC), everywhere=False)
        return Response(status_code=204)

    async def sign_out_all(self, request: Request) -> Response:
        claims = session(request).claims
        await self.accounts.sign_out(claims, datetime.now(UTC), everywhere=True)
        return Response(status_code=204)

    async def check_session(self, request: Request) -> Response:
        """realtime asks whether an open socket's token still holds (revocation)."""
        require_caller(request, self.settings.session_callers, self.settings.app_api_token)
        body = await parse_body(request, SessionCheck, self.settings.max_body_bytes)
        return JSONResponse({"valid": await self.sessions.resolve(body.token) is not None})

    # -- auth ----------------------------------------------------------------------------

    async def register(self, request: Request) -> Response:
        self.registrations.take(client_address(request), time.monotonic())
        body = await parse_body(request, Register, self.settings.max_body_bytes)
        try:
            user = await self.accounts.register(
                body.username, body.password, body.timezone, datetime.now(UTC)
            )
        except UsernameTaken:
            raise ApiError(409, "that username is taken", code="username_taken") from None
        return JSONResponse(_user_out(user), status_code=201)

    async def token(self, request: Request) -> Response:
        body = await parse_body(request, TokenRequest, self.settings.max_body_bytes)
        try:
            with self.logins.attempt(body.username, client_address(request), time.monotonic()):
                user = await self.accounts.authenticate(body.username, body.password)
        except BadCredentials:
            raise ApiError(401, "wrong username or password", code="unauthorized") from None
        token = await self.tokens.issue(user, datetime.now(UTC), user.token_version)
        out = TokenOut(access_token=token, expires_in=int(self.tokens.ttl.total_seconds()))
        return JSONResponse(out.model_dump())

    async def me(self, request: Request) -> Response:
        user = await self.user(request)
        return JSONResponse(_user_out(user))

    # -- tasks ---------------------------------------------------------------------------

    async def create_task(self, request: Request) -> Response:
        user = await self.user(request)
        body = await parse_body(request, TaskCreate, self.settings.max_body_bytes)
        task, etag = await self._guard(self.service.create(user, body, datetime.now(UTC)))
        return _task_response(task, etag, 201)

    async def list_tasks(self, request: Request) -> Response:
        user = await self.user(request)
        params = SearchParams.from_query(request.query_params.multi_items())
        now = datetime.now(UTC)
        try:
            rows, cursor, total = await guarded(self.service.search(user, params, now), "list")
        except BadCursor as exc:
            raise ApiError(
                422, str(exc), details=[{"field": "cursor", "message": str(exc)}]
            ) from None
        items = [domain.present(TaskSnapshot.model_validate(r), now) for r in rows]
        return JSONResponse({"items": items, "next_cursor": cursor, "total": total})

    async def get_task(self, request: Request) -> Response:
        user = await self.user(request)
        task, etag = await self._guard(self.service.get(user, request.path_params["task_id"]))
        return _task_response(task, etag)

    async def patch_task(self, request: Request) -> Response:
        user = await self.user(request)
        patch = await parse_body(request, TaskPatch, self.settings.max_body_bytes)
        task, etag = await self._guard(
            self.service.update(
                user,
                request.path_params["task_id"],
                patch,
                request.headers.get("if-match"),
                datetime.now(UTC),
            )
        )
        return _task_response(task, etag)

    async def delete_task(self, request: Request) -> Response:
        user = await self.user(request)
        await self._guard(
            self.service.delete(
                user,
                request.path_params["task_id"],
                request.headers.get("if-match"),
                datetime.now(UTC),
            )
        )
        return Response(status_code=204)

    async def complete_task(self, request: Request) -> Response:
        user = await self.user(request)
        task, etag = await self._guard(
            self.service.complete(
                user,
                request.path_params["task_id"],
                request.headers.get("if-match"),
                datetime.now(UTC),
            )
        )
        return _task_response(task, etag)

    async def reopen_task(self, request: Request) -> Response:
        user = await self.user(request)
        task, etag = await self._guard(
            self.service.reopen(
                user,
                request.path_params["task_id"],
                request.headers.get("if-match"),
                datetime.now(UTC),
            )
        )
        return _task_response(task, etag)

    async def _guard(self, call: Awaitable[Any]) -> Any:
        return await guarded(call, "task")

    # -- chat ----------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        user = await self.user(request)
        self.chats.take(user.id, time.monotonic())  # 429 + Retry-After beyond the rate
        body = await parse_body(request, ChatRequest, self.settings.max_body_bytes)
        if not body.message.strip():
            out = ChatResponse(
                reply="Say something like “add call mom tomorrow at 6pm”.",
                actions=[],
                conversation_id=body.conversation_id or "",
            )
            return JSONResponse(out.model_dump())
        reply = await self.chat_engine.handle(
            user, body.message, body.conversation_id, datetime.now(UTC)
        )
        out = ChatResponse(
            reply=reply.reply, actions=reply.actions, conversation_id=reply.conversation_id
        )
        return JSONResponse(out.model_dump())

    # -- logs kept by other functions (Dapr service invocation) -----------------------

    async def audit(self, request: Request) -> Response:
        user = await self.user(request)
        query = AuditQuery.from_query(request.query_params.multi_items())
        params = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
        if query.task_id:  # a task you cannot see has no audit log you can see
            await guarded(self.service.visible_task_list(user, query.task_id), "task")
        # Membership decides: every event of the lists you are in now.
        return await self._relay(
            self.settings.audit_app_id,
            "internal/v1/audit",
            # Sorted: the same memberships make the same query, so cursors stay valid.
            params | {"user_id": user.id, "list_ids": ",".join(sorted(user.lists))},
            "audit log",
        )

    async def notifications(self, request: Request) -> Response:
        user = await self.user(request)
        query = PageQuery.from_query(request.query_params.multi_items())
        params = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
        return await self._relay(
            self.settings.reminders_app_id,
            "internal/v1/notifications",
            params | {"user_id": user.id},
            "notification list",
        )

    async def _relay(self, app_id: str, method: str, params: dict[str, str], what: str) -> Response:
        try:
            resp = await self.invoker.invoke(app_id, method, http_method="GET", params=params)
        except DaprError:
            raise ApiError(503, f"the {what} is unavailable right now") from None
        if resp.status == 200:
            return JSONResponse(resp.body)
        if resp.status == 422 and isinstance(resp.body, dict) and "error" in resp.body:
            return JSONResponse(resp.body, status_code=422)  # e.g. a bad cursor
        raise ApiError(503, f"the {what} is unavailable right now")

    # -- meta ----------------------------------------------------------------------------

    async def config(self, request: Request) -> Response:
        return JSONResponse(ClientConfig(websocket_url=self.settings.websocket_url).model_dump())

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.openapi_document())

    def openapi_document(self) -> dict[str, Any]:
        return document(
            self.endpoints(),
            title="taskwave API",
            version="1.0.0",
            description="Tasks, search, chat and the audit log of taskwave.",
        )

    # -- internal (service invocation) ---------------------------------------------------

    async def put_occurrence(self, request: Request) -> Response:
        require_caller(request, self.settings.internal_callers, self.settings.app_api_token)
        body = await parse_body(request, OccurrenceRequest, self.settings.max_body_bytes)
        if request.path_params["task_id"] != body.task_id:
            raise ApiError(422, "task id must be derived from series_id and occurrence")
        task, created = await guarded(
            self.service.create_occurrence(body, datetime.now(UTC)), "previous occurrence"
        )
        if task is None:
            raise ApiError(410, "that occurrence was deleted", code="gone")
        return JSONResponse(task.model_dump(mode="json"), status_code=201 if created else 200)

    def endpoints(self) -> list[Endpoint]:
        return [*self._endpoints(), *self.lists.endpoints(), *self.extra]

    def _endpoints(self) -> list[Endpoint]:
        task_errors = (403, 404, 412)
        return [
            Endpoint(
                "POST",
                f"{API}/auth/register",
                self.register,
                "Create an account",
                body=Register,
                response=UserOut,
                status=201,
                auth=False,
                errors=(409, 429),
                tags=("auth",),
            ),
            Endpoint(
                "POST",
                f"{API}/auth/token",
                self.token,
                "Sign in: get a bearer token",
                body=TokenRequest,
                response=TokenOut,
                auth=False,
                errors=(429,),
                tags=("auth",),
            ),
            Endpoint(
                "GET", f"{API}/me", self.me, "The signed-in user", response=UserOut, tags=("auth",)
            ),
            Endpoint(
                "POST",
                f"{API}/auth/signout",
                self.sign_out,
                "Sign out: this token stops working at once (its open sockets close)",
                status=204,
                tags=("auth",),
            ),
            Endpoint(
                "POST",
                f"{API}/auth/signout-all",
                self.sign_out_all,
                "Sign out everywhere: every token issued so far stops working",
                status=204,
                tags=("auth",),
            ),
            Endpoint(
                "POST",
                "/internal/v1/sessions/check",
                self.check_session,
                "Whether a token still holds (realtime only, via Dapr)",
                body=SessionCheck,
                response={"type": "object", "properties": {"valid": {"type": "boolean"}}},
                auth=False,
                errors=(403,),
                tags=("internal",),
            ),
            Endpoint(
                "POST",
                f"{API}/tasks",
                self.create_task,
                "Create a task",
                body=TaskCreate,
                response=TaskOut,
                status=201,
                tags=("tasks",),
            ),
            Endpoint(
                "GET",
                f"{API}/tasks",
                self.list_tasks,
                "Search, filter, sort and page",
                query=SearchParams,
                response=TaskPage,
                tags=("tasks",),
            ),
            Endpoint(
                "GET",
                f"{API}/tasks/{{task_id}}",
                self.get_task,
                "Read a task",
                response=TaskOut,
                errors=(404,),
                tags=("tasks",),
            ),
            Endpoint(
                "PATCH",
                f"{API}/tasks/{{task_id}}",
                self.patch_task,
                "Change a task",
                body=TaskPatch,
                response=TaskOut,
                errors=task_errors,
                headers_in=("If-Match",),
                tags=("tasks",),
            ),
            Endpoint(
                "DELETE",
                f"{API}/tasks/{{task_id}}",
                self.delete_task,
                "Delete a task",
                status=204,
                errors=task_errors,
                headers_in=("If-Match",),
                tags=("tasks",),
            ),
            Endpoint(
                "POST",
                f"{API}/tasks/{{task_id}}/complete",
                self.complete_task,
                "Complete a task (again: harmless)",
                response=TaskOut,
                errors=task_errors,
                headers_in=("If-Match",),
                tags=("tasks",),
            ),
            Endpoint(
                "POST",
                f"{API}/tasks/{{task_id}}/reopen",
                self.reopen_task,
                "Reopen a task",
                response=TaskOut,
                errors=task_errors,
                headers_in=("If-Match",),
                tags=("tasks",),
            ),
            Endpoint(
                "POST",
                f"{API}/chat",
                self.chat,
                "Talk to your tasks",
                body=ChatRequest,
                response=ChatResponse,
                tags=("chat",),
            ),
            Endpoint(
                "GET",
                f"{API}/audit",
                self.audit,
                "Your audit log, oldest first",
                query=AuditQuery,
                response=LogPage,
                errors=(503,),
                tags=("logs",),
            ),
            Endpoint(
                "GET",
                f"{API}/notifications",
                self.notifications,
                "Reminders delivered to you, newest first",
                query=PageQuery,
                response=LogPage,
                errors=(503,),
                tags=("logs",),
            ),
            Endpoint(
                "GET",
                f"{API}/config",
                self.config,
                "Where the web UI finds the WebSocket",
                response=ClientConfig,
                auth=False,
                tags=("meta",),
            ),
            Endpoint(
                "GET",
                f"{API}/openapi.json",
                self.openapi,
                "This document",
                auth=False,
                tags=("meta",),
            ),
            Endpoint(
                "PUT",
                "/internal/v1/tasks/{task_id}",
                self.put_occurrence,
                "Next occurrence of a series (recurring only, via Dapr)",
                body=OccurrenceRequest,
                status=201,
                auth=False,
                errors=(403, 410),
                tags=("internal",),
            ),
        ]
