"""The frame every function app shares: health, readiness, errors, telemetry, and the
edge (app token, body limit). Metrics have their own port (shared/web/serve.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.authentication import AuthenticationBackend
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shared.dapr import Dapr
from shared.settings import FunctionSettings
from shared.telemetry import setup_logging, setup_tracing
from shared.web.auth import authentication as auth_middleware
from shared.web.edge import BodyLimit, SidecarOnly, require_app_token
from shared.web.errors import EXCEPTION_HANDLERS
from shared.web.middleware import TelemetryMiddleware

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[bool]]
Hook = Callable[[], Awaitable[None]]

# Probes: the kubelet calls them without any credential.
PROBES = ("/healthz", "/readyz")


def create_function_app(
    *,
    name: str,
    settings: FunctionSettings,
    dapr: Dapr,
    routes: Sequence[BaseRoute],
    public: Sequence[str] = (),
    ready_checks: dict[str, ReadyCheck] | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    authentication: AuthenticationBackend | None = None,
) -> Starlette:
    """`public` names the routes anyone may call (exact paths, or prefixes ending in
    "/"); every other route answers only the Dapr sidecar (the app API token). Without
    that token the function refuses to start (StartupRefused). `authentication` sets
    `request.user` for every request and socket (shared/web/auth.py)."""
    token = require_app_token(settings.app_api_token)
    setup_logging(name, settings.log_level, settings.log_json)
    setup_tracing(name, settings.otel_endpoint)
    checks: dict[str, ReadyCheck] = {"sidecar": dapr.ready, **(ready_checks or {})}

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "function": name})

    async def readyz(_: Request) -> Response:
        results = {}
        for check, probe in checks.items():
            try:
                results[check] = await probe()
            except Exception:  # a failing probe means "not ready", not a 500
                log.exception("readiness check %s failed", check)
                results[check] = False
        ok = all(results.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": results},
            status_code=200 if ok else 503,
        )

    all_routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *routes,
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for hook in on_startup:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook()
            await dapr.aclose()

    app = Starlette(
        routes=all_routes,
        middleware=[
            Middleware(TelemetryMiddleware, function=name, routes=all_routes),
            Middleware(SidecarOnly, function=name, token=token, public=(*PROBES, *public)),
            Middleware(BodyLimit, function=name, max_bytes=settings.max_body_bytes),
            *([auth_middleware(authentication)] if authentication else []),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.dapr = dapr
    app.state.settings = settings
    return app
