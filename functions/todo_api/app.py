from __future__ import annotations

from starlette.applications import Starlette

from functions.todo_api.handlers import NAME, internal_routes
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from functions.todo_api.store import TaskStore
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.web.app import create_function_app


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    service = TaskService(TaskStore(sidecar.state(settings.state_store)))
    return create_function_app(
        name=NAME, settings=settings, dapr=sidecar, routes=internal_routes(service, settings)
    )
