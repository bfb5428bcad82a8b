"""A route declaration is what the edge enforces: who may call, the body and query
models, the headers read, throttles before the body, the clock, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.testclient import TestClient

from shared.web.errors import EXCEPTION_HANDLERS, ApiError
from shared.web.openapi import document
from shared.web.routes import Call, Edge, Endpoint

NOW = datetime(2027, 1, 31, 9, tzinfo=UTC)
TOKEN = "sidecar-token-0123456789"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str


def _one(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


class Query(BaseModel):
    """Query values arrive as lists (a name may repeat); a single-valued field takes one."""

    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, BeforeValidator(_one)] = 10


class Missing(Exception):
    pass


def _user(conn: HTTPConnection) -> str:
    name = conn.headers.get("x-user")
    if not name:
        raise ApiError(401, "missing bearer token", code="unauthorized")
    return name


def _refusal(exc: Exception, what: str) -> ApiError | None:
    return ApiError(404, f"no such {what}") if isinstance(exc, Missing) else None


def _client(*endpoints: Endpoint) -> TestClient:  # type: ignore[type-arg]
    edge: Edge[str] = Edge(
        user=_user,
        max_body_bytes=64,
        app_api_token=SecretStr(TOKEN),
        refusal=_refusal,
        clock=lambda: NOW,
    )
    app = Starlette(
        routes=[edge.route(ep) for ep in endpoints], exception_handlers=EXCEPTION_HANDLERS
    )
    return TestClient(app, raise_server_exceptions=False)


async def create(call: Call[str, Body, Query]) -> Response:
    return JSONResponse(
        {
            "user": call.user,
            "title": call.body.title,
            "limit": call.query.limit,
            "now": call.now.isoformat(),
            "if_match": call.header("If-Match"),
            "id": call.param("item_id"),
        }
    )


CREATE = Endpoint(
    "POST", "/items/{item_id}", create, "make", body=Body, query=Query, headers_in=("If-Match",)
)


def test_the_handler_gets_what_was_declared_parsed_and_the_clock() -> None:
    resp = _client(CREATE).post(
        "/items/7?limit=3", json={"title": "a"}, headers={"x-user": "ann", "if-match": '"2"'}
    )
    assert resp.status_code == 200
    assert resp.json() == {
        "user": "ann",
        "title": "a",
        "limit": 3,
        "now": NOW.isoformat(),
        "if_match": '"2"',
        "id": "7",
    }


@pytest.mark.parametrize(
    ("url", "body", "status", "field"),
    [
        ("/items/7", {"title": "a", "extra": 1}, 422, "extra"),
        ("/items/7?limit=x", {"title": "a"}, 422, "limit"),
        ("/items/7?limit=1&limit=2", {"title": "a"}, 422, "limit"),
        ("/items/7", ["not", "an", "object"], 422, "body"),
        ("/items/7", {"title": "x" * 100}, 413, None),
    ],
)
def test_what_does_not_match_the_declaration_never_reaches_the_handler(
    url: str, body: object, status: int, field: str | None
) -> None:
    resp = _client(CREATE).post(url, json=body, headers={"x-user": "ann"})
    assert resp.status_code == status
    if field:
        assert field in resp.json()["error"]["message"] or any(
            field in d["field"] for d in resp.json()["error"]["details"]
        )


def test_a_route_that_needs_a_user_answers_401_before_reading_anything() -> None:
    resp = _client(CREATE).post("/items/7", content=b"{not json")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"


def test_internal_routes_need_the_sidecar_and_a_named_caller() -> None:
    async def internal(call: Call[None, None, None]) -> Response:
        return JSONResponse({"ok": True})

    client = _client(Endpoint("GET", "/internal", internal, "x", auth=False, callers={"recurring"}))
    ok = {"dapr-api-token": TOKEN, "dapr-caller-app-id": "recurring"}
    assert client.get("/internal", headers=ok).status_code == 200
    assert client.get("/internal", headers={**ok, "dapr-caller-app-id": "audit"}).status_code == 403
    assert client.get("/internal", headers={**ok, "dapr-api-token": "x"}).status_code == 403


def test_a_throttle_counts_the_request_before_its_body_is_read() -> None:
    seen: list[str] = []

    def admit(_: Request, user: str) -> None:
        seen.append(user)
        raise ApiError(429, "slow down")

    client = _client(Endpoint("POST", "/items/{item_id}", create, "make", body=Body, admit=admit))
    assert client.post("/items/1", content=b"junk", headers={"x-user": "ann"}).status_code == 429
    assert seen == ["ann"]


def test_refusals_are_mapped_with_the_routes_subject_and_others_stay_500() -> None:
    async def missing(call: Call[str, None, None]) -> Response:
        raise Missing()

    async def broken(call: Call[str, None, None]) -> Response:
        raise RuntimeError("bug")

    client = _client(
        Endpoint("GET", "/a", missing, "a", subject="task"),
        Endpoint("GET", "/b", missing, "b"),  # no subject: nothing is mapped
        Endpoint("GET", "/c", broken, "c", subject="task"),
    )
    who = {"x-user": "ann"}
    resp = client.get("/a", headers=who)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == "no such task"
    assert client.get("/b", headers=who).status_code == 500
    assert client.get("/c", headers=who).status_code == 500


def test_the_document_says_what_the_declaration_enforces() -> None:
    doc = document([CREATE], title="t", version="1")
    op = doc["paths"]["/items/{item_id}"]["post"]
    assert op["operationId"] == "create"
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("Body")
    assert {p["name"]: p["in"] for p in op["parameters"]} == {
        "item_id": "path",
        "limit": "query",
        "If-Match": "header",
    }
    assert {"200", "401", "422"} <= set(op["responses"])
    assert op["security"]
