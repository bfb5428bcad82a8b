"""Authentication once, at the edge: Starlette's AuthenticationMiddleware with a bearer
token backend. Every request and WebSocket gets `request.user` before any handler
runs, so no handler reads a credential header.

The backend looks at the `Authorization: Bearer` header only; it never takes a token
from the URL, which proxies and access logs keep. A WebSocket whose client cannot set
headers (a browser) starts unauthenticated and signs in with the token of its first
frame through the same backend (`BearerTokens.sign_in`, realtime).

A bad or missing token does not refuse the request here: public routes ignore it. A
route that needs a user calls `signed_in`, which answers 401 with the usual error
envelope and says which it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    UnauthenticatedUser,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response

from shared.dapr.errors import DaprError
from shared.tokens import Claims
from shared.web.errors import ApiError, error_response

P = TypeVar("P")
AUTHENTICATED = "authenticated"  # the scope a valid token grants
MISSING = "missing bearer token"
INVALID = "invalid, expired or signed-out token"


class SignedIn(BaseUser, Generic[P]):
    """An authenticated caller: `principal` is what the function knows of them (todo-api:
    the account; realtime: the user id), `claims` what their token says."""

    def __init__(self, principal: P, claims: Claims, token: str) -> None:
        self.principal = principal
        self.claims = claims
        self.token = token

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.claims.user_id

    @property
    def identity(self) -> str:
        return self.claims.user_id


class Anonymous(UnauthenticatedUser):
    """No user, and why: the 401 a protected route answers says it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Unavailable(AuthenticationError):
    """The token could not be checked now (the store behind it is away): 503."""


# A token's principal and claims when it holds now (signed, unexpired, not signed out).
Resolve = Callable[[str], Awaitable[tuple[P, Claims] | None]]


class BearerTokens(AuthenticationBackend, Generic[P]):
    def __init__(self, resolve: Resolve[P]) -> None:
        self._resolve = resolve

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthCredentials(), Anonymous(MISSING)
        return await self.check(token.strip())

    async def check(self, token: str) -> tuple[AuthCredentials, BaseUser]:
        try:
            found = await self._resolve(token)
        except DaprError as exc:
            raise Unavailable(str(exc)) from exc
        if found is None:
            return AuthCredentials(), Anonymous(INVALID)
        principal, claims = found
        return AuthCredentials([AUTHENTICATED]), SignedIn(principal, claims, token)

    async def sign_in(self, conn: HTTPConnection, token: str) -> BaseUser:
        """Authenticate a token that came after the handshake (a WebSocket's first
        frame): the connection's `user` and `auth` become what the header would have."""
        auth, user = await self.check(token)
        conn.scope["auth"], conn.scope["user"] = auth, user
        return user


def signed_in(conn: HTTPConnection) -> SignedIn[Any]:
    """The connection's user; 401 (with the reason) when there is none."""
    user = conn.scope.get("user")
    if isinstance(user, SignedIn):
        return user
    reason = user.reason if isinstance(user, Anonymous) else MISSING
    raise ApiError(401, reason, code="unauthorized")


def _on_error(_: HTTPConnection, exc: AuthenticationError) -> Response:
    response = error_response(
        503, "a service taskwave depends on is unavailable right now; try again shortly"
    )
    response.headers["retry-after"] = "1"
    return response


def authentication(backend: AuthenticationBackend) -> Middleware:
    """The middleware for create_function_app: it runs after the app-token and body
    checks, so nothing refused there costs a token check."""
    return Middleware(AuthenticationMiddleware, backend=backend, on_error=_on_error)
