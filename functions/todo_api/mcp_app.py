"""todo-api as a Model Context Protocol server: any agent becomes a client.

Served at `/mcp` over streamable HTTP (the official SDK, stateless, JSON answers), so
every request stands alone and any replica can answer it. Who is acting comes from
the request's bearer token, checked before the SDK sees the request, and is never a
tool argument: a tool reads it from the request scope. Every tool calls the same
TaskService / ListService as the REST API, so the permission table, the events (and
with them audit, reminders, recurring and realtime) and the limits are the same.
Lists and sharing are read-only here for now.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from functions.todo_api import domain
from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, PreconditionFailed
from functions.todo_api.lists import ListService
from functions.todo_api.models import SearchParams, TaskCreate, TaskPatch
from functions.todo_api.search import BadCursor
from functions.todo_api.service import TaskService
from shared.domain.describe import say_when
from shared.domain.recurrence import Recurrence
from shared.events import TaskSnapshot
from shared.web.errors import ApiError

PATH = "/mcp"
_USER = "taskwave.user"  # where the edge of /mcp leaves the signed-in user in the scope

INSTRUCTIONS = """taskwave: the signed-in user's tasks and the lists shared with them.
Dates are RFC 3339 with an offset (2027-01-31T09:00:00+01:00). A task repeats with a
recurrence object such as {"frequency": "weekly", "interval": 2} or {"rrule":
"FREQ=MONTHLY;BYDAY=-1FR"}; reminders are [{"before": "PT15M"}] or [{"at": "<date>"}].
Deleting needs confirm=true; ask the person first."""


# The same user for handlers the SDK gives no Context (static resources): set by the
# edge of /mcp in the request's context, which the SDK's handler task copies.
_current: ContextVar[User | None] = ContextVar("taskwave_mcp_user", default=None)


def _user(ctx: Context | None) -> User:
    request = ctx.request_context.request if ctx is not None else None
    user = request.scope.get(_USER) if isinstance(request, Request) else _current.get()
    if not isinstance(user, User):  # unreachable through /mcp: the edge checked
        raise ToolError("not signed in")
    return user


_Model = TypeVar("_Model", bound=BaseModel)


def _from_args(model: type[_Model], args: dict[str, Any]) -> _Model:
    """A tool's arguments as the service's input model: one left unset (None) takes the
    model's default, as a field left out of a REST body does."""
    return model.model_validate({k: v for k, v in args.items() if v is not None})


def _out(task: TaskSnapshot) -> dict[str, Any]:
    return domain.present(task, datetime.now(UTC))


async def _refusals(call: Awaitable[Any], what: str = "task") -> Any:
    """The service's refusals as tool errors the agent can read (and relay)."""
    try:
        return await call
    except NotFound:
        raise ToolError(f"no such {what}") from None
    except Forbidden:
        raise ToolError(f"your role in this list does not allow that ({what})") from None
    except PreconditionFailed:
        raise ToolError(f"the {what} changed meanwhile; read it again") from None
    except domain.InvalidChange as exc:
        raise ToolError(str(exc)) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        raise ToolError(f"invalid input: {problems}") from None


class TaskwaveMcp:
    def __init__(
        self,
        service: TaskService,
        lists: ListService,
        authenticate: Callable[[Request], User],
    ) -> None:
        self.service = service
        self.lists = lists
        self.authenticate = authenticate
        self.server: MCPServer = MCPServer(
            name="taskwave", instructions=INSTRUCTIONS, version="1.0.0"
        )
        self._register()
        # Bearer tokens, not cookies, authenticate /mcp, so a rebound DNS name gains a
        # page nothing; and behind the ingress the Host is the public name.
        self.manager = StreamableHTTPSessionManager(
            app=self.server._lowlevel_server,
            json_response=True,
            stateless=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=64 * 1024,
        )
        self._stop = asyncio.Event()
        self._running: asyncio.Task[None] | None = None

    # -- lifecycle (todo-api's startup and shutdown hooks) ---------------------------

    async def start(self) -> None:
        started = asyncio.Event()

        async def run() -> None:
            async with self.manager.run():
                started.set()
                await self._stop.wait()

        self._running = asyncio.create_task(run())
        await started.wait()

    async def stop(self) -> None:
        self._stop.set()
        if self._running is not None:
            await self._running

    # -- the edge of /mcp --------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            user = self.authenticate(request)  # request.user, set by the edge
        except ApiError as exc:
            body = {"error": {"code": exc.code, "message": exc.message, "details": []}}
            headers = {"www-authenticate": 'Bearer realm="taskwave"'}
            await JSONResponse(body, status_code=401, headers=headers)(scope, receive, send)
            return
        scope[_USER] = user
        reset = _current.set(user)
        try:
            await self.manager.handle_request(scope, receive, send)
        finally:
            _current.reset(reset)

    def routes(self) -> list[BaseRoute]:
        return [_Exact(PATH, self)]

    # -- tools and resources -----------------------------------------------------------

    def _register(self) -> None:
        mcp = self.server
        service, lists = self.service, self.lists

        @mcp.tool(description="Add a task. Without list_id it goes to the default list.")
        async def add_task(
            ctx: Context,
            title: str,
            due_at: str | None = None,
            list_id: str | None = None,
            description: str = "",
            priority: Literal["low", "medium", "high", "urgent"] = "medium",
            tags: list[str] | None = None,
            timezone: str | None = None,
            recurrence: dict[str, Any] | None = None,
            reminders: list[dict[str, Any]] | None = None,
        ) -> dict[str, Any]:
            fields = {
                "title": title,
                "due_at": due_at,
                "list_id": list_id,
                "description": description,
                "priority": priority,
                "tags": tags or [],
                "timezone": timezone,
                "recurrence": recurrence,
                "reminders": reminders or [],
            }

            async def create() -> tuple[TaskSnapshot, str]:
                body = _from_args(TaskCreate, fields)
                return await service.create(_user(ctx), body, datetime.now(UTC))

            task, _ = await _refusals(create(), "list")
            out = _out(task)
            if task.recurrence is not None and task.due_at is not None:
                out["repeats"] = say_when(task.recurrence, task.due_at, task.timezone, 2)
            return out

        @mcp.tool(
            description="Search tasks: text q, list_id, status (open/completed/all), "
            "priority, tag, due_before/due_after (RFC 3339), overdue, sort "
            "(e.g. ['due_at', '-priority']). Pages with next_cursor."
        )
        async def list_tasks(
            ctx: Context,
            q: str | None = None,
            list_id: str | None = None,
            status: Literal["open", "completed", "all"] = "open",
            priority: list[str] | None = None,
            tag: list[str] | None = None,
            due_before: str | None = None,
            due_after: str | None = None,
            overdue: bool | None = None,
            sort: list[str] | None = None,
            limit: int = 20,
            cursor: str | None = None,
        ) -> dict[str, Any]:
            given = {
                "q": q,
                "list_id": list_id,
                "status": status,
                "priority": priority,
                "tag": tag,
                "due_before": due_before,
                "due_after": due_after,
                "overdue": overdue,
                "sort": sort,
                "limit": limit,
                "cursor": cursor,
            }

            async def search() -> tuple[list[dict[str, Any]], str | None, int]:
                params = _from_args(SearchParams, given)
                return await service.search(_user(ctx), params, datetime.now(UTC))

            try:
                rows, next_cursor, total = await _refusals(search(), "list")
            except BadCursor as exc:
                raise ToolError(str(exc)) from None
            now = datetime.now(UTC)
            items = [domain.present(TaskSnapshot.model_validate(r), now) for r in rows]
            return {"items": items, "next_cursor": next_cursor, "total": total}

        @mcp.tool(description="Read one task by id.")
        async def get_task(ctx: Context, task_id: str) -> dict[str, Any]:
            task, _ = await _refusals(service.get(_user(ctx), task_id))
            return _out(task)

        @mcp.tool(description="Mark a task done (a repeating one then gets its next date).")
        async def complete_task(ctx: Context, task_id: str) -> dict[str, Any]:
            now = datetime.now(UTC)
            task, _ = await _refusals(
                service.set_status(_user(ctx), task_id, "completed", None, now)
            )
            return _out(task)

        @mcp.tool(description="Reopen a completed task.")
        async def reopen_task(ctx: Context, task_id: str) -> dict[str, Any]:
            now = datetime.now(UTC)
            task, _ = await _refusals(service.set_status(_user(ctx), task_id, "open", None, now))
            return _out(task)

        @mcp.tool(
            description="Change a task. `changes` holds only the fields to change: title, "
            "description, priority, tags, due_at, timezone, recurrence, reminders, list_id "
            "(null clears due_at or recurrence)."
        )
        async def update_task(
            ctx: Context, task_id: str, changes: dict[str, Any]
        ) -> dict[str, Any]:
            async def update() -> tuple[TaskSnapshot, str]:
                patch = TaskPatch.model_validate(changes)
                return await service.update(_user(ctx), task_id, patch, None, datetime.now(UTC))

            task, _ = await _refusals(update())
            return _out(task)

        @mcp.tool(
            description="Delete a task. Nothing happens unless confirm is true: ask the "
            "person first."
        )
        async def delete_task(ctx: Context, task_id: str, confirm: bool = False) -> str:
            user = _user(ctx)
            task, _ = await _refusals(service.get(user, task_id))
            if not confirm:
                return f"Not deleted. Call again with confirm=true to delete “{task.title}”."
            await _refusals(service.delete(user, task_id, None, datetime.now(UTC)))
            return f"Deleted “{task.title}”."

        @mcp.tool(description="The lists you are a member of, with your role (read-only).")
        async def list_lists(ctx: Context) -> dict[str, Any]:
            user = _user(ctx)
            return {"items": [_list_out(s, user) for s in await lists.mine(user)]}

        @mcp.tool(
            description="When would a rule fall? The next n dates of a recurrence object "
            "starting at `start` (RFC 3339), and the rule in words."
        )
        async def preview_recurrence(
            ctx: Context,
            recurrence: dict[str, Any],
            start: str,
            timezone: str | None = None,
            n: int = 5,
        ) -> str:
            user = _user(ctx)
            try:
                rec = Recurrence.model_validate(recurrence)
                first = datetime.fromisoformat(start)
                return say_when(rec, first, timezone or user.timezone, n)
            except (ValueError, ValidationError) as exc:
                raise ToolError(f"invalid input: {exc}") from None

        @mcp.resource(
            "taskwave://lists",
            name="lists",
            description="Your lists and their members",
            mime_type="application/json",
        )
        async def all_lists() -> str:
            user = _user(None)
            return json.dumps([_list_out(s, user) for s in await lists.mine(user)])

        @mcp.resource(
            "taskwave://lists/{list_id}",
            name="list",
            description="One list and its open tasks",
            mime_type="application/json",
        )
        async def one_list(list_id: str, ctx: Context) -> str:
            user = _user(ctx)
            snapshot = await _refusals(lists.get(user, list_id), "list")
            params = SearchParams.model_validate(
                {"list_id": list_id, "status": "open", "limit": 500}
            )
            rows, _, total = await service.search(user, params, datetime.now(UTC))
            return json.dumps({**_list_out(snapshot, user), "open_tasks": rows, "total": total})


def _list_out(snapshot: Any, user: User) -> dict[str, Any]:
    body: dict[str, Any] = snapshot.model_dump(mode="json")
    body["role"] = user.roles.get(snapshot.id)
    return body


class _Exact(BaseRoute):
    """`/mcp` itself (and `/mcp/`), any method: the transport answers the rest."""

    def __init__(self, path: str, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.path = path
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].rstrip("/") == self.path:
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
