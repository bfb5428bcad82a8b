"""`python -m functions.<name>` runs the function's app under uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from shared.settings import FunctionSettings


def serve(create_app: Callable[[], Starlette], settings: FunctionSettings) -> None:
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        log_config=None,  # our JSON logging, set up by the app
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=10,
    )
