"""The WebSocket protocol over the in-memory Dapr fake (no network)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from functions.realtime.app import create_app
from functions.realtime.settings import Settings
from shared.dapr import InvokeResponse
from shared.dapr.fake import FakeDapr, FakeSecrets
from shared.events import TaskSnapshot, TaskUpdated
from shared.tokens import Tokens
from tests.keys import token_secrets
from tests.sidecar import FROM_SIDECAR, bulk_delivery, cloudevent

KEY = token_secrets()
# realtime is given the public keys only: it verifies, it cannot sign.
PUBLIC = {"jwt-public": KEY["jwt-public"]}
NOW = datetime(2026, 5, 1, tzinfo=UTC)


class Who:
    def __init__(self, user_id: str) -> None:
        self.id = user_id
        self.username = user_id


def token(user_id: str) -> str:
    tokens = Tokens(FakeSecrets(KEY), public="jwt-public", signing="jwt", ttl=timedelta(hours=1))
    return asyncio.run(tokens.issue(Who(user_id), datetime.now(UTC)))


def update(user_id: str, title: str = "t", recipient: str | None = None) -> dict[str, Any]:
    """The CloudEvent of a task-updates message. `recipient`: whose feed this copy of a
    shared list's change is (user_id acted)."""
    task = TaskSnapshot(id="t1", list_id="l1", title=title, created_at=NOW, updated_at=NOW)
    event = TaskUpdated(
        user_id=user_id,
        list_id="l1",
        task_id="t1",
        task=task,
        changed=["title"],
        recipient=recipient,
    )
    return cloudevent(event, "task-updates", str(event.event_id))


def deliver_batch(
    client: TestClient, *updates: dict[str, Any], offsets: list[int], partition: int = 2
) -> list[str]:
    """One bulk delivery, as daprd sends a partition's batch (raw payloads, as
    dapr/subscriptions/realtime.yaml asks); the entries' statuses, in entry order (Dapr
    matches them by entryId)."""
    body = bulk_delivery(
        *updates, topic="task-updates", offsets=offsets, partition=partition, raw=True
    )
    resp = client.post("/events/task-updates", json=body)
    assert resp.status_code == 200
    statuses = {s["entryId"]: s["status"] for s in resp.json()["statuses"]}
    assert sorted(statuses) == sorted(e["entryId"] for e in body["entries"])
    return [statuses[e["entryId"]] for e in body["entries"]]


def deliver(
    client: TestClient, user_id: str, offset: int, title: str = "t", recipient: str | None = None
) -> None:
    assert deliver_batch(client, update(user_id, title, recipient), offsets=[offset]) == ["SUCCESS"]


@contextmanager
def _open(client: TestClient, user_id: str, after: int | None = None) -> Iterator[Any]:
    """A socket that authenticates in its first frame, as the web UI does."""
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": token(user_id), "after": after})
        yield ws


def _client() -> TestClient:
    return TestClient(
        create_app(Settings(heartbeat_s=5), FakeDapr(secret_values=PUBLIC)), headers=FROM_SIDECAR
    )


def test_live_events_reach_all_devices_of_the_user_only() -> None:
    client = _client()
    with (
        _open(client, "u1") as a,
        client.websocket_connect("/ws") as b,
        _open(client, "u2") as other,
    ):
        b.send_json({"type": "auth", "token": token("u1")})
        for ws in (a, b, other):
            assert ws.receive_json()["type"] == "hello"
        deliver(client, "u1", 41, "hello")
        for ws in (a, b):
            got = ws.receive_json()
            assert (got["type"], got["seq"], got["event"]["task"]["title"]) == (
                "event",
                41,
                "hello",
            )
        deliver(client, "u2", 42)
        assert other.receive_json()["seq"] == 42


def test_a_members_copy_reaches_that_member_not_the_actor() -> None:
    client = _client()
    with (
        _open(client, "u1") as actor,
        _open(client, "u2") as member,
    ):
        for ws in (actor, member):
            assert ws.receive_json()["type"] == "hello"
        deliver(client, "u1", 42, "shared", recipient="u2")  # u1's change, in u2's feed
        got = member.receive_json()
        assert (got["seq"], got["event"]["user_id"], got["event"]["recipient"]) == (42, "u1", "u2")
        deliver(client, "u1", 43, recipient="u1")  # the actor's own copy
        assert actor.receive_json()["seq"] == 43  # 42 never reached the actor
    # Retained in u2's stream, the actor's copy not: what a resume replays.
    with _open(client, "u2", after=41) as ws:
        assert ws.receive_json()["seq"] == 42  # hello: the latest of u2's stream
        assert ws.receive_json()["seq"] == 42  # the copy, replayed


def test_resume_after_a_cut_sends_exactly_the_missed_events() -> None:
    client = _client()
    with _open(client, "u1") as ws:
        ws.receive_json()
        deliver(client, "u1", 10)
        assert ws.receive_json()["seq"] == 10
    for offset in range(11, 31):
        deliver(client, "u1", offset)
    with _open(client, "u1", after=10) as ws:
        hello = ws.receive_json()
        assert hello["seq"] == 30
        assert [ws.receive_json()["seq"] for _ in range(20)] == list(range(11, 31))
        deliver(client, "u1", 31)
        assert ws.receive_json()["seq"] == 31


def test_resume_from_unknown_history_asks_for_a_resync() -> None:
    client = _client()
    deliver(client, "u1", 500)
    with _open(client, "u1", after=3) as ws:
        ws.receive_json()
        assert ws.receive_json() == {"type": "resync", "reason": "history not available"}


@pytest.mark.parametrize("first", [{"type": "auth", "token": "forged"}, {"type": "hi"}])
def test_a_bad_token_gets_a_close_code(first: dict[str, Any]) -> None:
    client = _client()
    with client.websocket_connect("/ws") as ws:
        ws.send_json(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_a_token_of_an_unpublished_key_gets_a_close_code() -> None:
    """A key realtime was never given (someone's own, or todo-api's before it was
    published) signs nothing it accepts."""
    stranger = token_secrets("test-1")  # the same kid, another key
    tokens = Tokens(
        FakeSecrets(stranger), public="jwt-public", signing="jwt", ttl=timedelta(hours=1)
    )
    forged = asyncio.run(tokens.issue(Who("u1"), datetime.now(UTC)))
    with _client().websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": forged})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_a_handshake_header_authenticates_and_the_first_frame_still_resumes() -> None:
    """A client that can set headers (not a browser) may authenticate the handshake;
    the edge's backend checks it, and the first frame only says where to resume."""
    client = _client()
    deliver(client, "u1", 7)
    headers = {"authorization": f"Bearer {token('u1')}"}
    with client.websocket_connect("/ws", headers=headers) as ws:
        ws.send_json({"type": "auth", "after": 6})
        assert ws.receive_json() == {"type": "hello", "user_id": "u1", "seq": 7}
        assert ws.receive_json()["seq"] == 7
    with client.websocket_connect("/ws", headers={"authorization": "Bearer forged"}) as ws:
        ws.send_json({"type": "auth"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_a_token_in_the_url_is_not_taken() -> None:
    """Proxies and access logs keep URLs: the token goes in the first frame only."""
    client = TestClient(
        create_app(Settings(auth_timeout_s=0.3), FakeDapr(secret_values=PUBLIC)),
        headers=FROM_SIDECAR,
    )
    with (
        client.websocket_connect(f"/ws?token={token('u1')}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 4408  # still waiting for the auth frame


def _read_until_closed(ws: WebSocketTestSession) -> None:
    """Every message the server sends, until it closes the socket (WebSocketDisconnect)."""
    while True:
        ws.receive_json()


def _checked(valid: list[bool], **settings: Any) -> TestClient:
    """realtime with a todo-api that answers the session check from `valid`."""
    dapr = FakeDapr(secret_values=PUBLIC)

    async def todo_api(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        assert path == "internal/v1/sessions/check"
        assert body["token"]
        return InvokeResponse(200, {"valid": valid[0]}, {})

    dapr.invoker.apps["todo-api"] = todo_api
    return TestClient(create_app(Settings(**settings), dapr), headers=FROM_SIDECAR)


def test_a_signed_out_token_is_refused_and_its_open_socket_closes() -> None:
    valid = [False]
    client = _checked(valid, token_recheck_s=0.2, heartbeat_s=5)
    with _open(client, "u1") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 4401
    valid[0] = True
    with _open(client, "u1") as ws:
        assert ws.receive_json()["type"] == "hello"
        valid[0] = False  # signed out meanwhile: closed at the next check
        started = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            _read_until_closed(ws)
        assert closed.value.code == 4401
        assert time.monotonic() - started < 3


def test_an_open_socket_closes_when_its_token_expires() -> None:
    client = _checked([True], heartbeat_s=5)
    tokens = Tokens(FakeSecrets(KEY), public="jwt-public", signing="jwt", ttl=timedelta(seconds=1))
    short = asyncio.run(tokens.issue(Who("u1"), datetime.now(UTC)))
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": short})
        assert ws.receive_json()["type"] == "hello"
        with pytest.raises(WebSocketDisconnect) as closed:
            _read_until_closed(ws)
    assert closed.value.code == 4401


def _limited(**limits: Any) -> TestClient:
    settings = Settings(heartbeat_s=5, **limits)
    return TestClient(create_app(settings, FakeDapr(secret_values=PUBLIC)), headers=FROM_SIDECAR)


@pytest.mark.parametrize("kind", ["text", "bytes"])
def test_a_first_message_over_the_limit_closes_the_socket(kind: str) -> None:
    client = _limited()
    with client.websocket_connect("/ws") as ws:
        if kind == "text":
            ws.send_text('{"type": "auth", "token": "' + "x" * 5000 + '"}')
        else:
            ws.send_bytes(b"x" * 5000)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009


def test_a_message_over_the_limit_after_auth_closes_the_socket() -> None:
    client = _limited()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": token("u1"), "pad": "x" * 3000})  # under 4 KiB
        assert ws.receive_json()["type"] == "hello"
        ws.send_text("y" * 4097)
        with pytest.raises(WebSocketDisconnect) as closed:
            _read_until_closed(ws)
    assert closed.value.code == 1009


def test_sockets_per_user_are_capped() -> None:
    client = _limited(max_sockets_per_user=2)
    with _open(client, "u1") as a, _open(client, "u1") as b:
        for ws in (a, b):
            assert ws.receive_json()["type"] == "hello"
        with _open(client, "u1") as third, pytest.raises(WebSocketDisconnect) as closed:
            third.receive_json()
        assert closed.value.code == 4429
        with _open(client, "u2") as other:
            assert other.receive_json()["type"] == "hello"  # another user is not affected
    with _open(client, "u1") as again:  # closing frees the places
        assert again.receive_json()["type"] == "hello"


def test_sockets_per_address_are_capped_before_the_handshake() -> None:
    client = _limited(max_sockets_per_address=2)
    with client.websocket_connect("/ws"), client.websocket_connect("/ws"):
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
            pass
        assert refused.value.code == 4429
    with _open(client, "u1") as ws:  # released on close
        assert ws.receive_json()["type"] == "hello"
