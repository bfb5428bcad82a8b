from __future__ import annotations

from starlette.applications import Starlette

from functions.recurring.handlers import NAME, routes
from functions.recurring.schedule import next_due
from functions.recurring.service import Recurrer
from functions.recurring.settings import Settings
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.web.app import create_function_app
from shared.web.pubsub import DeadLetters


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    recurrer = Recurrer(sidecar.invoker, next_due, settings.todo_api_app_id)
    return create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=routes(recurrer, DeadLetters(sidecar.publisher)),
    )
