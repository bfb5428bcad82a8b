from __future__ import annotations

from starlette.applications import Starlette

from functions.realtime.handlers import NAME, routes, session_check, sessions
from functions.realtime.hub import Hub, Retention
from functions.realtime.settings import Settings
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.tokens import Tokens
from shared.web.app import create_function_app
from shared.web.pubsub import DeadLetters


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
    tokens = Tokens(sidecar.secrets, public=settings.jwt_public_secret)  # verifies only
    check = session_check(sidecar.invoker, settings)
    authenticated = sessions(tokens, check)

    app = create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=routes(hub, authenticated, settings, DeadLetters(sidecar.publisher), check),
        public=("/ws",),  # users authenticate on the socket; events come from the sidecar
        ready_checks={"token_keys": tokens.ready},
        # A handshake's Authorization header, if any; a browser's token comes in the
        # socket's first frame, checked by the same backend (functions/realtime/ws.py).
        authentication=authenticated,
    )
    app.state.hub = hub
    return app
