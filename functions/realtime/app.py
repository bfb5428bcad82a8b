from __future__ import annotations

from datetime import timedelta

from starlette.applications import Starlette

from functions.realtime.handlers import NAME, routes
from functions.realtime.hub import Hub, Retention
from functions.realtime.settings import Settings
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.tokens import Tokens
from shared.web.app import create_function_app


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    hub = Hub(
        settings.queue_size,
        Retention(
            count=settings.retention,
            user_bytes=settings.retention_user_bytes,
            total_bytes=settings.retention_total_bytes,
            idle_s=settings.retention_idle_s,
        ),
    )
    tokens = Tokens(sidecar.secrets, settings.jwt_secret, ttl=timedelta(0))  # verifies only

    app = create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=routes(hub, tokens, settings, sidecar.invoker),
        public=("/ws",),  # users authenticate on the socket; events come from the sidecar
        ready_checks={"signing_key": tokens.ready},
    )
    app.state.hub = hub
    return app
