"""What every request passes before any handler: the app token on non-public routes,
and a bound on the request body.

Only the Dapr sidecar knows the app API token (APP_API_TOKEN, set on the sidecar and
on the app): it sends it as `dapr-api-token` on pub/sub deliveries, job callbacks and
service invocations. Everything except the routes a function names as public
(health probes, todo-api's REST API and web page, realtime's socket) requires it, so
a new internal route is protected without anyone remembering to.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence

from pydantic import SecretStr
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.errors import error_response
from shared.web.metrics import REFUSED

log = logging.getLogger(__name__)

TOKEN_HEADER = b"dapr-api-token"
# Shorter than this is guessable, or a placeholder someone forgot to replace.
MIN_TOKEN_LENGTH = 16
# Policy violation: a WebSocket refused before it is accepted (the client sees 403).
_WS_POLICY = 1008


class StartupRefused(Exception):
    """The function must not start as configured; the message says what to fix."""


def require_app_token(token: SecretStr | None) -> SecretStr:
    if token is None or not token.get_secret_value():
        raise StartupRefused(
            "APP_API_TOKEN is not set: set the same secret on the app and its Dapr sidecar"
        )
    if len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
        raise StartupRefused(f"APP_API_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters")
    return token


def is_public(path: str, public: Sequence[str]) -> bool:
    """`public` holds exact paths and prefixes ending in "/" (other than "/" itself)."""
    for allowed in public:
        prefix = len(allowed) > 1 and allowed.endswith("/")
        if path == allowed or (prefix and path.startswith(allowed)):
            return True
    return False


def client_address(conn: HTTPConnection) -> str:
    """The client's address: the peer, or what a trusted proxy names in X-Forwarded-For
    (uvicorn's proxy headers, FunctionSettings.forwarded_allow_ips)."""
    return conn.client.host if conn.client else "unknown"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class SidecarOnly:
    """Refuses (401) every non-public request that lacks the app token."""

    def __init__(
        self, app: ASGIApp, *, function: str, token: SecretStr, public: Sequence[str]
    ) -> None:
        self.app = app
        self.function = function
        self.token = token.get_secret_value().encode()
        self.public = tuple(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope["path"], self.public):
            await self.app(scope, receive, send)
            return
        sent = _header(scope, TOKEN_HEADER) or b""
        if hmac.compare_digest(sent, self.token):
            await self.app(scope, receive, send)
            return
        REFUSED.labels(self.function, "app_token").inc()
        client = scope.get("client")
        log.warning(
            "refused %s %s from %s: %s app token",
            scope.get("method", "WS"),
            scope["path"],
            client[0] if client else "?",
            "wrong" if sent else "no",
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": _WS_POLICY, "reason": ""})
            return
        response = error_response(
            401, "this route is for the Dapr sidecar only", code="unauthorized"
        )
        await response(scope, receive, send)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodyLimit:
    """413 for a declared Content-Length above the limit, before anything is read; a
    body without one (chunked) fails as soon as what was read passes the limit."""

    def __init__(self, app: ASGIApp, *, function: str, max_bytes: int) -> None:
        self.app = app
        self.function = function
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            REFUSED.labels(self.function, "body_too_large").inc()
            response = error_response(413, f"request body is larger than {self.max_bytes} bytes")
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    REFUSED.labels(self.function, "body_too_large").inc()
                    # Raised inside the handler's read: the error handlers answer 413.
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)
