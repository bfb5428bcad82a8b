"""The edge every function shares: the app token on non-public routes, the body limit,
metrics on their own port, and no start without the token."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from shared.dapr.fake import FakeDapr
from shared.settings import FunctionSettings
from shared.web.app import create_function_app
from shared.web.edge import StartupRefused, is_public, require_app_token
from shared.web.metrics import REQUESTS, start_metrics_server
from shared.web.serve import serve

TOKEN = "a-token-only-the-sidecar-knows"
LIMIT = 2048


def _app(token: str | None = TOKEN) -> tuple[TestClient, list[int]]:
    read: list[int] = []

    async def echo(request: Request) -> Response:
        body = await request.body()
        read.append(len(body))
        return JSONResponse({"read": len(body)})

    async def socket_route(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hi")
        await ws.close()

    settings = FunctionSettings(
        app_api_token=SecretStr(token) if token is not None else None, max_body_bytes=LIMIT
    )
    app = create_function_app(
        name="edge-test",
        settings=settings,
        dapr=FakeDapr(),
        routes=[
            Route("/events/topic", echo, methods=["POST"]),
            Route("/internal/v1/thing", echo, methods=["GET", "POST"]),
            Route("/api/v1/open", echo, methods=["POST"]),
            Route("/api/v1x", echo, methods=["POST"]),
            WebSocketRoute("/ws", socket_route),
            WebSocketRoute("/ws-internal", socket_route),
        ],
        public=("/api/v1/", "/ws"),
    )
    return TestClient(app), read


@pytest.mark.parametrize("token", [None, "", "short-token"])
def test_a_function_without_a_usable_token_refuses_to_start(token: str | None) -> None:
    with pytest.raises(StartupRefused, match="APP_API_TOKEN"):
        _app(token)
    with pytest.raises(StartupRefused):
        require_app_token(SecretStr(token) if token is not None else None)


def test_serve_refuses_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise StartupRefused("APP_API_TOKEN is not set")

    with pytest.raises(SystemExit) as exited:
        serve(refuse, FunctionSettings(app_id="audit"))  # type: ignore[arg-type]
    message = str(exited.value.code)
    assert message == "audit refuses to start: APP_API_TOKEN is not set"
    assert "\n" not in message


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/events/topic"), ("GET", "/internal/v1/thing"), ("POST", "/api/v1x")],
)
@pytest.mark.parametrize("sent", [None, "", "wrong", TOKEN[:-1], TOKEN + "x"])
def test_non_public_routes_need_the_app_token(method: str, path: str, sent: str | None) -> None:
    client, read = _app()
    headers = {} if sent is None else {"dapr-api-token": sent}
    resp = client.request(method, path, headers=headers, content=b"{}")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"
    assert read == []  # the handler never ran
    ok = client.request(method, path, headers={"dapr-api-token": TOKEN}, content=b"{}")
    assert ok.status_code == 200
    assert read == [2]


def test_public_routes_and_probes_need_no_token() -> None:
    client, _ = _app()
    assert client.post("/api/v1/open", content=b"x").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # Unknown paths are not public either: nothing to learn without the token.
    assert client.get("/nope").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"dapr-api-token": TOKEN}).status_code == 404


def test_is_public_matches_exact_paths_and_slash_prefixes() -> None:
    public = ("/", "/api/v1/", "/ws")
    assert is_public("/", public)
    assert is_public("/api/v1/tasks", public)
    assert is_public("/ws", public)
    for path in ("/api/v1", "/api/v1x", "/ws/x", "/wsx", "/internal/v1/tasks/1", "//"):
        assert not is_public(path, public), path


def test_a_websocket_to_a_non_public_route_needs_the_token() -> None:
    client, _ = _app()
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "hi"
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws-internal"):
        pass
    assert refused.value.code == 1008
    with client.websocket_connect("/ws-internal", headers={"dapr-api-token": TOKEN}) as ws:
        assert ws.receive_text() == "hi"


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    client, read = _app()
    headers = {"dapr-api-token": TOKEN, "content-length": str(LIMIT + 1)}
    resp = client.post("/events/topic", headers=headers, content=b"x" * (LIMIT + 1))
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert read == []
    # Public routes too.
    assert client.post("/api/v1/open", content=b"x" * (LIMIT + 1)).status_code == 413
    assert client.post("/api/v1/open", content=b"x" * LIMIT).json() == {"read": LIMIT}


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    client, read = _app()

    def chunks(n: int) -> Iterator[bytes]:
        for _ in range(n):
            yield b"y" * 512

    resp = client.post("/api/v1/open", content=chunks(LIMIT // 512 + 1))
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert read == []
    assert client.post("/api/v1/open", content=chunks(LIMIT // 512)).json() == {"read": LIMIT}


def test_metrics_are_served_on_their_own_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    REQUESTS.labels("edge-test", "GET", "/x", "200").observe(0.01)
    start_metrics_server("127.0.0.1", port)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'taskwave_http_request_duration_seconds_count{function="edge-test"' in text
