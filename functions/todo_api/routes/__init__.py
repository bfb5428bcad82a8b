"""todo-api's HTTP routes, one module per resource. Each declares its endpoints once
(shared/web/routes.py: what a route takes, who may call it); `Routes` serves them all
through todo-api's edge (functions/todo_api/http.py) and writes the OpenAPI document
from the same declarations."""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from functions.todo_api.auth import Accounts, Sessions
from functions.todo_api.chat.engine import ChatEngine
from functions.todo_api.gateway import Gateway
from functions.todo_api.http import API, Route, edge
from functions.todo_api.lists import ListService
from functions.todo_api.models import ClientConfig
from functions.todo_api.routes.auth import AuthRoutes
from functions.todo_api.routes.calendar import CalendarRoutes
from functions.todo_api.routes.chat import ChatRoutes
from functions.todo_api.routes.internal import InternalRoutes
from functions.todo_api.routes.lists import ListRoutes
from functions.todo_api.routes.logs import LogRoutes
from functions.todo_api.routes.preview import PreviewRoutes
from functions.todo_api.routes.tasks import TaskRoutes
from functions.todo_api.routes.undo import UndoRoutes
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from functions.todo_api.undo_service import UndoService
from shared.dapr import StateStore
from shared.web.openapi import document
from shared.web.routes import Call, Endpoint


class Group(Protocol):
    def endpoints(self) -> list[Route]: ...


class Routes:
    def __init__(
        self,
        *,
        service: TaskService,
        lists: ListService,
        accounts: Accounts,
        sessions: Sessions,
        chat: ChatEngine,
        gateway: Gateway,
        undo: UndoService,
        kv: StateStore,
        settings: Settings,
    ) -> None:
        self.service = service
        self.settings = settings
        self.edge = edge(settings)
        self.groups: list[Group] = [
            AuthRoutes(accounts, sessions.tokens, settings),
            TaskRoutes(service),
            UndoRoutes(undo),
            ListRoutes(lists),
            ChatRoutes(chat, settings),
            LogRoutes(service, gateway),
            PreviewRoutes(),
            CalendarRoutes(service, lists, kv, accounts.by_id, settings.max_body_bytes),
            InternalRoutes(service, lists, sessions, settings),
        ]

    # -- meta ----------------------------------------------------------------------------

    async def config(self, call: Call[None, None, None]) -> Response:
        return JSONResponse(ClientConfig(websocket_url=self.settings.websocket_url).model_dump())

    async def openapi(self, call: Call[None, None, None]) -> Response:
        return JSONResponse(self.openapi_document())

    def openapi_document(self) -> dict[str, Any]:
        return document(
            self.endpoints(),
            title="taskwave API",
            version="1.0.0",
            description="Tasks, search, chat and the audit log of taskwave.",
        )

    def endpoints(self) -> list[Route]:
        meta = partial(Endpoint, auth=False, tags=("meta",))
        served: list[Route] = [
            meta(
                "GET",
                f"{API}/config",
                self.config,
                "Where the web UI finds the WebSocket",
                response=ClientConfig,
            ),
            meta("GET", f"{API}/openapi.json", self.openapi, "This document"),
        ]
        return [ep for group in self.groups for ep in group.endpoints()] + served

    def routes(self) -> list[StarletteRoute]:
        return [self.edge.route(ep) for ep in self.endpoints()]
