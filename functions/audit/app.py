from __future__ import annotations

from starlette.applications import Starlette

from functions.audit.handlers import NAME, routes
from functions.audit.service import AuditLog
from functions.audit.settings import Settings
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.web.app import create_function_app
from shared.web.pubsub import DeadLetters


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    audit = AuditLog(sidecar.state(settings.kv_store))
    return create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=routes(audit, DeadLetters(sidecar.publisher), settings),
    )
