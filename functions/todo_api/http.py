"""todo-api's HTTP edge: who is signed in, and the use case's refusals as HTTP errors.
Every route is declared with `Endpoint` and served by the `Edge` made here
(shared/web/routes.py); the routes themselves are in functions/todo_api/routes/."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeAlias, TypeVar

from starlette.requests import HTTPConnection

from functions.todo_api import domain
from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, PreconditionFailed, Refused, UnknownUser
from functions.todo_api.gateway import Unavailable
from functions.todo_api.search import BadCursor
from functions.todo_api.settings import Settings
from shared.web.auth import SignedIn, signed_in
from shared.web.errors import ApiError
from shared.web.routes import Edge, Endpoint

API = "/api/v1"
R = TypeVar("R")

# Any of todo-api's route declarations (each handler's Call says what it takes).
Route: TypeAlias = Endpoint[Any, Any, Any]


def session(conn: HTTPConnection) -> SignedIn[User]:
    """The signed-in session the edge authenticated (shared/web/auth.py); 401 if none."""
    found = signed_in(conn)
    if not isinstance(found.principal, User):  # another backend's user: not ours
        raise ApiError(401, "invalid, expired or signed-out token", code="unauthorized")
    return found


def account(conn: HTTPConnection) -> User:
    return session(conn).principal


def refusal(exc: Exception, what: str) -> ApiError | None:
    """A use case's refusal as an HTTP error (DESIGN §3: 404 hides what is not yours)."""
    if isinstance(exc, NotFound):
        return ApiError(404, f"no such {what}")
    if isinstance(exc, Forbidden):
        return ApiError(
            403, f"your role in this list does not allow that ({what})", code="forbidden"
        )
    if isinstance(exc, PreconditionFailed):
        return ApiError(
            412,
            f"the {what} changed since that version (ETag); read it again",
            code="precondition_failed",
        )
    if isinstance(exc, Refused):
        return ApiError(409, str(exc), code=exc.code)
    if isinstance(exc, UnknownUser):
        return ApiError(
            422,
            "no user has that name",
            details=[{"field": "username", "message": f"unknown user {exc}"}],
        )
    if isinstance(exc, domain.InvalidChange):
        return ApiError(422, str(exc))
    if isinstance(exc, BadCursor):
        return ApiError(422, str(exc), details=[{"field": "cursor", "message": str(exc)}])
    if isinstance(exc, Unavailable):
        return ApiError(503, f"the {exc.what} is unavailable right now")
    return None


async def guarded(call: Awaitable[R], what: str) -> R:
    """For the odd step of a route whose refusal names something else than the route's
    subject (undo restoring into a list, say)."""
    try:
        return await call
    except Exception as exc:
        if (refused := refusal(exc, what)) is None:
            raise
        raise refused from None


def edge(settings: Settings) -> Edge[User]:
    return Edge(
        user=account,
        max_body_bytes=settings.max_body_bytes,
        app_api_token=settings.app_api_token,
        refusal=refusal,
    )
