"""realtime on the real stack: a change reaches the user's sockets, resume is exact."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from shared.topics import Topic, dead_letter
from stack.services import Stack
from tests.integration.api import User, feed, poll, sidecar_state

pytestmark = pytest.mark.integration


def _feed(stack: Stack, user: User, after: int | None = None) -> Any:
    return feed(stack.config.url("realtime"), user, after)


async def _next_event(
    ws: ClientConnection,
    timeout: float = 15,  # noqa: ASYNC109 - a deadline across the pings it reads past
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message["type"] != "ping":
            return dict(message)


async def _until_quiet(ws: ClientConnection, quiet_s: float) -> list[dict[str, Any]]:
    """Every message but pings until none comes for `quiet_s`."""
    heard: list[dict[str, Any]] = []
    while True:
        try:
            heard.append(await _next_event(ws, timeout=quiet_s))
        except TimeoutError:
            return heard


async def test_changes_reach_every_device_and_resume_is_exact(stack: Stack) -> None:
    base = stack.config.url("todo-api")
    ann, bob = User(base), User(base)
    async with (
        _feed(stack, ann) as phone,
        _feed(stack, ann) as laptop,
        _feed(stack, bob) as bobs,
    ):
        for ws in (phone, laptop, bobs):
            assert (await _next_event(ws))["type"] == "hello"
        task = await asyncio.to_thread(ann.create, title="sync me")
        for ws in (phone, laptop):
            got = await _next_event(ws)
            while got["type"] == "event" and got["event"]["type"] == "list.created":
                got = await _next_event(ws)  # ann's Inbox, when its relay ran late
            assert got["type"] == "event"
            assert got["event"]["task_id"] == task["id"]
            assert got["event"]["type"] == "task.created"
        last_seq = got["seq"]

    # Cut: 20 changes while no socket is open.
    for i in range(20):
        await asyncio.to_thread(ann.http.patch, f"/tasks/{task['id']}", json={"title": f"v{i}"})
    async with _feed(stack, ann, after=last_seq) as ws:
        hello = await _next_event(ws)
        assert hello["type"] == "hello"
        missed = [await _next_event(ws) for _ in range(20)]
        assert [m["event"]["task"]["title"] for m in missed] == [f"v{i}" for i in range(20)]
        seqs = [m["seq"] for m in missed]
        assert seqs == sorted(seqs)
        assert seqs[0] > last_seq
        with pytest.raises(TimeoutError):
            await _next_event(ws, timeout=2)  # exactly those 20, nothing more

    # bob never heard about any of it: his stream holds at most his own list's creation
    # (or a resync, when this replica cannot tell what came before).
    async with _feed(stack, bob, after=-1) as ws:
        assert (await _next_event(ws))["type"] == "hello"
        heard = await _until_quiet(ws, 3)
        events = [m["event"] for m in heard if m["type"] == "event"]
        assert {(e["type"], e["user_id"]) for e in events} <= {("list.created", bob.id)}
        assert {m["type"] for m in heard} <= {"event", "resync"}


async def test_a_bad_token_is_refused_with_a_close_code(stack: Stack) -> None:
    url = stack.config.url("realtime").replace("http://", "ws://") + "/ws"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "forged"}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_live_changes_arrive_in_order_and_poison_is_dead_lettered_by_realtime(
    stack: Stack, topic_reader: Any
) -> None:
    """task-updates comes in bulk: a burst reaches the socket once each, in the order
    written; a message realtime cannot read goes to task-updates-dlq (realtime sends it
    there itself, through its own pub/sub component) and the user's stream moves on."""
    dlq = topic_reader(dead_letter(Topic.TASK_UPDATES))
    ann = User(stack.config.url("todo-api"))
    task = await asyncio.to_thread(ann.create, title="burst")
    poison_id = str(uuid.uuid4())
    async with _feed(stack, ann) as ws:
        assert (await _next_event(ws))["type"] == "hello"
        async with httpx.AsyncClient() as client:
            resp = await client.post(  # in ann's partition, ahead of her changes
                f"{stack.config.dapr_url('todo-api')}/v1.0/publish/pubsub/task-updates",
                params={"metadata.cloudevent.id": poison_id, "metadata.partitionKey": ann.id},
                json={"type": "task.updated", "title": "not our schema"},
                timeout=10,
            )
        assert resp.status_code == 204
        titles = [f"v{i}" for i in range(15)]
        for title in titles:
            await asyncio.to_thread(ann.http.patch, f"/tasks/{task['id']}", json={"title": title})
        heard = [m for m in await _until_quiet(ws, 3) if m["type"] == "event"]
        updates = [m for m in heard if m["event"]["type"] == "task.updated"]
        assert [m["event"]["task"]["title"] for m in updates] == titles
        seqs = [m["seq"] for m in heard]
        assert seqs == sorted(set(seqs))
    dead = await asyncio.to_thread(dlq.wait_for, lambda v: v.get("id") == poison_id)
    assert dead, "the poison message never reached task-updates-dlq"
    kept = await asyncio.to_thread(
        poll,
        lambda: sidecar_state(stack.config.dapr_url("audit"), "kv", f"deadletter|{poison_id}"),
        30,
        0.2,
    )
    assert kept is not None
    assert kept["topic"] == Topic.TASK_UPDATES.value
