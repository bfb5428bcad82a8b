"""Serving an HTTP route from one declaration: the HTTP twin of shared/web/pubsub.py.

An `Endpoint` says what a route takes (who may call, its body and query models, the
headers it reads) and `Edge.route` turns it into a Starlette route that enforces just
that before the handler runs: the signed-in user (401), the calling service (403),
throttles that must count a request before its body is read, the query and the JSON
body parsed into their models (413/422), and the clock read once. The handler gets a
typed `Call` and maps nothing itself: the use case's refusals become HTTP errors by
the edge's `refusal` (given the route's `subject`, "no such task"). The OpenAPI
document (shared/web/openapi.py) is written from the same declarations, so it says
what the code enforces.

Routes of one group that share settings (tags, subject, errors) declare them once with
`functools.partial(Endpoint, ...)`: mypy checks a partial's arguments as it checks the
class, and it is resolved when the app is built, not per request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, SecretStr
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from shared.domain.bounds import unstorable
from shared.web.errors import ApiError
from shared.web.identity import require_caller

P = TypeVar("P")  # who calls: the edge's signed-in principal (None on public routes)
B = TypeVar("B")  # the declared body model (None without one)
Q = TypeVar("Q")  # the declared query model (None without one)
M = TypeVar("M", bound=BaseModel)

Clock = Callable[[], datetime]
# A use case's refusal as an HTTP error (the route's subject names what was refused),
# or None for an exception the edge does not know: it stays a 500.
Refusal = Callable[[Exception, str], ApiError | None]


@dataclass(frozen=True)
class Call(Generic[P, B, Q]):
    """One request as its route declared it."""

    request: Request
    user: P
    body: B
    query: Q
    now: datetime
    headers: Mapping[str, str | None] = field(default_factory=dict)

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def header(self, name: str) -> str | None:
        """A header the route declares (`headers_in`); reading another is a bug (KeyError),
        so the document lists every header the code reads."""
        return self.headers[name.lower()]


Handler = Callable[[Call[P, B, Q]], Awaitable[Response]]
Admit = Callable[[Request, P], None]


@dataclass(frozen=True)
class Endpoint(Generic[P, B, Q]):
    method: str
    path: str
    handler: Handler[P, B, Q]
    summary: str
    body: type[B] | None = None
    query: type[Q] | None = None
    response: type[BaseModel] | dict[str, Any] | None = None
    status: int = 200
    auth: bool = True  # a signed-in user, or 401
    errors: tuple[int, ...] = ()
    headers_in: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Only these Dapr apps, through their sidecar (internal routes), or 403.
    callers: Collection[str] = ()
    # What a refusal of the use case names ("task": 404 "no such task"); "" maps none.
    subject: str = ""
    # Runs after authentication, before the body is read (throttles: 429).
    admit: Admit[P] | None = None

    @property
    def name(self) -> str:
        return getattr(self.handler, "__name__", "handler")


def _grouped(request: Request) -> dict[str, list[str]]:
    """Query parameters as lists, so a model can refuse a repeated single-valued one: a
    query model's single-valued fields take a list of one (todo-api's models.One)."""
    grouped: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        grouped.setdefault(key, []).append(value)
    return grouped


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


def _now() -> datetime:
    return datetime.now(UTC)


class Edge(Generic[P]):
    """What every route of one app shares: who is signed in, the app token that proves a
    sidecar, the body limit, the clock, and how refusals read over HTTP."""

    def __init__(
        self,
        *,
        user: Callable[[HTTPConnection], P],
        max_body_bytes: int,
        app_api_token: SecretStr | None = None,
        refusal: Refusal | None = None,
        clock: Clock = _now,
    ) -> None:
        self.user = user
        self.max_body_bytes = max_body_bytes
        self.app_api_token = app_api_token
        self.refusal = refusal
        self.clock = clock

    def route(self, ep: Endpoint[Any, Any, Any]) -> Route:
        async def endpoint(request: Request) -> Response:
            user = self.user(request) if ep.auth else None
            if ep.callers:
                require_caller(request, ep.callers, self.app_api_token)
            if ep.admit is not None:
                ep.admit(request, user)
            query = ep.query.model_validate(_grouped(request)) if ep.query else None
            body = await parse_body(request, ep.body, self.max_body_bytes) if ep.body else None
            headers = {h.lower(): request.headers.get(h) for h in ep.headers_in}
            call = Call(request, user, body, query, self.clock(), headers)
            try:
                return await ep.handler(call)
            except Exception as exc:
                refused = self.refusal(exc, ep.subject) if self.refusal and ep.subject else None
                if refused is None:
                    raise
                raise refused from None

        endpoint.__name__ = ep.name
        return Route(ep.path, endpoint, methods=[ep.method])
