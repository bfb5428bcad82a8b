"""`python -m functions.<name>` runs the function's app under uvicorn, and its metrics
on their own port."""

from __future__ import annotations

import sys
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from shared.settings import FunctionSettings
from shared.web.edge import StartupRefused
from shared.web.metrics import start_metrics_server


def serve(create_app: Callable[[], Starlette], settings: FunctionSettings) -> None:
    try:
        app = create_app()
    except StartupRefused as exc:
        sys.exit(f"{settings.app_id or 'taskwave'} refuses to start: {exc}")
    start_metrics_server(settings.host, settings.metrics_port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # our JSON logging, set up by the app
        ws_per_message_deflate=False,
        ws_max_size=settings.ws_max_message_bytes,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )
