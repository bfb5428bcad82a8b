"""Authentication at the edge: the backend sets request.user for HTTP and WebSocket
from the Authorization header only; protected routes answer 401 in the error envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from shared.dapr import DaprError
from shared.dapr.fake import FakeDapr
from shared.settings import FunctionSettings
from shared.tokens import Claims
from shared.web.app import create_function_app
from shared.web.auth import BearerTokens, SignedIn, signed_in

CLAIMS = Claims(user_id="u1", token_id="j1", version=0, expires_at=datetime(2030, 1, 1, tzinfo=UTC))
GOOD, DOWN = "good-token", "store-is-down"


async def resolve(token: str) -> tuple[str, Claims] | None:
    if token == DOWN:
        raise DaprError("state store unavailable", status=500)
    return ("ann", CLAIMS) if token == GOOD else None


def _client() -> TestClient:
    backend = BearerTokens(resolve)

    async def me(request: Request) -> Response:
        user = signed_in(request)
        return JSONResponse({"name": user.principal, "id": user.identity})

    async def public(request: Request) -> Response:
        return JSONResponse({"authenticated": request.user.is_authenticated})

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if not ws.user.is_authenticated:  # a browser: the token comes in the first frame
            await backend.sign_in(ws, (await ws.receive_json())["token"])
        user = ws.user
        await ws.send_json({"name": user.principal if isinstance(user, SignedIn) else None})
        await ws.close()

    app = create_function_app(
        name="auth-test",
        settings=FunctionSettings(),
        dapr=FakeDapr(),
        routes=[
            Route("/me", me),
            Route("/public", public),
            WebSocketRoute("/ws", socket),
        ],
        public=("/me", "/public", "/ws"),
        authentication=backend,
    )
    return TestClient(app, raise_server_exceptions=False)


def test_a_valid_bearer_token_becomes_request_user() -> None:
    resp = _client().get("/me", headers={"authorization": f"Bearer {GOOD}"})
    assert resp.status_code == 200
    assert resp.json() == {"name": "ann", "id": "u1"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing bearer token"),
        ({"authorization": f"Basic {GOOD}"}, "missing bearer token"),
        ({"authorization": "Bearer forged"}, "invalid, expired or signed-out token"),
    ],
)
def test_a_protected_route_answers_401_in_the_envelope(
    headers: dict[str, str], message: str
) -> None:
    resp = _client().get("/me", headers=headers)
    assert resp.status_code == 401
    assert resp.json() == {"error": {"code": "unauthorized", "message": message, "details": {}}}


def test_a_bad_token_does_not_close_a_public_route() -> None:
    resp = _client().get("/public", headers={"authorization": "Bearer forged"})
    assert resp.status_code == 200
    assert resp.json() == {"authenticated": False}


def test_a_token_in_the_url_is_not_a_credential() -> None:
    resp = _client().get(f"/me?token={GOOD}&access_token={GOOD}")
    assert resp.status_code == 401


def test_a_store_that_is_away_is_a_503_not_a_500() -> None:
    resp = _client().get("/public", headers={"authorization": f"Bearer {DOWN}"})
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "unavailable"


def test_a_socket_is_authenticated_by_its_handshake_header_or_its_first_frame() -> None:
    client = _client()
    with client.websocket_connect("/ws", headers={"authorization": f"Bearer {GOOD}"}) as ws:
        assert ws.receive_json() == {"name": "ann"}
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"token": GOOD})
        assert ws.receive_json() == {"name": "ann"}
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"token": "forged"})
        assert ws.receive_json() == {"name": None}
