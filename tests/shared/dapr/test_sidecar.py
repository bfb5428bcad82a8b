"""What the sidecar client sends to daprd, checked on the wire: a real HTTP server on
loopback (aiohttp's test server) stands in for daprd and records each request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.dapr.errors import DaprError, EtagMismatch, Refused
from shared.dapr.interfaces import StateOp
from shared.dapr.sidecar import DaprSidecar, _encode

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Daprd:
    """Records requests; answers what `reply` says (default 204)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []
        self.reply: tuple[int, Any] = (204, None)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(
            (request.method, request.path_qs, dict(request.headers), json.loads(body or "null"))
        )
        status, payload = self.reply
        return web.Response(status=status, body=json.dumps(payload) if payload else None)


@pytest.fixture
async def daprd() -> AsyncIterator[tuple[Daprd, DaprSidecar]]:
    fake = Daprd()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    sidecar = DaprSidecar(http_port=server.port, pubsub="pubsub", secret_store="s", api_token="tok")
    yield fake, sidecar
    await sidecar.aclose()
    await server.close()


async def test_bulk_entries_carry_their_own_key_and_traceparent(
    daprd: tuple[Daprd, DaprSidecar],
) -> None:
    fake, sidecar = daprd
    await sidecar.publisher.publish_many(
        "task-events", [({"a": 1}, "u1"), ({"a": 2}, "u2")], traceparents=[TP, ""]
    )
    ((method, path, headers, entries),) = fake.seen
    assert (method, path) == ("POST", "/v1.0-alpha1/publish/bulk/pubsub/task-events")
    assert headers["dapr-api-token"] == "tok"
    # Dapr's per-entry override of the CloudEvent's traceparent; none for "" (Dapr then
    # gives the entry a child of this request's span).
    assert entries[0]["metadata"] == {"partitionKey": "u1", "cloudevent.traceparent": TP}
    assert entries[1]["metadata"] == {"partitionKey": "u2"}
    assert [e["event"] for e in entries] == [{"a": 1}, {"a": 2}]


async def test_traceparents_must_match_the_messages(daprd: tuple[Daprd, DaprSidecar]) -> None:
    _, sidecar = daprd
    with pytest.raises(ValueError, match="1 traceparents for 2 messages"):
        await sidecar.publisher.publish_many("t", [({}, None), ({}, None)], traceparents=[TP])


async def test_a_transaction_with_conditions_and_keys_escaped(
    daprd: tuple[Daprd, DaprSidecar],
) -> None:
    fake, sidecar = daprd
    await sidecar.state("tasks").transact(
        [StateOp.insert("task|1", {"t": 1}), StateOp.upsert("x", 2, "7"), StateOp.delete("y")]
    )
    ((method, path, _, body),) = fake.seen
    assert (method, path) == ("POST", "/v1.0/state/tasks/transaction")
    insert, upsert, delete = body["operations"]
    assert insert["request"]["options"]["concurrency"] == "first-write"
    assert upsert["request"] == {
        "key": "x",
        "value": 2,
        "etag": "7",
        "options": {"concurrency": "first-write", "consistency": "strong"},
    }
    assert delete == {"operation": "delete", "request": {"key": "y"}}
    await sidecar.state("tasks").get("task|1")
    assert fake.seen[-1][1] == "/v1.0/state/tasks/task%7C1?consistency=strong"


async def test_a_body_is_json_whatever_text_it_holds(daprd: tuple[Daprd, DaprSidecar]) -> None:
    """Encoded by pydantic-core (fast, UTF-8); a lone surrogate, which it cannot write as
    UTF-8, still goes as json.dumps escapes it, so daprd and the store answer as before."""
    fake, sidecar = daprd
    good, bad = {"title": "café ☕", "n": [1, 2.5, None, True]}, {"title": "bad \ud800 text"}
    assert _encode(good) == json.dumps(good, ensure_ascii=False, separators=(",", ":")).encode()
    assert _encode(bad) == json.dumps(bad).encode()
    await sidecar.state("kv").transact([StateOp.upsert("k1", good)])
    await sidecar.state("kv").save("k2", bad)
    (_, _, headers, tx), (_, _, _, saved) = fake.seen
    assert headers["Content-Type"] == "application/json"
    assert tx["operations"] == [{"operation": "upsert", "request": {"key": "k1", "value": good}}]
    assert saved == [{"key": "k2", "value": bad}]


async def test_a_lost_race_is_an_etag_mismatch(daprd: tuple[Daprd, DaprSidecar]) -> None:
    fake, sidecar = daprd
    fake.reply = (409, {"errorCode": "ERR_STATE_TRANSACTION", "message": "etag mismatch"})
    with pytest.raises(EtagMismatch):
        await sidecar.state("tasks").transact([StateOp.upsert("x", 1, "3")])
    fake.reply = (500, {"errorCode": "ERR_STATE_SAVE", "message": "no item was updated"})
    assert await sidecar.state("kv").insert("k", 1) is False  # PostgreSQL's "exists"


async def test_a_data_exception_is_a_refusal_and_an_outage_is_not(
    daprd: tuple[Daprd, DaprSidecar],
) -> None:
    """Both are a 500 from daprd (as measured on the real stack); the store's SQLSTATE
    tells the data it refuses (class 22) from a store that is away."""
    fake, sidecar = daprd
    refusal = "error while executing state transaction: ERROR: unsupported Unicode escape "
    fake.reply = (
        500,
        {"errorCode": "ERR_STATE_TRANSACTION", "message": refusal + "sequence (SQLSTATE 22P05)"},
    )
    with pytest.raises(Refused) as refused:
        await sidecar.state("kv").transact([StateOp.insert("k", "a")])
    assert refused.value.status == 500
    outage = "error while executing state transaction: failed to connect: connection refused"
    for reply in ((500, {"errorCode": "ERR_STATE_TRANSACTION", "message": outage}), (503, None)):
        fake.reply = reply
        with pytest.raises(DaprError) as away:
            await sidecar.state("kv").save("k", "a")
        assert not isinstance(away.value, Refused)


async def test_the_sidecar_is_ready_only_when_its_healthz_says_so(
    daprd: tuple[Daprd, DaprSidecar],
) -> None:
    fake, sidecar = daprd
    assert await sidecar.ready()
    fake.reply = (500, {"message": "components not ready"})
    assert not await sidecar.ready()
