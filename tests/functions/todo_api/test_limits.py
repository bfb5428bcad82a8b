"""Bounded cost per request at todo-api's edge: sign-in and registration throttling
(429 + Retry-After in the error envelope), at most 3 sort keys, bodies by size."""

from __future__ import annotations

from typing import Any

from prometheus_client import generate_latest
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets

PASSWORD = "a long passphrase"


def _app(**settings: Any) -> Any:
    dapr = FakeDapr(secret_values=token_secrets())
    return create_app(Settings(argon2_memory_kib=8 * 1024, argon2_time_cost=1, **settings), dapr)


def _client(app: Any, address: str = "10.0.0.1") -> TestClient:
    return TestClient(app, base_url="http://t/api/v1/", client=(address, 50000))


def _login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("auth/token", json={"username": username, "password": password})


def _assert_throttled(resp: Any) -> None:
    assert resp.status_code == 429, resp.text
    error = resp.json()["error"]
    assert error["code"] == "too_many_requests"
    wait = int(resp.headers["retry-after"])
    assert wait >= 1
    assert error["details"] == {"retry_after": wait}


def test_a_username_is_throttled_after_its_free_attempts() -> None:
    app = _app(login_free_per_user=3, login_free_per_address=100)
    client = _client(app)
    assert client.post("auth/register", json={"username": "ann", "password": PASSWORD}).is_success
    for i in range(3):
        # From different addresses: the username's count is what stops them.
        assert _login(_client(app, f"10.9.0.{i}"), "ann", "guess").status_code == 401
    _assert_throttled(_login(_client(app, "10.9.1.1"), "ann", "guess"))
    _assert_throttled(_login(client, "ANN"))  # even the right password waits
    assert _login(client, "bob-unrelated", "guess").status_code == 401


def test_an_address_is_throttled_across_usernames() -> None:
    app = _app(login_free_per_address=4)
    client = _client(app, "10.8.0.1")
    for i in range(4):
        assert _login(client, f"nobody{i}", "guess").status_code == 401
    _assert_throttled(_login(client, "nobody-else", "guess"))
    assert _login(_client(app, "10.8.0.2"), "nobody-else", "guess").status_code == 401
    counted = 'taskwave_refused_requests_total{function="todo-api",reason="login_throttled"}'
    assert counted in generate_latest().decode()


def test_registration_is_throttled_per_address() -> None:
    app = _app(register_burst=2, register_per_minute=1)
    client = _client(app, "10.7.0.1")
    for name in ("reg1", "reg2"):
        assert client.post(
            "auth/register", json={"username": name, "password": PASSWORD}
        ).is_success
    _assert_throttled(client.post("auth/register", json={"username": "reg3", "password": PASSWORD}))
    other = _client(app, "10.7.0.2")
    assert other.post("auth/register", json={"username": "reg3", "password": PASSWORD}).is_success


def test_at_most_three_sort_keys() -> None:
    client = _client(_app())
    client.post("auth/register", json={"username": "sam", "password": PASSWORD})
    token = _login(client, "sam").json()["access_token"]
    client.headers["authorization"] = f"Bearer {token}"
    assert client.get("tasks", params={"sort": "-due_at,title,priority"}).status_code == 200
    for sort in ("due_at,title,priority,created_at", ",".join(["title"] * 1000)):
        resp = client.get("tasks", params={"sort": sort})
        assert resp.status_code == 422
        assert [d["field"] for d in resp.json()["error"]["details"]] == ["sort"]


def test_bodies_over_the_limit_are_refused() -> None:
    client = _client(_app())
    big = {"username": "x" * (64 * 1024), "password": PASSWORD}
    resp = client.post("auth/register", json=big)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


def test_internal_routes_need_the_sidecar() -> None:
    client = TestClient(_app())
    assert client.put("/internal/v1/tasks/x", json={}).status_code == 401
    assert client.get("/internal/v1/lists/x").status_code == 401
