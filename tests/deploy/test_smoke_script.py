"""scripts/smoke.py's hygiene against a stand-in API on loopback: with the environment's
dedicated account it signs in (registering only on first use) instead of creating a
user per deploy, and it deletes the task it created even when a later check fails."""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest

from tests.scripts import load_script


class FakeApi:
    """Accounts and tasks, and every request seen."""

    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}
        self.tasks: set[str] = set()
        self.calls: list[str] = []


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any = None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            data: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            return data

        def do_POST(self) -> None:
            api.calls.append(f"POST {self.path}")
            body = self._body()
            if self.path == "/api/v1/auth/register":
                if body["username"] in api.accounts:
                    return self._reply(409, {"error": {"code": "taken"}})
                api.accounts[body["username"]] = body["password"]
                return self._reply(201, {"username": body["username"]})
            if self.path == "/api/v1/auth/token":
                if api.accounts.get(body["username"]) != body["password"]:
                    return self._reply(401, {"error": {"code": "unauthorized"}})
                return self._reply(200, {"access_token": "t", "token_type": "bearer"})
            if self.path == "/api/v1/tasks":
                api.tasks.add("task-1")
                return self._reply(201, {"id": "task-1"})
            return self._reply(404)

        def do_DELETE(self) -> None:
            api.calls.append(f"DELETE {self.path}")
            task_id = self.path.rsplit("/", 1)[-1]
            if task_id in api.tasks:
                api.tasks.discard(task_id)
                return self._reply(204)
            return self._reply(404)

    return Handler


@pytest.fixture
def api() -> Iterator[tuple[FakeApi, str]]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _args(base: str, username: str | None, password: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        base_url=base,
        ws_url=None,
        ws_timeout=1.0,
        audit_timeout=1.0,
        username=username,
        password=password,
    )


def _failing_check(smoke: ModuleType) -> Any:
    async def check(args: Any, base: str, token: str, created: list[str]) -> None:
        status, task = smoke.call(base, "POST", "/tasks", {"title": "smoke test"}, token)
        created.append(task["id"])
        raise smoke.SmokeError("the WebSocket never saw it")

    return check


def test_the_dedicated_account_is_registered_once_then_reused(api: tuple[FakeApi, str]) -> None:
    fake, base = api
    smoke = load_script("smoke")
    assert smoke.sign_in(base, "smoke-staging", "pw")[0] == "smoke-staging"
    assert smoke.sign_in(base, "smoke-staging", "pw")[0] == "smoke-staging"
    assert list(fake.accounts) == ["smoke-staging"]
    assert fake.calls.count("POST /api/v1/auth/register") == 1


def test_without_an_account_a_throw_away_user_is_made(api: tuple[FakeApi, str]) -> None:
    fake, base = api
    user, _ = load_script("smoke").sign_in(base, None, None)
    assert user.startswith("smoke-")
    assert list(fake.accounts) == [user]


def test_the_task_is_deleted_even_when_a_check_fails(
    api: tuple[FakeApi, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, base = api
    smoke = load_script("smoke")
    monkeypatch.setattr(smoke, "check", _failing_check(smoke))
    with pytest.raises(smoke.SmokeError):
        asyncio.run(smoke.run(_args(base, "smoke-production", "pw")))
    assert fake.tasks == set()
    assert "DELETE /api/v1/tasks/task-1" in fake.calls
    assert list(fake.accounts) == ["smoke-production"]


def test_the_account_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    smoke = load_script("smoke")
    monkeypatch.setenv("SMOKE_USERNAME", "smoke-staging")
    monkeypatch.setenv("SMOKE_PASSWORD", "pw")
    seen: dict[str, Any] = {}

    async def fake_run(args: argparse.Namespace) -> None:
        seen.update(vars(args))

    monkeypatch.setattr(smoke, "run", fake_run)
    monkeypatch.setattr("sys.argv", ["smoke.py", "--base-url", "http://127.0.0.1:9"])
    assert smoke.main() == 0
    assert seen["username"] == "smoke-staging"
    assert seen["password"] == "pw"
