"""What every todo-api handler shares: who is signed in, reading a JSON body, and
use-case refusals as HTTP errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import HTTPConnection, Request

from functions.todo_api import domain
from functions.todo_api.auth import User
from functions.todo_api.errors import Forbidden, NotFound, PreconditionFailed, Refused, UnknownUser
from shared.domain.bounds import unstorable
from shared.web.auth import SignedIn, signed_in
from shared.web.errors import ApiError

API = "/api/v1"
M = TypeVar("M", bound=BaseModel)


def session(conn: HTTPConnection) -> SignedIn[User]:
    """The signed-in session the edge authenticated (shared/web/auth.py); 401 if none."""
    found = signed_in(conn)
    if not isinstance(found.principal, User):  # another backend's user: not ours
        raise ApiError(401, "invalid, expired or signed-out token", code="unauthorized")
    return found


def account(conn: HTTPConnection) -> User:
    return session(conn).principal


async def parse_body(request: Request, model: type[M], limit: int) -> M:
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, f"request body is larger than {limit} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(
            422,
            "request body is not valid JSON",
            details=[{"field": "body", "message": "invalid JSON"}],
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "request body must be a JSON object",
            details=[{"field": "body", "message": "expected an object"}],
        )
    # Text PostgreSQL cannot hold is refused here, so it never reaches a transaction.
    if problems := [{"field": f, "message": m} for f, m in unstorable(data)]:
        fields = ", ".join(p["field"] for p in problems)
        raise ApiError(422, f"invalid fields: {fields}", details=problems)
    return model.model_validate(data)  # a ValidationError becomes a 422 naming the field


R = TypeVar("R")


async def guarded(call: Awaitable[R], what: str) -> R:
    """A use case's refusals as HTTP errors (DESIGN §3: 404 hides what is not yours)."""
    try:
        return await call
    except NotFound:
        raise ApiError(404, f"no such {what}") from None
    except Forbidden:
        raise ApiError(
            403, f"your role in this list does not allow that ({what})", code="forbidden"
        ) from None
    except PreconditionFailed:
        raise ApiError(
            412,
            f"the {what} changed since that version (ETag); read it again",
            code="precondition_failed",
        ) from None
    except Refused as exc:
        raise ApiError(409, str(exc), code=exc.code) from None
    except UnknownUser as exc:
        raise ApiError(
            422,
            "no user has that name",
            details=[{"field": "username", "message": f"unknown user {exc}"}],
        ) from None
    except domain.InvalidChange as exc:
        raise ApiError(422, str(exc)) from None
