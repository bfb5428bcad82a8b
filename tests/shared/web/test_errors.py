"""The error envelope for a dependency that is away: 503 (retry), not 500."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.dapr.errors import DaprError, EtagMismatch
from shared.web.errors import EXCEPTION_HANDLERS


def _client(exc: Exception) -> TestClient:
    async def fail(_: Request) -> Response:
        raise exc

    app = Starlette(routes=[Route("/", fail)], exception_handlers=EXCEPTION_HANDLERS)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "exc",
    [
        DaprError("sidecar unreachable: ConnectError()", status=0),
        DaprError("dapr POST /v1.0/state/tasks/transaction: 500 ERR_STATE_TRANSACTION", status=500),
        DaprError("too many requests", status=429),
    ],
)
def test_a_dependency_that_is_away_is_a_503_with_the_envelope(exc: DaprError) -> None:
    resp = _client(exc).get("/")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "1"
    error = resp.json()["error"]
    assert error["code"] == "unavailable"
    assert error["details"] == {}
    assert "ERR_" not in error["message"]
    assert "sidecar" not in error["message"]


@pytest.mark.parametrize(
    "exc",
    [DaprError("dapr: 400 ERR_MALFORMED_REQUEST", status=400), EtagMismatch("x", status=409)],
)
def test_a_request_dapr_refuses_is_our_bug_a_500(exc: DaprError) -> None:
    resp = _client(exc).get("/")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal"
