"""The web UI: static files served by todo-api (no build chain).

`/` is the page; `/static/` holds its CSS and ES modules. There is no build step, so
file names carry no content hash: every response says `no-cache`, which makes the
browser revalidate (a cheap 304 by ETag) and never run a stale module after a deploy.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"

# Everything the page loads comes from this origin; the WebSocket lives on realtime's
# origin (another port locally), hence ws:/wss: in connect-src.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_PAGE_HEADERS = {
    "cache-control": "no-cache",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class _RevalidatedFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["cache-control"] = "no-cache"
        response.headers["x-content-type-options"] = "nosniff"
        if path.endswith(".js"):
            # ES modules must be served as JavaScript whatever the host's mime table says.
            response.headers["content-type"] = "text/javascript; charset=utf-8"
        return response


def web_routes() -> list[BaseRoute]:
    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    return [
        Route("/", index, methods=["GET"]),
        Mount("/static", app=_RevalidatedFiles(directory=STATIC), name="static"),
    ]


class Hsts:
    """Strict-Transport-Security on every response (ASGI): set only where TLS is on."""

    def __init__(self, app: ASGIApp, max_age_s: int) -> None:
        self.app = app
        self.value = f"max-age={max_age_s}; includeSubDomains".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"strict-transport-security", self.value),
                ]
            await send(message)

        await self.app(scope, receive, with_header)
